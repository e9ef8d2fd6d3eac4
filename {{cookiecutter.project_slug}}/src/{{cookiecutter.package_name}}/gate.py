"""The release gate: does the fine-tuned model meet the thresholds in `evaluate.gate`?

    python -m PACKAGE.gate metrics/evaluate.json      # exit 1 with the reasons when it fails

`evaluate` records the verdict in its metrics; this command is what CI calls to decide the check.
The rules are in evals/gating.py. A missing or garbled metrics file is one line and exit 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import reported
from .evals.gating import MetricsError, check_gate, read_metrics, tolerated
from .params import evaluate as params_mod

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Exit non-zero when the golden gate fails.")
    parser.add_argument("metrics", type=Path, nargs="?", default=Path("metrics/evaluate.json"))
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    args = parser.parse_args()
    with reported("gate"):
        gate = params_mod.load(args.params).gate
        metrics = read_metrics(args.metrics)
        try:
            reasons, notes = check_gate(metrics, gate), tolerated(metrics, gate)
        except (KeyError, TypeError, AttributeError) as e:
            raise MetricsError(
                f"{args.metrics}: not the shape evaluate writes ({type(e).__name__}: {e})"
            ) from None
    if reasons:
        sys.exit("gate: FAILED\n" + "\n".join(f"  - {r}" for r in reasons))
    print("gate: passed" + "".join(f"\n  tolerated: {note}" for note in notes))
