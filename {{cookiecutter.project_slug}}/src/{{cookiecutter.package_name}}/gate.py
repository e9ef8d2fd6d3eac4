"""The release gate: does the fine-tuned model meet the thresholds in `evaluate.gate`?

    python -m PACKAGE.gate metrics/evaluate.json      # exit 1 with the reasons when it fails

`evaluate` records the verdict in its metrics; this command is what CI calls to decide the check.
The rules are in evals/gating.py.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import params as params_mod
from .evals.gating import check_gate

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Exit non-zero when the golden gate fails.")
    parser.add_argument("metrics", type=Path, nargs="?", default=Path("metrics/evaluate.json"))
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    args = parser.parse_args()
    reasons = check_gate(json.loads(args.metrics.read_text()), params_mod.load(args.params).evaluate.gate)
    if reasons:
        sys.exit("gate: FAILED\n" + "\n".join(f"  - {r}" for r in reasons))
    print("gate: passed")
