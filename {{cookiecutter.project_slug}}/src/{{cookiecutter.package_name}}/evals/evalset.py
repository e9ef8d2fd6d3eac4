"""Eval sets, read line by line: a bad line is rejected with its reason, never the whole run.

An eval item is a conversation whose last message is the reference answer (see data/chat.py),
with `meta.bucket`, `meta.risk` and optionally `meta.check` (see checks.py). Whatever goes
wrong with one line (invalid JSON, nesting too deep, a 5000-digit number, NaN or null where text
belongs, a malformed check, a repeated id) rejects that line: `load_items` returns it as a
record with file, line, reason code, message and the raw text, which evaluate writes to
`rejected.jsonl` and counts per set. The gate fails on a gated set with rejected lines.
"""

from __future__ import annotations

from pathlib import Path

from ..data.chat import check_conversation
from ..data.jsonl import JsonlError, parse, read_lines
from .checks import CheckError, parse_check


class ItemError(ValueError):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def parse_item(where: str, raw: bytes, default_check: str) -> dict:
    """One line as an eval item with its parsed check, or ItemError saying what is wrong."""
    try:
        row = parse(where, raw)
    except JsonlError as e:
        raise ItemError("invalid_json", str(e).removeprefix(f"{where}: ")) from None
    problem = check_conversation(row)
    if problem:
        raise ItemError(*problem)
    item_id = row.get("id", where)
    if not isinstance(item_id, str | int) or isinstance(item_id, bool):
        raise ItemError("bad_id", f"field 'id' must be a string or an integer, got {type(item_id).__name__}")
    meta = row.get("meta") or {}
    try:
        check = parse_check(meta.get("check", default_check))
    except CheckError as e:
        raise ItemError("bad_check", str(e)) from None
    return {"id": str(item_id), "messages": row["messages"], "meta": meta, "check": check, "where": where}


def load_items(path: Path, default_check: str, eval_set: str) -> tuple[list[dict], list[dict]]:
    """(items, rejected records) of an eval set: a .jsonl file or a directory of them."""
    items, rejected, seen = [], [], set()
    for file, number, raw in read_lines(path):
        where = f"{file}:{number}"
        try:
            item = parse_item(where, raw, default_check)
            if item["id"] in seen:  # predictions and the judge pair answers by id
                raise ItemError("duplicate_id", f"id {item['id']!r} is used by an earlier item of this set")
        except ItemError as e:
            reason, message = e.reason, str(e)
        except Exception as e:  # anything else one line can do is still that line's problem
            reason, message = "unreadable", f"{type(e).__name__}: {str(e)[:200]}"
        else:
            seen.add(item["id"])
            items.append(item)
            continue
        rejected.append(
            {
                "set": eval_set,
                "file": file,
                "line": number,
                "reason": reason,
                "message": message,
                "raw": raw.decode("utf-8", errors="replace"),
            }
        )
    return items, rejected
