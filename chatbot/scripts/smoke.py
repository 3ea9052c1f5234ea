#!/usr/bin/env python3
"""Talk to a running assistant (make chatbot-run) and measure it.

    chatbot/.venv/bin/python chatbot/scripts/smoke.py [--parse-runs 100]

Prints each bot reply for a few conversations (through the REST channel,
so the action server and the portal API are exercised for real), the
/model/parse latency percentiles and the RSS of the two processes.
Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VAR = Path(os.environ.get("CHATBOT_VAR_DIR", ROOT / "var" / "chatbot"))
BASE = f"http://127.0.0.1:{os.environ.get('CHATBOT_RASA_PORT', '5005')}"
TOKEN = os.environ.get("CHATBOT_RASA_TOKEN", "")  # Rasa started with CHATBOT_ENABLE_API=1 (run.sh)

CONVERSATIONS = [
    ["cho hoi lam lai bang tot nghiep can giay to gi", "le phi bao nhieu", "nộp online được không"],
    ["chuyển trường mất bao lâu", "nộp ở đâu"],
    ["bằng tốt nghiệp cần gì"],
    ["thủ tục đăng ký khai sinh cần gì"],
    ["tra cứu hồ sơ", "H29.12.10-261128-0001", "0912345678"],
    ["tôi muốn nộp hồ sơ chuyển trường", "có", "Nguyễn Văn An", "0912345678", "/deny", "/affirm"],
    ["giờ làm việc"],
    ["bạn là bot à"],
]


def post(path: str, body: dict) -> object:
    request = urllib.request.Request(
        f"{BASE}{path}?token={TOKEN}",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def rss_mb(name: str) -> str:
    try:
        pid = (VAR / f"{name}.pid").read_text().strip()
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return f"{int(line.split()[1]) / 1024:.0f} MB"
    except OSError:
        pass
    return "n/a"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--parse-runs", type=int, default=100)
    args = parser.parse_args()
    for n, turns in enumerate(CONVERSATIONS):
        sender = f"smoke-{int(time.time())}-{n}"
        print(f"--- conversation {n + 1}")
        for text in turns:
            started = time.perf_counter()
            replies = post(
                "/webhooks/rest/webhook",
                {
                    "sender": sender,
                    "message": text,
                    "metadata": {
                        "user_id": "smoke",
                        "lang": "vi",
                        "portal_base_url": "http://127.0.0.1:8000",
                    },
                },
            )
            took = (time.perf_counter() - started) * 1000
            print(f"> {text}   [{took:.0f} ms]")
            for reply in replies:  # type: ignore[union-attr]
                print("  " + (reply.get("text") or "").replace("\n", "\n  "))
                for button in reply.get("buttons") or []:
                    print(f"    [{button['title']}] {button['payload']}")
    sentences = [t for turns in CONVERSATIONS for t in turns if not t.startswith("/")]
    timings = []
    for i in range(args.parse_runs):
        started = time.perf_counter()
        post("/model/parse", {"text": sentences[i % len(sentences)]})
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    p95 = timings[int(len(timings) * 0.95) - 1]
    print(
        f"/model/parse over {len(timings)} calls: p50 {statistics.median(timings):.1f} ms, p95 {p95:.1f} ms"
    )
    print(f"RSS: rasa {rss_mb('rasa')}, action server {rss_mb('actions')}")


if __name__ == "__main__":
    main()
