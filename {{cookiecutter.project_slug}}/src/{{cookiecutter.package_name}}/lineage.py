"""Where a model came from: the base model's identity, training's notes, dvc.lock and Git.

Stages hand each other facts through files, never through imports of one another: `base` writes
`models/base/lineage.json` (which base, at which revision), `train` writes `train_info.json`
next to what it trained (method, dtype, which base), and merge, evaluate and release read them
back with the helpers here. `dvc.lock` and Git give the hashes and the commit of a version.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import yaml

from .errors import UserError

LINEAGE = "lineage.json"  # in the base stage's output directory
TRAIN_INFO = "train_info.json"  # next to the trained adapter or weights
BUILT_HERE = ("embedded", "gguf")  # sources whose weights the base stage writes into its own output


def tree_sha256(path: Path) -> str:
    """One hash over every file's name and bytes: the revision of a local model directory."""
    digest = hashlib.sha256()
    for file in sorted(f for f in path.rglob("*") if f.is_file() and f.name != LINEAGE):
        digest.update(file.relative_to(path).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()


def read_base(base_dir: Path) -> dict:
    """The base stage's record: source (embedded | gguf | local | hub), model and revision."""
    file = base_dir / LINEAGE
    if not file.is_file():
        raise UserError(f"{file} is missing: {base_dir} is not the base stage's output (dvc repro base)")
    return json.loads(file.read_text(encoding="utf-8"))


def resolve(base_dir: Path) -> tuple[str, str | None]:
    """(name_or_path, revision) to pass to `from_pretrained` for the base this project uses."""
    lineage = read_base(base_dir)
    if lineage["source"] == "hub":
        return lineage["model"], lineage["revision"]
    if lineage["source"] in BUILT_HERE:
        return str(base_dir), None
    return str(Path(lineage["model"])), None


def read_train_info(trained: Path) -> dict:
    """What train wrote next to the model: method, dtype, base_dir, params and results."""
    return json.loads((trained / TRAIN_INFO).read_text(encoding="utf-8"))


def write_train_info(trained: Path, info: dict) -> None:
    (trained / TRAIN_INFO).write_text(json.dumps(info, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def dvc_lock_outs(lock_file: Path = Path("dvc.lock")) -> dict[str, str]:
    """{output path: md5} of every stage output in dvc.lock; empty before the first `dvc repro`."""
    if not lock_file.exists():
        return {}
    stages = (yaml.safe_load(lock_file.read_text(encoding="utf-8")) or {}).get("stages", {})
    return dict(sorted((o["path"], o["md5"]) for stage in stages.values() for o in stage.get("outs", [])))


def git(*args: str) -> str:
    """A git command's output; raises CalledProcessError (with stderr as text) when it fails."""
    return subprocess.run(["git", *args], check=True, capture_output=True, text=True).stdout.strip()


def commit_description() -> str:
    """The short HEAD commit, marked when tracked files differ from it; 'unknown' outside Git."""
    try:
        head = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (subprocess.CalledProcessError, FileNotFoundError):
        return "unknown"
    return head + (" (with uncommitted changes)" if dirty else "")
