"""The monitoring spec of a release, and the check of production feedback against it.

Release writes `releases/<version>.monitoring.yaml`: which signals to watch in production
(the share of bad user verdicts per bucket, bad verdicts on critical requests), their thresholds
(`release.monitoring`), the fine-tuned model's pass rates at release for comparison, and the
rollback trigger with the command that rolls back to the previous version. `triggered` applies
the spec to per-bucket counts; `check` picks the feedback of that version in the spec's window
and applies it (the feedback command calls it with the rows of `data/feedback/`).
"""

from __future__ import annotations

import datetime
from collections import Counter, defaultdict

from ..params import release as params_mod


def spec(
    model: str, version: str, previous: str | None, evaluate: dict, p: params_mod.MonitoringParams
) -> dict:
    baseline = {
        eval_set: {name: stats["pass_rate"] for name, stats in tuned.get("by_bucket", {}).items()}
        for eval_set, tuned in evaluate["finetuned"].items()
    }
    return {
        "model": model,
        "version": version,
        "window_days": p.window_days,
        "source": "user verdicts in data/feedback/, checked by `make feedback`",
        "signals": {
            "bad_rate_by_bucket": {"max": p.max_bad_rate, "min_verdicts": p.min_verdicts},
            "critical_bad": {"max": p.max_critical_bad},
        },
        "baseline_pass_rates": baseline,
        "rollback": {
            "trigger": "any signal above its maximum within the window",
            "to": previous,
            "command": f"make rollback VERSION={previous} STAGE=prod" if previous else None,
        },
    }


def triggered(monitoring: dict, by_bucket: dict[str, dict], critical_bad: int) -> list[str]:
    """The signals over their thresholds; `by_bucket` maps bucket -> {"verdicts", "bad"}."""
    signals = monitoring["signals"]
    found = []
    limit = signals["bad_rate_by_bucket"]
    for bucket, counts in sorted(by_bucket.items()):
        if counts["verdicts"] < limit["min_verdicts"]:
            continue
        rate = counts["bad"] / counts["verdicts"]
        if rate > limit["max"]:
            found.append(
                f"bucket '{bucket}': {counts['bad']} of {counts['verdicts']} verdicts bad "
                f"({rate:.2f} > {limit['max']:.2f})"
            )
    if critical_bad > signals["critical_bad"]["max"]:
        found.append(f"{critical_bad} bad verdicts on critical requests (> {signals['critical_bad']['max']})")
    return found


def when(text: object) -> datetime.datetime | None:
    """An ISO 8601 time ("2026-11-02T10:15:00Z"), or None when it is not one."""
    try:
        return datetime.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None


def bucket_counts(rows: list[dict]) -> dict[str, Counter]:
    counts: dict[str, Counter] = defaultdict(Counter)
    for r in rows:
        bucket = (r.get("meta") or {}).get("bucket", "_unassigned")
        counts[bucket].update({"verdicts": 1, "bad": int(r["verdict"] == "bad")})
    return counts


def check(monitoring: dict, rows: list[dict]) -> dict:
    """The release's signals over its window: feedback on that version in its last window_days."""
    mine = [r for r in rows if r.get("model_version") in (None, monitoring["version"]) and when(r.get("at"))]
    end = max((when(r["at"]) for r in mine), default=None)
    start = end - datetime.timedelta(days=monitoring["window_days"]) if end else None
    window = [r for r in mine if when(r["at"]) > start] if start else []
    critical = sum(r["verdict"] == "bad" and (r.get("meta") or {}).get("risk") == "critical" for r in window)
    reasons = triggered(monitoring, bucket_counts(window), critical)
    return {
        "version": monitoring["version"],
        "verdicts_in_window": len(window),
        "triggered": reasons,
        "rollback": monitoring["rollback"] if reasons else None,
    }
