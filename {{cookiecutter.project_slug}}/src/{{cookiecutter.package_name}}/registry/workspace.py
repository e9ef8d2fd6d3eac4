"""Do the workspace's pipeline outputs match dvc.lock, byte for byte?

`dvc status` says whether a stage's inputs changed since `dvc.lock` was written; a release also
needs the other direction: that the files it is about to register are the ones `dvc.lock`
names. `md5(path)` recomputes DVC 3's hash: the md5 of a file's bytes, or for a directory the
md5 of the sorted JSON listing of its files' md5s and relative paths, suffixed `.dir`.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import yaml


def _file_md5(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(2**20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def md5(path: Path) -> str:
    """The hash DVC 3 records for `path` in dvc.lock (`hash: md5`)."""
    if path.is_file():
        return _file_md5(path)
    entries = [
        {"md5": _file_md5(f), "relpath": f.relative_to(path).as_posix()}
        for f in path.rglob("*")
        if f.is_file()
    ]
    listing = json.dumps(sorted(entries, key=lambda e: e["relpath"]), sort_keys=True)
    return hashlib.md5(listing.encode("utf-8")).hexdigest() + ".dir"


def mismatches(outs: dict[str, str], root: Path = Path(".")) -> list[str]:
    """One line per output of `outs` ({path: md5 from dvc.lock}) that is missing or differs."""
    problems = []
    for path, want in sorted(outs.items()):
        target = root / path
        if not target.exists():
            problems.append(f"{path}: missing from the workspace (dvc checkout, or dvc pull)")
        elif (got := md5(target)) != want:
            problems.append(f"{path}: md5 {got} in the workspace, {want} in dvc.lock")
    return problems


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
