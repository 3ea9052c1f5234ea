"""A local SMTP sink for development and tests (asyncio streams, no dependency).

Speaks enough ESMTP for smtplib and the worker: EHLO/HELO, AUTH PLAIN (anything is
accepted), MAIL, RCPT, DATA, RSET, NOOP, QUIT. Each message is stored as
``<dir>/<UTC time>-<id>.eml`` (the raw message with X-Sink-Envelope-* headers in front);
``/dev/mail`` lists them. ``reject_next`` makes the next N DATA commands fail with 451 and ``refuse`` answers
those recipients with 550, so tests exercise retries and give-ups against a real socket.

    python -m portal.notifications.mailsink [--host 127.0.0.1] [--port 1025] [--dir var/mail]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import threading
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger("portal.mailsink")
MAX_MESSAGE = 32 * 1024 * 1024


@dataclass
class Caught:
    mail_from: str
    rcpt_to: list[str]
    data: bytes
    path: Path | None = None


@dataclass
class MailSink:
    directory: Path | None
    host: str = "127.0.0.1"
    port: int = 1025
    reject_next: int = 0
    refuse: set[str] = field(default_factory=set)  # recipients answered with 550 (permanent failure)
    received: list[Caught] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server: asyncio.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # -- protocol ---------------------------------------------------------------------------

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async def reply(line: str) -> None:
            writer.write(line.encode() + b"\r\n")
            await writer.drain()

        mail_from: str | None = None
        rcpt: list[str] = []
        await reply("220 mailsink ESMTP ready (development only)")
        try:
            while True:
                raw = await reader.readline()
                if not raw:
                    break
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                verb, _, arg = line.partition(" ")
                verb = verb.upper()
                if verb == "EHLO":
                    await reply(
                        "250-mailsink\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250-AUTH PLAIN LOGIN\r\n"
                        f"250 SIZE {MAX_MESSAGE}"
                    )
                elif verb == "HELO":
                    await reply("250 mailsink")
                elif verb == "AUTH":
                    await self._auth(arg, reader, reply)
                elif verb == "MAIL":
                    mail_from, rcpt = _address(arg), []
                    await reply("250 2.1.0 OK")
                elif verb == "RCPT":
                    if mail_from is None:
                        await reply("503 5.5.1 MAIL first")
                        continue
                    address = _address(arg)
                    if address in self.refuse:
                        await reply("550 5.1.1 mailbox unavailable")
                        continue
                    rcpt.append(address)
                    await reply("250 2.1.5 OK")
                elif verb == "DATA":
                    if mail_from is None or not rcpt:
                        await reply("503 5.5.1 MAIL and RCPT first")
                        continue
                    await reply("354 End data with <CR><LF>.<CR><LF>")
                    data = await _read_data(reader)
                    if data is None:
                        await reply("552 5.3.4 message too big")
                    elif self._take_rejection():
                        await reply("451 4.3.0 temporary failure (mailsink reject_next)")
                    else:
                        caught = self._store(mail_from, rcpt, data)
                        name = caught.path.name if caught.path else "memory"
                        await reply(f"250 2.0.0 OK queued as {name}")
                    mail_from, rcpt = None, []
                elif verb == "RSET":
                    mail_from, rcpt = None, []
                    await reply("250 2.0.0 OK")
                elif verb == "NOOP":
                    await reply("250 2.0.0 OK")
                elif verb == "QUIT":
                    await reply("221 2.0.0 Bye")
                    break
                elif verb == "STARTTLS":
                    await reply("454 4.7.0 TLS not available in the development sink")
                else:
                    await reply("502 5.5.2 command not implemented")
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def _auth(
        self, arg: str, reader: asyncio.StreamReader, send: Callable[[str], Awaitable[None]]
    ) -> None:
        mechanism, _, initial = arg.partition(" ")
        if mechanism.upper() == "PLAIN" and not initial:
            await send("334 ")
            await reader.readline()
        elif mechanism.upper() == "LOGIN":
            for prompt in ("334 VXNlcm5hbWU6", "334 UGFzc3dvcmQ6"):  # "Username:", "Password:"
                await send(prompt)
                await reader.readline()
        await send("235 2.7.0 Authentication successful")

    def _take_rejection(self) -> bool:
        with self._lock:
            if self.reject_next > 0:
                self.reject_next -= 1
                return True
            return False

    def _store(self, mail_from: str, rcpt: list[str], data: bytes) -> Caught:
        path = None
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
            path = self.directory / f"{stamp}-{uuid.uuid4().hex[:12]}.eml"
            envelope = (
                f"X-Sink-Envelope-From: {mail_from}\r\nX-Sink-Envelope-To: {', '.join(rcpt)}\r\n"
            ).encode()
            tmp = path.with_suffix(".part")
            tmp.write_bytes(envelope + data)
            os.replace(tmp, path)
        caught = Caught(mail_from, list(rcpt), data, path)
        with self._lock:
            self.received.append(caught)
        return caught

    # -- running ----------------------------------------------------------------------------

    async def start(self) -> None:
        self._server = await asyncio.start_server(self.handle, self.host, self.port, limit=MAX_MESSAGE)
        self.port = self._server.sockets[0].getsockname()[1]

    async def serve_forever(self) -> None:
        await self.start()
        assert self._server is not None
        log.info("mail sink on %s:%s, storing in %s", self.host, self.port, self.directory)
        async with self._server:
            await self._server.serve_forever()

    def start_in_thread(self) -> MailSink:
        """Run in a daemon thread (tests); ``port=0`` picks a free port, read it back after."""
        ready = threading.Event()
        loop = asyncio.new_event_loop()
        self._loop = loop

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.run_until_complete(self.start())
            ready.set()
            loop.run_forever()

        self._thread = threading.Thread(target=run, name="mailsink", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("mail sink did not start")
        return self

    def stop(self) -> None:
        loop, server = self._loop, self._server
        if loop is None:
            return

        async def shutdown() -> None:
            if server is not None:
                server.close()
                await server.wait_closed()
            loop.stop()

        asyncio.run_coroutine_threadsafe(shutdown(), loop)
        if self._thread is not None:
            self._thread.join(timeout=10)
        loop.close()
        self._loop = None


def _address(arg: str) -> str:
    _, _, value = arg.partition(":")
    value = value.strip().split(" ", 1)[0]  # drop ESMTP parameters such as SIZE=, SMTPUTF8
    return value.strip("<>")


async def _read_data(reader: asyncio.StreamReader) -> bytes | None:
    lines: list[bytes] = []
    size = 0
    while True:
        line = await reader.readline()
        if not line:
            raise asyncio.IncompleteReadError(b"", None)
        if line in (b".\r\n", b".\n"):
            break
        if line.startswith(b".."):
            line = line[1:]  # dot-unstuffing (RFC 5321 §4.5.2)
        size += len(line)
        if size <= MAX_MESSAGE:
            lines.append(line)
    return b"".join(lines) if size <= MAX_MESSAGE else None


def main(argv: list[str] | None = None) -> int:
    from portal.config import get_settings

    settings = get_settings()
    if settings.environment == "production":
        print("the mail sink is for development only", flush=True)
        return 2
    parser = argparse.ArgumentParser(prog="mailsink", description="development SMTP sink")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=settings.smtp_port)
    parser.add_argument("--dir", type=Path, default=settings.mail_sink_dir)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    sink = MailSink(args.dir, args.host, args.port)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(sink.serve_forever())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
