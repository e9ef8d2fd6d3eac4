"""Release a model version: gate, lineage record, registry tag, optional stage and push.

    python -m PACKAGE.release v1.2.0 [--stage prod] [--push]

Refuses unless the working tree is committed, `dvc status` is clean and the gate in
metrics/evaluate.json passed. Then writes `releases/<version>.json`, the lineage record (the
commit that produced the model, dvc.lock hashes of data, adapter and merged weights, base model
and revision, params, metrics, gate, library versions), commits it, and tags the commit in the
GTO convention: `<model>@<version>` and, with --stage, `<model>#<stage>#<n>`. `gto show`
lists versions; `git checkout <model>@<version> && dvc pull` restores one.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import re
import subprocess
import sys
from pathlib import Path

import yaml

from .lineage import dvc_lock_outs, git, read_base

LIBRARIES = ("torch", "transformers", "trl", "peft", "datasets", "accelerate", "dvc", "dvclive")
VERSION = re.compile(r"v\d+\.\d+\.\d+")


class ReleaseError(RuntimeError):
    pass


def artifact_name(dvc_yaml: Path = Path("dvc.yaml")) -> str:
    artifacts = yaml.safe_load(dvc_yaml.read_text()).get("artifacts") or {}
    if len(artifacts) != 1:
        raise ReleaseError("dvc.yaml must declare exactly one model under 'artifacts:'")
    return next(iter(artifacts))


def lineage(version: str) -> dict:
    evaluate = json.loads(Path("metrics/evaluate.json").read_text())
    return {
        "model": artifact_name(),
        "version": version,
        "git_commit": git("rev-parse", "HEAD"),
        "base_model": read_base(Path("models/base")),
        "dvc_lock_outs": dvc_lock_outs(),
        "params": yaml.safe_load(Path("params.yaml").read_text()),
        "metrics": {m: {s: v["pass_rate"] for s, v in evaluate[m].items()} for m in ("base", "finetuned")},
        "gate": evaluate["gate"],
        "libraries": {name: importlib.metadata.version(name) for name in LIBRARIES},
    }


def check_ready() -> None:
    if git("status", "--porcelain"):
        raise ReleaseError(
            "the working tree has uncommitted changes; commit them (code, params, dvc.lock) first"
        )
    status = subprocess.run(["dvc", "status", "--quiet"], capture_output=True, text=True)
    if status.returncode != 0:
        raise ReleaseError("`dvc status` is not clean: run `dvc repro` and commit dvc.lock first")
    gate = json.loads(Path("metrics/evaluate.json").read_text()).get("gate", {})
    if not gate.get("passed"):
        raise ReleaseError("the gate failed: " + "; ".join(gate.get("reasons", ["no verdict"])))


def main(version: str, stage: str | None, push: bool) -> dict:
    if not VERSION.fullmatch(version):
        raise ReleaseError(f"version {version!r} is not valid: expected semantic version like v1.2.0")
    check_ready()
    record = lineage(version)
    path = Path("releases") / f"{version}.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    git("add", str(path))
    git("commit", "--quiet", "--message", f"Release {record['model']} {version}")
    subprocess.run(
        ["gto", "register", record["model"], "--version", version], check=True, capture_output=True, text=True
    )
    if stage:
        subprocess.run(
            ["gto", "assign", record["model"], "--version", version, "--stage", stage],
            check=True,
            capture_output=True,
            text=True,
        )
    if push:
        subprocess.run(["dvc", "push", "--quiet"], check=True)
        subprocess.run(["git", "push", "--follow-tags", "origin", "HEAD"], check=True)
        subprocess.run(["git", "push", "origin", "--tags"], check=True)
    return record


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Register a gated model version with its lineage.")
    parser.add_argument("version", help="semantic version, e.g. v1.2.0")
    parser.add_argument("--stage", help="also assign this stage, e.g. prod")
    parser.add_argument("--push", action="store_true", help="dvc push and git push the tags")
    args = parser.parse_args()
    try:
        r = main(args.version, args.stage, args.push)
    except (ReleaseError, subprocess.CalledProcessError) as e:
        detail = getattr(e, "stderr", None)  # every captured command runs with text=True
        sys.exit(f"release: {e}" + (f"\n{detail}" if detail else ""))
    print(f"release: {r['model']}@{r['version']} tagged at {git('rev-parse', '--short', 'HEAD')}")
