"""Judging answers and summarising pass rates by bucket and risk tier. Pure functions."""

from __future__ import annotations

import re
from collections import defaultdict

_EDGE_PUNCT = re.compile(r"^[\s\"'`.,;:!?]+|[\s\"'`.,;:!?]+$")


def normalize_answer(text: str) -> str:
    """Case, surrounding quotes/punctuation and runs of whitespace do not change an answer."""
    return " ".join(_EDGE_PUNCT.sub("", text).lower().split())


def passes(prediction: str, reference: str, match: str = "normalized") -> bool:
    if match == "exact":
        return prediction.strip() == reference.strip()
    if match == "normalized":
        return normalize_answer(prediction) == normalize_answer(reference)
    raise ValueError(f"evaluate.match is {match!r}; expected 'exact' or 'normalized'")


def _rate(results: list[dict]) -> dict:
    n = len(results)
    passed = sum(r["passed"] for r in results)
    return {"n": n, "passed": passed, "pass_rate": round(passed / n, 4) if n else 0.0}


def summarize(results: list[dict]) -> dict:
    """Overall, per-bucket and per-risk pass rates: never only the one aggregate."""
    summary = _rate(results)
    for key in ("bucket", "risk"):
        groups: dict[str, list[dict]] = defaultdict(list)
        for r in results:
            groups[r.get(key) or "_none"].append(r)
        summary[f"by_{key}"] = {name: _rate(rs) for name, rs in sorted(groups.items())}
    return summary


def bucket_table(metrics: dict, eval_set: str) -> str:
    """Markdown table: base vs fine-tuned pass rate per bucket on one eval set."""
    base, tuned = metrics["base"][eval_set], metrics["finetuned"][eval_set]
    lines = [
        f"| {eval_set} bucket | n | base | fine-tuned | delta |",
        "|---|---:|---:|---:|---:|",
    ]
    rows = [("**all**", base, tuned)] + [
        (name, base["by_bucket"].get(name, {"pass_rate": 0.0}), tuned["by_bucket"][name])
        for name in tuned["by_bucket"]
    ]
    for name, b, t in rows:
        delta = t["pass_rate"] - b["pass_rate"]
        lines.append(f"| {name} | {t['n']} | {b['pass_rate']:.2f} | {t['pass_rate']:.2f} | {delta:+.2f} |")
    return "\n".join(lines)
