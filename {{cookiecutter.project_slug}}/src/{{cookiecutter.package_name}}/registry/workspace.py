"""Do the workspace's pipeline outputs match dvc.lock? DVC answers: `dvc status`'s changed outs.

A release must register the files dvc.lock names, and a rollback must leave them in place.
`dvc status --json` already compares every output (cached or `cache: false`) with dvc.lock;
`mismatches()` keeps its "changed outs", the part a `dvc checkout` fixes, from the rest (an
input changed: a `dvc repro` fixes that). DVC hashes a file again only when its inode, mtime
or size changed; an edit that keeps all three is seen by `dvc status` in a fresh clone, which
is what CI runs.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import yaml

from ..errors import UserError


def dvc_status() -> dict[str, list]:
    """`dvc status --json`: {stage: [change, ...]}, empty when the pipeline is up to date."""
    result = subprocess.run(["dvc", "status", "--json"], capture_output=True, text=True)
    if result.returncode != 0:
        raise UserError(f"`dvc status --json` failed: {(result.stderr or result.stdout).strip()}")
    return json.loads(result.stdout or "{}")


def mismatches(status: dict[str, list] | None = None) -> list[str]:
    """One line per output that is missing or differs from dvc.lock, as `dvc status` sees it."""
    status = dvc_status() if status is None else status
    return [
        f"{path}: {state} (stage {stage}): `dvc checkout`, or `dvc pull` when the cache lacks it"
        for stage, changes in sorted(status.items())
        for change in changes
        if isinstance(change, dict)  # the others are strings: "always changed", "changed checksum"
        for path, state in sorted(change.get("changed outs", {}).items())
    ]


def inputs_changed(status: dict[str, list]) -> bool:
    """Whether `dvc status` reports more than changed outputs: a stage `dvc repro` would run."""
    return any(not (isinstance(c, dict) and set(c) == {"changed outs"}) for cs in status.values() for c in cs)


def lock_hashes(
    lock_file: Path = Path("dvc.lock"), prefixes: tuple[str, ...] = ("data/", "models/")
) -> dict[str, str]:
    """{path: md5} of every dependency and output in dvc.lock under `prefixes`: the data a version
    was trained on (data/raw, data/golden, ...) as well as what the pipeline made of it."""
    if not lock_file.exists():
        return {}
    stages = (yaml.safe_load(lock_file.read_text(encoding="utf-8")) or {}).get("stages", {})
    entries = [e for stage in stages.values() for kind in ("deps", "outs") for e in stage.get(kind, [])]
    return dict(
        sorted((e["path"], e["md5"]) for e in entries if e["path"].startswith(prefixes) and "md5" in e)
    )
