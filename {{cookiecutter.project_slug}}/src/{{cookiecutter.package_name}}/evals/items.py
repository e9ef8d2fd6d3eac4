"""Eval sets, read record by record: a bad record is rejected with its reason, never the whole run.

    items, rejected = load_items(Path("data/golden"), "normalized", "golden")

An eval set is a file or a directory of them, of any kind curate reads (data/sources.py: JSON
Lines, JSON arrays, gzip, Parquet), so what decontaminate removes from training is exactly what
evaluate scores; any other file in the directory stops the stage naming it. An eval item is a
conversation whose last message is the reference answer (see data/chat.py), with `meta.bucket`,
`meta.risk` and optionally `meta.check` (see checks.py); without an `id` it is named after where
it is, `file:line` (JSON Lines) or `file[row n]` (a JSON array element or Parquet row).
Whatever goes wrong with one record (invalid JSON, nesting too deep, a 5000-digit number, NaN
or null where text belongs, a malformed check, a repeated id) rejects that record: `load_items`
returns it with file, line (or row), reason code, message and the raw text, which evaluate
writes to `rejected.jsonl` and counts per set. The gate fails on a gated set with rejected items.
"""

from __future__ import annotations

from pathlib import Path

from ..data.chat import check_conversation
from ..data.jsonl import JsonlError, MissingInput, parse
from ..data.sources import SUPPORTED, Tally, read_items, rejected_record, where
from .checks import CheckError, parse_check


class ItemError(ValueError):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def parse_item(at: str, raw: bytes, default_check: str) -> dict:
    """One record as an eval item with its parsed check, or ItemError saying what is wrong."""
    try:
        row = parse(at, raw)
    except JsonlError as e:
        raise ItemError("invalid_json", str(e).removeprefix(f"{at}: ")) from None
    problem = check_conversation(row)
    if problem:
        raise ItemError(*problem)
    item_id = row.get("id", at)
    if not isinstance(item_id, str | int) or isinstance(item_id, bool):
        raise ItemError("bad_id", f"field 'id' must be a string or an integer, got {type(item_id).__name__}")
    meta = row.get("meta") or {}
    try:
        check = parse_check(meta.get("check", default_check))
    except CheckError as e:
        raise ItemError("bad_check", str(e)) from None
    return {"id": str(item_id), "messages": row["messages"], "meta": meta, "check": check, "where": at}


def load_items(path: Path, default_check: str, eval_set: str) -> tuple[list[dict], list[dict]]:
    """(items, rejected records) of an eval set: a data file or a directory of them."""
    items, rejected, seen, tally = [], [], set(), Tally()
    for item in read_items(path, tally):
        *_, raw = item
        try:
            parsed = parse_item(where(item), raw, default_check)
            if parsed["id"] in seen:  # predictions and the judge pair answers by id
                raise ItemError("duplicate_id", f"id {parsed['id']!r} is used by an earlier item of this set")
        except ItemError as e:
            reason, message = e.reason, str(e)
        except Exception as e:  # anything else one record can do is still that record's problem
            reason, message = "unreadable", f"{type(e).__name__}: {str(e)[:200]}"
        else:
            seen.add(parsed["id"])
            items.append(parsed)
            continue
        rejected.append(rejected_record(item, eval_set, (reason, message)))
    if not tally.files:
        kinds = ", ".join("*" + suffix for suffix in SUPPORTED)
        raise MissingInput(f"{path}: no eval files in this directory; expected {kinds}")
    return items, rejected
