"""Answers judged by their items' checks, and pass-rate summaries by bucket and risk tier. Pure
functions."""

from __future__ import annotations

import sys
from collections import Counter, defaultdict

from .checks import judge
from .toolcalls import tool_key


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


def judged(items: list[dict], records: list[dict], refusal_patterns: list[str]) -> tuple[dict, list[dict]]:
    """(summary, per-item results) of one model's answers to one eval set, each judged by its item's check."""
    by_id = {r["id"]: r for r in records}
    results = []
    for item in items:
        record = by_id.get(item["id"])
        if record is None:
            raise KeyError(item["id"])
        reference = item["messages"][-1]["content"]
        passed, reason, detail = judge(item["check"], record["prediction"], reference, refusal_patterns)
        if reason == "regex_timeout":  # the pattern, not the model, is wrong: say which item to fix
            print(f"evaluate: {record['model']}/{record['set']} item {item['id']}: {detail}", file=sys.stderr)
        results.append(
            {
                **{k: record[k] for k in ("model", "set", "id", "request")},
                "bucket": item["meta"].get("bucket"),
                "risk": item["meta"].get("risk"),
                "check": item["check"]["type"],
                "tool": tool_key(item["check"]),
                "reference": reference,
                "prediction": record["prediction"],
                "stopped": record["stopped"],
                "passed": passed,
                "reason": reason,
                "detail": detail,
            }
        )
    summary = summarize(results)
    summary["stopped_rate"] = round(sum(r["stopped"] for r in results) / max(1, len(results)), 4)
    return summary, results
