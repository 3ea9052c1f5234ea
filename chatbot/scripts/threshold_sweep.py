#!/usr/bin/env python3
"""Tune FallbackClassifier's threshold on the held-out sets, against a running Rasa.

    chatbot/.venv/bin/python chatbot/scripts/threshold_sweep.py tests/nlu_heldout.yml ...

For each threshold: accuracy counting a fallback as wrong, and how many
correct answers the fallback would have thrown away.
"""

from __future__ import annotations

import json
import os
import re
import sys
import urllib.request

import yaml

BASE = f"http://127.0.0.1:{os.environ.get('CHATBOT_RASA_PORT', '5005')}"
TOKEN = os.environ.get("CHATBOT_RASA_TOKEN", "")  # Rasa started with CHATBOT_ENABLE_API=1 (run.sh)


def examples(path: str):
    with open(path, encoding="utf-8") as f:
        data = yaml.safe_load(f)
    for block in data["nlu"]:
        if "intent" not in block:
            continue
        for line in block["examples"].splitlines():
            line = line.strip()[2:].strip()
            if line:
                yield block["intent"], re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", line)


def parse(text: str) -> tuple[str, float]:
    req = urllib.request.Request(
        f"{BASE}/model/parse?token={TOKEN}",
        data=json.dumps({"text": text}).encode(),
        headers={"Content-Type": "application/json"},
    )
    data = json.loads(urllib.request.urlopen(req, timeout=30).read())
    top = next(r for r in data["intent_ranking"] if r["name"] != "nlu_fallback")
    return top["name"], top["confidence"]


def main() -> None:
    rows = [(gold, *parse(text), text) for path in sys.argv[1:] for gold, text in examples(path)]
    print(f"{len(rows)} examples; raw accuracy {sum(g == p for g, p, _, _ in rows) / len(rows):.3f}")
    for threshold in (0.3, 0.4, 0.5, 0.55, 0.6, 0.7, 0.8):
        ok = sum(g == p and c >= threshold for g, p, c, _ in rows)
        lost = sum(g == p and c < threshold for g, p, c, _ in rows)
        caught = sum(g != p and c < threshold for g, p, c, _ in rows)
        print(
            f"threshold {threshold:.2f}: accuracy {ok / len(rows):.3f}, "
            f"correct lost {lost}, errors caught {caught}"
        )
    for g, p, c, t in rows:
        if g != p:
            print(f"  {g} -> {p} {c:.2f} | {t}")


if __name__ == "__main__":
    main()
