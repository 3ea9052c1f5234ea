"""Attachment storage on the local filesystem, with content sniffing.

The extension a citizen's file has is not trusted on its own: the first bytes
must match the declared type, so a renamed executable is refused.
"""

from __future__ import annotations

import hashlib
import io
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

_SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "pdf": (b"%PDF-",),
    "jpg": (b"\xff\xd8\xff",),
    "jpeg": (b"\xff\xd8\xff",),
    "png": (b"\x89PNG\r\n\x1a\n",),
    "doc": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",),
    "xls": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",),
    "docx": (b"PK\x03\x04",),
    "xlsx": (b"PK\x03\x04",),
}

CONTENT_TYPES = {
    "pdf": "application/pdf",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "doc": "application/msword",
    "xls": "application/vnd.ms-excel",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def extension(filename: str) -> str:
    return filename.rsplit(".", 1)[-1].lower() if "." in filename else ""


def sniff_ok(ext: str, head: bytes) -> bool:
    return any(head.startswith(sig) for sig in _SIGNATURES.get(ext, ()))


@dataclass(frozen=True)
class Stored:
    key: str
    size: int
    sha256: str


CHUNK = 64 * 1024


class TooLarge(Exception):
    """The file turned out longer than the limit it was saved with; nothing was kept."""


class FileStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def save(self, content: bytes, ext: str) -> Stored:
        return self.save_stream(io.BytesIO(content), ext)

    def save_stream(self, source: BinaryIO, ext: str, *, limit: int | None = None) -> Stored:
        """Copy ``source`` from its start to a new file, hashing each chunk as it is written: one
        pass over the data. More than ``limit`` bytes raises ``TooLarge`` and leaves no file."""
        key = f"{uuid.uuid4().hex[:2]}/{uuid.uuid4().hex}.{ext}"
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".part")
        digest, size = hashlib.sha256(), 0
        source.seek(0)
        try:
            with open(tmp, "wb") as fh:
                while chunk := source.read(CHUNK):
                    size += len(chunk)
                    if limit is not None and size > limit:
                        raise TooLarge()
                    digest.update(chunk)
                    fh.write(chunk)
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return Stored(key=key, size=size, sha256=digest.hexdigest())

    def path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not str(path).startswith(str(self.root.resolve())):
            raise ValueError("storage key escapes the upload directory")
        return path

    def read(self, key: str) -> bytes:
        return self.path(key).read_bytes()
