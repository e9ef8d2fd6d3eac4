"""The release audit log: `releases/audit.jsonl`, append-only and hash-chained.

One line per event (a release, a rollback): who (the Git user), when (UTC), which commit, the
data and model hashes from dvc.lock, the gate verdict, the PII findings and the reviewer
sign-off. Each line carries `prev`, the sha256 of the line before it, so editing or deleting an
earlier line breaks the chain; `problems` names the first line that does not follow, and release
and rollback refuse to append to a broken log.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from pathlib import Path

from ..data.jsonl import dumps
from ..errors import UserError

LOG = Path("releases") / "audit.jsonl"


class AuditError(UserError):
    """The audit log was edited, or an event is missing what it must record."""


def _sha(line: bytes) -> str:
    return hashlib.sha256(line).hexdigest()


def problems(path: Path = LOG, committed: bytes | None = None) -> list[str]:
    """What is wrong with the log: a broken chain, or lost lines of an earlier committed version."""
    data = path.read_bytes() if path.exists() else b""
    if committed is not None and not data.startswith(committed):
        return [f"{path} no longer starts with the version committed at the last release: lines were edited"]
    prev = ""
    for number, line in enumerate(data.splitlines(), start=1):
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as e:
            return [f"{path}:{number}: not JSON ({e.msg})"]
        if entry.get("prev") != prev:
            return [f"{path}:{number}: 'prev' does not match the line before: the log was edited"]
        prev = _sha(line)
    return []


def now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def append(event: dict, path: Path = LOG) -> dict:
    """Append `event` with its `prev` link; refuses when the log is already broken."""
    found = problems(path)
    if found:
        raise AuditError(found[0])
    for key in ("event", "by", "at", "commit"):
        if not event.get(key):
            raise AuditError(f"an audit event needs {key!r}")
    lines = path.read_bytes().splitlines() if path.exists() else []
    entry = {**event, "prev": _sha(lines[-1]) if lines else ""}
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("ab") as f:
        f.write(dumps(entry).encode("utf-8") + b"\n")
    return entry


def entries(path: Path = LOG) -> list[dict]:
    return [json.loads(line) for line in path.read_bytes().splitlines()] if path.exists() else []
