"""The release audit log: `releases/audit.jsonl`, append-only and hash-chained.

One line per event (a release, a rollback): who (the Git user), when (UTC), which commit, the
data and model hashes from dvc.lock, the gate verdict, the PII findings and the reviewer
sign-off. Each line carries `prev`, the sha256 of the line before it, so editing or deleting an
earlier line breaks the chain; `problems` names the first line that does not follow, and release
and rollback refuse to append to a broken log.

The chain alone cannot show an edit of the last line (nothing follows it to disagree), so the
head is anchored outside the file: release and rollback commit the log with a trailer
`Audit-Log-Head: <lines> <sha256 of the last line>` in the commit message (`message`), and
`git_problems` checks the log against every anchoring commit in HEAD's history: each one's log
ends where its trailer says, each later log starts with it, and so does the file as it is now.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import re
import subprocess
from pathlib import Path

from ..data.jsonl import dumps
from ..errors import UserError

LOG = Path("releases") / "audit.jsonl"
TRAILER = "Audit-Log-Head"
ANCHOR = re.compile(rf"^{TRAILER}: (\d+) ([0-9a-f]{{64}})$", re.M)


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


def _head(log: bytes) -> str:
    lines = log.splitlines()
    return f"{len(lines)} {_sha(lines[-1] if lines else b'')}"


def head(path: Path = LOG) -> str:
    """The log as it is now, as a trailer value: how many lines, and the sha256 of the last one."""
    return _head(path.read_bytes() if path.exists() else b"")


def message(subject: str, path: Path = LOG) -> str:
    """A commit message that anchors the log it commits: `subject`, then the head trailer."""
    return f"{subject}\n\n{TRAILER}: {head(path)}"


def _first_difference(old: bytes, new: bytes) -> int:
    pairs = zip(old.splitlines(), new.splitlines(), strict=False)
    return next((n for n, (a, b) in enumerate(pairs, start=1) if a != b), len(new.splitlines()) + 1)


def _git_bytes(*args: str) -> bytes | None:
    done = subprocess.run(["git", *args], capture_output=True)
    return done.stdout if done.returncode == 0 else None


def git_problems(path: Path = LOG) -> list[str]:
    """The log against the heads anchored in HEAD's commit messages: what was edited after them."""
    history = _git_bytes("log", "--reverse", "-z", "--format=%H%n%B", "HEAD")
    anchored: tuple[str, bytes] | None = None  # (commit, the log it holds)
    for record in (history or b"").decode("utf-8", "replace").split("\0"):
        commit, _, text = record.strip("\n").partition("\n")
        match = ANCHOR.search(text)
        if match is None:
            continue
        log = _git_bytes("show", f"{commit}:./{path.as_posix()}") or b""
        if _head(log) != f"{match[1]} {match[2]}":
            return [
                f"commit {commit[:12]} anchors {path} at {match[1]} lines, {match[2][:12]}, but holds another"
            ]
        if anchored and not log.startswith(anchored[1]):
            line = _first_difference(anchored[1], log)
            return [
                f"{path}:{line} at commit {commit[:12]} differs from the log anchored at {anchored[0][:12]}"
            ]
        anchored = (commit, log)
    data = path.read_bytes() if path.exists() else b""
    if anchored and not data.startswith(anchored[1]):
        line = _first_difference(anchored[1], data)
        return [
            f"{path}:{line} differs from the log anchored in commit {anchored[0][:12]}'s message "
            f"({TRAILER}): an audited line was edited"
        ]
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
