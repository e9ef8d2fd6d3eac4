"""Coverage of the curated data: cards per knowledge point, how varied they are, and what is missing.

One knowledge point needs several varied cards (input variants, boundary values,
counter-examples) or the model learns a shortcut instead of the rule; practitioners ask for at
least five per point. A point with fewer distinct prompts than its minimum is flagged. The
knowledge-point manifest (`data/knowledge_points.yaml`) lists the points each bucket must cover:

    scan_verdict: [verdict_boundary, verdict_clear]      # each needs curate.min_cards_per_point
    ioc_normalize: {refang_url: 10, refang_ip: 5}        # or a minimum per point

so a required point with no card at all shows up as `missing` instead of being invisible.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

from ..errors import UserError
from .texts import normalize_answer

DUPLICATE_REASONS = ("duplicate", "near_duplicate")
Manifest = dict[str, dict[str, int | None]]  # bucket -> point -> minimum cards (None: the default)


def load_manifest(path: Path) -> Manifest:
    """The manifest as bucket -> point -> minimum; UserError naming the file and key when malformed."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as e:
        raise UserError(f"{path}: cannot be read as YAML ({e})") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a mapping of bucket -> knowledge points")
    manifest: Manifest = {}
    for bucket, points in data.items():
        if isinstance(points, list) and all(isinstance(p, str) for p in points):
            manifest[str(bucket)] = dict.fromkeys(points)
        elif isinstance(points, dict) and all(
            isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in points.values()
        ):
            manifest[str(bucket)] = {str(p): n for p, n in points.items()}
        else:
            raise UserError(
                f"{path}: {bucket}: expected a list of knowledge point names or a mapping point -> "
                f"minimum cards (an integer >= 1), got {points!r}"
            )
    return manifest


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

    def quarantined(self, row: dict | None, reason: str) -> None:
        """A rejected row, parsed (a duplicate) or not (None): duplicates count against their point."""
        if row is not None and reason in DUPLICATE_REASONS:
            self.dups[_point(row)] += 1

    def rows(self, min_cards: int, manifest: Manifest | None = None) -> list[dict]:
        """One row per point seen or required, sorted; `flag` is "", "missing" or "too few cards"."""
        required = {
            (b, p): n or min_cards for b, points in (manifest or {}).items() for p, n in points.items()
        }
        rows = []
        for point in sorted(set(self.cards) | set(self.dups) | set(required)):
            total = self.cards[point] + self.dups[point]
            distinct = len(self.prompts.get(point, ()))
            minimum = required.get(point, min_cards)
            flag = "missing" if point in required and not self.cards[point] else ""
            rows.append(
                {
                    "bucket": point[0],
                    "knowledge_point": point[1],
                    "required": point in required,
                    "min_cards": minimum,
                    "cards": self.cards[point],
                    "distinct_prompts": distinct,
                    "duplicate_share": round(self.dups[point] / total, 3) if total else 0.0,
                    "flag": flag or ("too few cards" if distinct < minimum else ""),
                }
            )
        return rows


def coverage_markdown(rows: list[dict]) -> str:
    lines = [
        "# Coverage by knowledge point",
        "",
        "Cards are kept rows; a point needs at least `min cards` distinct prompts. Required points come",
        "from the knowledge-point manifest.",
        "",
        "| bucket | knowledge point | required | min cards | cards | distinct prompts | duplicate share | |",
        "|---|---|---|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['bucket']} | {r['knowledge_point']} | {'yes' if r['required'] else 'no'} "
            f"| {r['min_cards']} | {r['cards']} | {r['distinct_prompts']} "
            f"| {r['duplicate_share']:.0%} | {r['flag']} |"
        )
    return "\n".join(lines) + "\n"
