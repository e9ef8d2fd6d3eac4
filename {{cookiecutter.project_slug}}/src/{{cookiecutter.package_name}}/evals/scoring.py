"""Pass-rate summaries by bucket and risk tier. Pure functions."""

from __future__ import annotations

from collections import Counter, defaultdict


def _rate(results: list[dict]) -> dict:
    n = len(results)
    passed = sum(r["passed"] for r in results)
    return {"n": n, "passed": passed, "pass_rate": round(passed / n, 4) if n else 0.0}


def summarize(results: list[dict]) -> dict:
    """Overall, per-bucket and per-risk pass rates: never only the one aggregate.

    Items with a tool check (their `tool` is set) are also counted per tool, with the reasons
    their answers failed: `by_tool: {name: {n, passed, pass_rate, failures: {reason: count}}}`.
    """
    summary = _rate(results)
    for key in ("bucket", "risk"):
        groups: dict[str, list[dict]] = defaultdict(list)
        for r in results:
            groups[r.get(key) or "_none"].append(r)
        summary[f"by_{key}"] = {name: _rate(rs) for name, rs in sorted(groups.items())}
    tools: dict[str, list[dict]] = defaultdict(list)
    for r in results:
        if r.get("tool"):
            tools[r["tool"]].append(r)
    if tools:
        summary["by_tool"] = {
            name: {
                **_rate(rs),
                "failures": dict(sorted(Counter(r["reason"] for r in rs if not r["passed"]).items())),
            }
            for name, rs in sorted(tools.items())
        }
    return summary
