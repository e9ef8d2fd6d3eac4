"""Coverage of the curated data: cards per knowledge point and how varied they are.

One knowledge point needs several varied cards (input variants, boundary values,
counter-examples) or the model learns a shortcut instead of the rule. A point with fewer
distinct prompts than `curate.min_cards_per_point` is flagged.
"""

from __future__ import annotations

import contextlib
import json
from collections import Counter, defaultdict

from ..evals.scoring import normalize_answer

DUPLICATE_REASONS = ("duplicate", "near_duplicate")


def _point(row: dict) -> tuple[str, str]:
    meta = row.get("meta") or {}
    return str(meta.get("bucket", "_none")), str(meta.get("knowledge_point", "_none"))


def _prompt(row: dict) -> str:
    return normalize_answer(" ".join(m["content"] for m in row["messages"] if m["role"] == "user"))


class Coverage:
    """Counts per (bucket, knowledge point), fed one row at a time; prompts are kept as hashes."""

    def __init__(self) -> None:
        self.cards: Counter = Counter()
        self.dups: Counter = Counter()
        self.prompts: dict[tuple[str, str], set[int]] = defaultdict(set)

    def kept(self, row: dict) -> None:
        self.cards[_point(row)] += 1
        self.prompts[_point(row)].add(hash(_prompt(row)))

    def quarantined(self, record: dict) -> None:
        if record["reason"] in DUPLICATE_REASONS:  # duplicates parsed fine before they were rejected
            with contextlib.suppress(json.JSONDecodeError, AttributeError):
                self.dups[_point(json.loads(record["raw"].removeprefix("\ufeff")))] += 1

    def rows(self, min_cards: int) -> list[dict]:
        rows = []
        for point in sorted(set(self.cards) | set(self.dups)):
            total = self.cards[point] + self.dups[point]
            distinct = len(self.prompts[point])
            rows.append(
                {
                    "bucket": point[0],
                    "knowledge_point": point[1],
                    "cards": self.cards[point],
                    "distinct_prompts": distinct,
                    "duplicate_share": round(self.dups[point] / total, 3) if total else 0.0,
                    "flagged": distinct < min_cards,
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
