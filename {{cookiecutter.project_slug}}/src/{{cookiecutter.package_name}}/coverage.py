"""Coverage of the curated data: cards per knowledge point and how varied they are.

One knowledge point needs several varied cards (input variants, boundary values,
counter-examples) or the model learns a shortcut instead of the rule. A point with fewer
distinct prompts than `curate.min_cards_per_point` is flagged.
"""

from __future__ import annotations

import json
from collections import defaultdict

from .scoring import normalize_answer

DUPLICATE_REASONS = ("duplicate", "near_duplicate")


def _point(row: dict) -> tuple[str, str]:
    meta = row.get("meta") or {}
    return str(meta.get("bucket", "_none")), str(meta.get("knowledge_point", "_none"))


def _prompt(row: dict) -> str:
    return normalize_answer(" ".join(m["content"] for m in row["messages"] if m["role"] == "user"))


def coverage(kept: list[dict], quarantined: list[dict], min_cards: int) -> list[dict]:
    cards, prompts, dups = defaultdict(int), defaultdict(set), defaultdict(int)
    for row in kept:
        cards[_point(row)] += 1
        prompts[_point(row)].add(_prompt(row))
    for q in quarantined:
        if q["reason"] in DUPLICATE_REASONS:
            try:  # duplicates parsed fine before they were rejected
                dups[_point(json.loads(q["raw"].removeprefix("\ufeff")))] += 1
            except (json.JSONDecodeError, AttributeError):
                continue
    rows = []
    for point in sorted(set(cards) | set(dups)):
        total = cards[point] + dups[point]
        rows.append(
            {
                "bucket": point[0],
                "knowledge_point": point[1],
                "cards": cards[point],
                "distinct_prompts": len(prompts[point]),
                "duplicate_share": round(dups[point] / total, 3) if total else 0.0,
                "flagged": len(prompts[point]) < min_cards,
            }
        )
    return rows


def coverage_markdown(rows: list[dict]) -> str:
    lines = [
        "# Coverage by knowledge point",
        "",
        "| bucket | knowledge point | cards | distinct prompts | duplicate share | |",
        "|---|---|---:|---:|---:|---|",
    ]
    for r in rows:
        flag = "too few cards" if r["flagged"] else ""
        lines.append(
            f"| {r['bucket']} | {r['knowledge_point']} | {r['cards']} | {r['distinct_prompts']} "
            f"| {r['duplicate_share']:.0%} | {flag} |"
        )
    return "\n".join(lines) + "\n"
