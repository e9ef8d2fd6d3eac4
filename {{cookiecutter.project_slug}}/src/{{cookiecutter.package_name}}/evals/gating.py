"""The release gate's rules: does the fine-tuned model meet the thresholds in `evaluate.gate`?

On each eval set in `gate.sets`:
- the set was read whole: a set with rejected (malformed) items fails, and so does an empty one;
- every pass rate the gate reads is a number in [0, 1]: NaN fails (it compares False, so a NaN
  rate would otherwise pass every threshold);
- a minimum pass rate overall, per eval set, per risk tier and per bucket;
- no bucket worse than the better baseline, the base model zero-shot or prompted, by more than
  `max_regression_vs_base` (or the set's own `max_regression_by_set`; what only that looser
  tolerance lets through is listed by `tolerated`, and evaluate and the gate command show it);
- fine-tuning beats prompting: the fine-tuned pass rate exceeds the prompted base model's by more
  than `min_gain_vs_prompted`, on sets that have a prompted baseline.
A threshold for a risk tier or bucket that no gated set has fails too: a typo in meta.
Evaluate records the verdict; the `gate` command re-checks a metrics file for CI.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from ..errors import UserError
from ..params import evaluate as params_mod

BASELINES = {"base": "base", "base_prompted": "prompted base"}


class MetricsError(UserError):
    """The metrics file is missing or is not what evaluate writes."""


def read_metrics(path: Path) -> dict:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MetricsError(f"{path}: no such file; run the evaluate stage first (dvc repro)") from None
    except (OSError, UnicodeDecodeError) as e:
        raise MetricsError(f"{path}: cannot be read ({e})") from None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as e:
        raise MetricsError(f"{path}: not valid JSON ({str(e)[:120]}); re-run the evaluate stage") from None
    if not isinstance(data, dict) or not isinstance(data.get("finetuned"), dict):
        raise MetricsError(f"{path}: no 'finetuned' results; expected the metrics file evaluate writes")
    return data


def _is_rate(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and 0 <= value <= 1
    )


def _bad_rates(summary: object, label: str) -> list[str]:
    """Every pass rate of a summary (overall, per bucket, per risk tier) that is not a rate."""
    if not isinstance(summary, dict):
        return [f"{label}: expected a summary object, got {type(summary).__name__}"]
    entries = [(label, summary)] + [
        (f"{label} {kind} '{name}'", entry)
        for kind in ("bucket", "risk")
        for name, entry in (summary.get(f"by_{kind}") or {}).items()
    ]
    return [
        f"{where}: pass rate {rate!r} is not a number in [0, 1]"
        for where, entry in entries
        if not _is_rate(rate := entry.get("pass_rate") if isinstance(entry, dict) else entry)
    ]


def check_gate(metrics: dict, g: params_mod.GateParams) -> list[str]:
    """Every reason the gate fails; an empty list means it passes."""
    reasons: list[str] = [
        f"min_pass_rate_by_set.{name}: '{name}' is not in gate.sets ({', '.join(g.sets)})"
        for name in sorted(set(g.min_pass_rate_by_set) - set(g.sets))
    ]
    present: dict[str, set] = {"risk tier": set(), "bucket": set()}
    for eval_set in g.sets:
        reasons += _check_set(metrics, eval_set, g, present)
    if present["bucket"]:  # at least one gated set was evaluated
        for name, wanted in (("risk tier", g.min_pass_rate_by_risk), ("bucket", g.min_pass_rate_by_bucket)):
            for missing in sorted(set(wanted) - present[name]):
                sets = ", ".join(g.sets)
                reasons.append(f"{name} '{missing}' has a threshold but no items in {sets} (a typo in meta?)")
    return reasons


def tolerated(metrics: dict, g: params_mod.GateParams) -> list[str]:
    """Falls below the baseline that only a looser `max_regression_by_set` let through: the gate
    passes, and says so, so a tolerance never hides what it tolerates."""
    notes = []
    for eval_set, tolerance in g.max_regression_by_set.items():
        tuned = metrics["finetuned"].get(eval_set)
        if (
            eval_set not in g.sets
            or tolerance <= g.max_regression_vs_base
            or not tuned
            or _bad_rates(tuned, "")
        ):
            continue
        baselines = {b: metrics[b][eval_set] for b in BASELINES if eval_set in (metrics.get(b) or {})}
        notes += [
            f"{what}, more than max_regression_vs_base={g.max_regression_vs_base:.2f}; tolerated by "
            f"max_regression_by_set.{eval_set}={tolerance:.2f}"
            for drop, what in _falls(eval_set, tuned, baselines)
            if g.max_regression_vs_base < drop <= tolerance
        ]
    return notes


def _check_set(metrics: dict, eval_set: str, g: params_mod.GateParams, present: dict[str, set]) -> list[str]:
    reasons = []
    rejected = (metrics.get("rejected") or {}).get(eval_set, 0)
    if rejected:
        reasons.append(
            f"{eval_set}: {rejected} item(s) rejected as malformed, see "
            f"{metrics.get('rejected_file', 'rejected.jsonl')}; fix or remove them (a gate on part of a set "
            "passes nothing)"
        )
    tuned = metrics["finetuned"].get(eval_set)
    if tuned is None:
        return reasons + [
            f"{eval_set}: no results for this eval set; gate.sets names a set evaluate did not run"
        ]
    if isinstance(tuned, dict) and tuned.get("n") == 0:
        source = (metrics.get("inputs") or {}).get(eval_set)
        where = f" from {source}" if source else ""
        return reasons + [f"{eval_set}: no items were evaluated{where}; a gate on nothing passes nothing"]
    baselines = {
        label: metrics[label][eval_set]
        for label in BASELINES
        if isinstance(metrics.get(label), dict) and eval_set in metrics[label]
    }
    bad = _bad_rates(tuned, f"{eval_set}: fine-tuned")
    for label, summary in baselines.items():
        bad += _bad_rates(summary, f"{eval_set}: {BASELINES[label]}")
    if bad:
        return reasons + bad
    present["risk tier"] |= set(tuned["by_risk"])
    present["bucket"] |= set(tuned["by_bucket"])
    return reasons + _thresholds(eval_set, tuned, g) + _baselines(eval_set, tuned, baselines, g)


def _below(value: float, limit: float) -> str:
    """`value` with the digits it takes to read as below `limit`: 0.847, not "0.85 < 0.85"."""
    digits = next((d for d in (2, 3, 4) if round(value, d) < round(limit, d)), 6)
    return f"{value:.{digits}f}"


def _thresholds(eval_set: str, tuned: dict, g: params_mod.GateParams) -> list[str]:
    reasons = []
    rate = tuned["pass_rate"]
    if rate < g.min_pass_rate:
        reasons.append(
            f"{eval_set}: overall pass rate {_below(rate, g.min_pass_rate)} < {g.min_pass_rate:.2f}"
        )
    minimum = g.min_pass_rate_by_set.get(eval_set)
    if minimum is not None and rate < minimum:
        reasons.append(
            f"{eval_set}: overall pass rate {_below(rate, minimum)} < "
            f"min_pass_rate_by_set.{eval_set}={minimum:.2f}"
        )
    for tier, minimum in g.min_pass_rate_by_risk.items():
        got = tuned["by_risk"].get(tier)
        if got is not None and got["pass_rate"] < minimum:
            reasons.append(
                f"{eval_set}: risk tier '{tier}' pass rate {got['pass_rate']:.2f} < {minimum:.2f} "
                f"({got['n'] - got['passed']} of {got['n']} failed)"
            )
    for bucket, minimum in g.min_pass_rate_by_bucket.items():
        got = tuned["by_bucket"].get(bucket)
        if got is not None and got["pass_rate"] < minimum:
            reasons.append(f"{eval_set}: bucket '{bucket}' pass rate {got['pass_rate']:.2f} < {minimum:.2f}")
    return reasons


def _falls(eval_set: str, tuned: dict, baselines: dict[str, dict]) -> list[tuple[float, str]]:
    """(how far each bucket fell below the better baseline, what to say about it)."""
    falls = []
    for bucket, got in tuned["by_bucket"].items():
        before = [
            (summary["by_bucket"][bucket]["pass_rate"], label)
            for label, summary in baselines.items()
            if bucket in (summary.get("by_bucket") or {})
        ]
        if before:
            best, label = max(before)
            falls.append(
                (
                    best - got["pass_rate"],
                    f"{eval_set}: bucket '{bucket}' fell from {best:.2f} ({BASELINES[label]}) "
                    f"to {got['pass_rate']:.2f}",
                )
            )
    return falls


def _baselines(eval_set: str, tuned: dict, baselines: dict[str, dict], g: params_mod.GateParams) -> list[str]:
    tolerance = g.max_regression_by_set.get(eval_set, g.max_regression_vs_base)
    knob = (
        f"max_regression_by_set.{eval_set}"
        if eval_set in g.max_regression_by_set
        else "max_regression_vs_base"
    )
    reasons = [
        f"{what}, more than {knob}={tolerance:.2f}"
        for drop, what in _falls(eval_set, tuned, baselines)
        if drop > tolerance
    ]
    prompted = baselines.get("base_prompted")
    if prompted is not None and g.min_gain_vs_prompted > -1.0:
        gain = tuned["pass_rate"] - prompted["pass_rate"]
        if not gain > g.min_gain_vs_prompted:
            reasons.append(
                f"{eval_set}: fine-tuned {tuned['pass_rate']:.2f} does not beat the prompted base model "
                f"{prompted['pass_rate']:.2f} by more than min_gain_vs_prompted={g.min_gain_vs_prompted:.2f}"
            )
    return reasons
