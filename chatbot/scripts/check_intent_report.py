#!/usr/bin/env python3
"""Fail (exit 1) when a `rasa test nlu` intent report is below a threshold.

python scripts/check_intent_report.py results/heldout/intent_report.json 0.90 [label]
"""

from __future__ import annotations

import json
import sys


def main(argv: list[str]) -> int:
    path, threshold = argv[1], float(argv[2])
    label = argv[3] if len(argv) > 3 else path
    with open(path, encoding="utf-8") as f:
        report = json.load(f)
    accuracy = float(report.get("accuracy", report.get("weighted avg", {}).get("f1-score", 0.0)))
    weighted = report.get("weighted avg", {}).get("f1-score")
    weak = sorted(
        (name, v["f1-score"])
        for name, v in report.items()
        if isinstance(v, dict)
        and "support" in v
        and name not in ("macro avg", "weighted avg", "micro avg")
        and v["f1-score"] < 0.9
    )
    print(f"{label}: intent accuracy {accuracy:.3f} (weighted F1 {weighted:.3f}), threshold {threshold:.2f}")
    for name, f1 in weak:
        print(f"  weak intent {name}: F1 {f1:.2f}")
    if accuracy < threshold:
        print(f"{label}: FAILED, accuracy {accuracy:.3f} < {threshold:.2f}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
