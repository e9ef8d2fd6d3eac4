"""The release gate's rules: does the fine-tuned model meet the thresholds in `evaluate.gate`?

Thresholds: a minimum pass rate overall, per risk tier and per bucket, and no bucket worse than
the base model by more than `max_regression_vs_base`, on each eval set in `gate.sets`. Evaluate
records the verdict; the `gate` command re-checks a metrics file for CI.
"""

from __future__ import annotations

from .. import params as params_mod


def check_gate(metrics: dict, g: params_mod.GateParams) -> list[str]:
    """Every reason the gate fails; an empty list means it passes."""
    reasons = []
    for eval_set in g.sets:
        if eval_set not in metrics["finetuned"]:
            reasons.append(f"{eval_set}: no results for this eval set")
            continue
        tuned, base = metrics["finetuned"][eval_set], metrics["base"][eval_set]
        if tuned["n"] == 0:
            reasons.append(f"{eval_set}: no items were evaluated; a gate on nothing passes nothing")
            continue
        for name, present in (("risk tier", tuned["by_risk"]), ("bucket", tuned["by_bucket"])):
            wanted = g.min_pass_rate_by_risk if name == "risk tier" else g.min_pass_rate_by_bucket
            for missing in sorted(set(wanted) - set(present)):
                reasons.append(
                    f"{eval_set}: {name} '{missing}' has a threshold but no items (a typo in meta?)"
                )
        if tuned["pass_rate"] < g.min_pass_rate:
            reasons.append(f"{eval_set}: overall pass rate {tuned['pass_rate']:.2f} < {g.min_pass_rate:.2f}")
        for tier, minimum in g.min_pass_rate_by_risk.items():
            got = tuned["by_risk"].get(tier)
            if got is not None and got["pass_rate"] < minimum:
                reasons.append(
                    f"{eval_set}: risk tier '{tier}' pass rate {got['pass_rate']:.2f} < {minimum:.2f} "
                    f"({got['n'] - got['passed']} of {got['n']} failed)"
                )
        for bucket, got in tuned["by_bucket"].items():
            minimum = g.min_pass_rate_by_bucket.get(bucket)
            if minimum is not None and got["pass_rate"] < minimum:
                reasons.append(
                    f"{eval_set}: bucket '{bucket}' pass rate {got['pass_rate']:.2f} < {minimum:.2f}"
                )
            before = base["by_bucket"].get(bucket, {}).get("pass_rate")
            if before is not None and before - got["pass_rate"] > g.max_regression_vs_base:
                reasons.append(
                    f"{eval_set}: bucket '{bucket}' fell from {before:.2f} (base) to {got['pass_rate']:.2f}, "
                    f"more than max_regression_vs_base={g.max_regression_vs_base:.2f}"
                )
    return reasons
