"""data/veto.jsonl: curated rows reviewers flagged bad before training; curate quarantines them.

    {"row_sha256": "<64 hex>", "row_id": "raw:12", "bucket": "...", "knowledge_point": "...",
     "reviewers": ["ana"], "notes": ["wrong verdict for level 7"], "at": "2026-12-07T10:00:00Z"}

`python -m PACKAGE.review veto` (`make review-data-done`) adds the rows flagged on a review sheet
(and clears those whose reviewers changed their minds);
the file is small and lives in Git, so each veto is a reviewed diff and a version of the data
protocol. `row_sha256` (data/filters.fingerprint of the conversation as curated) is what matches;
the rest says who and why. A hand-edited file is checked line by line, and a bad line stops curate
naming file:line and field, since a veto silently ignored would train on a row a person rejected.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import UserError
from .jsonl import read_records, write_jsonl

_SHA256 = re.compile(r"[0-9a-f]{64}")


def load(path: Path) -> dict[str, dict]:
    """row_sha256 -> entry; an absent file is an empty list."""
    entries: dict[str, dict] = {}
    if not path.exists():
        return entries
    for where, row in read_records(path):  # a line that is no JSON object raises, naming file:line
        digest = row.get("row_sha256")
        if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
            raise UserError(
                f"{where}: field 'row_sha256' must be 64 lowercase hex digits (the curated row's "
                f"fingerprint, written by `review veto`), got {digest!r}"
            )
        for key in ("reviewers", "notes"):
            value = row.get(key, [])
            if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
                raise UserError(f"{where}: field {key!r} must be a list of strings, got {value!r:.80}")
        entries[digest] = row
    return entries


def update(path: Path, new: list[dict], cleared: dict[str, set[str]] | None = None) -> tuple[int, int, int]:
    """Merge flagged rows into the file (the same row again adds its reviewers and notes) and take
    reviewers who now call a row good off its entry, dropping entries nobody holds any more:
    (rows added, rows removed, total)."""
    entries = load(path)
    added = removed = 0
    for digest, reviewers in (cleared or {}).items():
        entry = entries.get(digest)
        if entry is not None:
            entry["reviewers"] = [r for r in entry.get("reviewers", []) if r not in reviewers]
            if not entry["reviewers"]:
                del entries[digest]
                removed += 1
    for entry in new:
        old = entries.get(entry["row_sha256"])
        if old is None:
            entries[entry["row_sha256"]] = entry
            added += 1
            continue
        for key in ("reviewers", "notes"):
            old[key] = old.get(key, []) + [x for x in entry[key] if x not in old.get(key, [])]
    write_jsonl(path, list(entries.values()))
    return added, removed, len(entries)
