"""Release a model version: checks, lineage record, cards, audit entry, registry tag, optional push.

    python -m PACKAGE.release v1.2.0 [--stage prod] [--push] [--signed-off-by "Ana Silva"]

Refuses unless the commit is releasable (registry/readiness.py: clean tree, clean `dvc status`,
outputs matching dvc.lock, gate passed, review when `release.require_review`). Then, in one
commit: `releases/<version>.json` (the lineage record: commit, dvc.lock hashes, base model and
revision, params, metrics, gate, cost, review, library versions), `<version>.md` (the model
card with the evaluation per bucket), `<version>.data.md` (the data card),
`<version>.monitoring.yaml` (what to watch in production, when to roll back) and one more line
of the hash-chained `releases/audit.jsonl`; tagged in the GTO convention `<model>@<version>`
(and `<model>#<stage>#<n>` with --stage).

With --push, DVC data is pushed before anything is committed or tagged, then the commit and the
tags. A failed push shows the tool's own message; running the same command again resumes with
the same commit, tag and record, never a second release commit.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import re
import subprocess
from pathlib import Path

import yaml

from .data.jsonl import write_json
from .errors import reported
from .lineage import dvc_lock_outs, git, read_base
from .params import release as params_mod
from .registry import audit, cards, monitoring, workspace
from .registry.readiness import ReleaseError, check_tree, gate_verdict, read_json, signoff
from .views import tables

LIBRARIES = ("torch", "transformers", "trl", "peft", "datasets", "accelerate", "dvc", "dvclive")
VERSION = re.compile(r"v(\d+)\.(\d+)\.(\d+)")
RELEASES = Path("releases")

__all__ = ["ReleaseError", "main"]


def artifact_name(dvc_yaml: Path = Path("dvc.yaml")) -> str:
    artifacts = yaml.safe_load(dvc_yaml.read_text()).get("artifacts") or {}
    if len(artifacts) != 1:
        raise ReleaseError("dvc.yaml must declare exactly one model under 'artifacts:'")
    return next(iter(artifacts))


def run(cmd: list[str], what: str) -> str:
    """Run a tool; on failure raise with what it said, so the person sees why."""
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        said = (result.stderr.strip() or result.stdout.strip() or f"exit status {result.returncode}")[-2000:]
        raise ReleaseError(f"{what}: `{' '.join(cmd)}` failed:\n{said}")
    return result.stdout


def tag_commit(tag: str) -> str | None:
    found = subprocess.run(
        ["git", "rev-parse", "-q", "--verify", f"refs/tags/{tag}^{{commit}}"], capture_output=True, text=True
    )
    return found.stdout.strip() if found.returncode == 0 else None


def released_versions(model: str) -> list[str]:
    tags = git("tag", "--list", f"{model}@v*").split()
    versions = [t.split("@", 1)[1] for t in tags if VERSION.fullmatch(t.split("@", 1)[1])]
    return sorted(versions, key=lambda v: tuple(int(x) for x in VERSION.fullmatch(v).groups()))


def committed_log(tag: str) -> bytes | None:
    """The audit log as the last release committed it: what the current one must start with."""
    shown = subprocess.run(["git", "show", f"{tag}:{audit.LOG.as_posix()}"], capture_output=True)
    return shown.stdout if shown.returncode == 0 else None


def git_user() -> str:
    try:
        return f"{git('config', 'user.name')} <{git('config', 'user.email')}>"
    except subprocess.CalledProcessError:
        raise ReleaseError("set git user.name and user.email: the audit log records who released") from None


def lineage(model: str, version: str, evaluate: dict, review: dict | None) -> dict:
    curate = read_json(Path("metrics/curate.json")) or {}
    return {
        "model": model,
        "version": version,
        "git_commit": git("rev-parse", "HEAD"),
        "released_by": git_user(),
        "released_at": audit.now(),
        "base_model": read_base(Path("models/base")),
        "dvc_lock_outs": dvc_lock_outs(),
        "params": yaml.safe_load(Path("params.yaml").read_text()),
        "metrics": {m: {s: v["pass_rate"] for s, v in evaluate[m].items()} for m in ("base", "finetuned")},
        "gate": evaluate["gate"],
        "pii_found_by_type": curate.get("pii_found_by_type", {}),
        "cost": read_json(Path("metrics/cost.json")),
        "review": review,
        "libraries": {name: importlib.metadata.version(name) for name in LIBRARIES},
    }


def write_release(
    record: dict, evaluate: dict, p: params_mod.ReleaseParams, previous: str | None
) -> list[Path]:
    """The release's files and its audit line; returns the paths to commit."""
    v = record["version"]
    files = [RELEASES / f"{v}{kind}" for kind in (".json", ".md", ".data.md", ".monitoring.yaml")]
    write_json(files[0], record)
    files[1].write_text(
        cards.model_card(record, evaluate, tables.evaluation_tables(evaluate)), encoding="utf-8"
    )
    data = {
        stage: read_json(Path(f"metrics/{stage}.json")) or {}
        for stage in ("curate", "split", "decontaminate")
    }
    coverage = Path("reports/curate/coverage.md")
    coverage_md = coverage.read_text(encoding="utf-8") if coverage.exists() else ""
    files[2].write_text(cards.data_card(v, **data, coverage_md=coverage_md), encoding="utf-8")
    spec = monitoring.spec(record["model"], v, previous, evaluate, p.monitoring)
    files[3].write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    audit.append(
        {
            "event": "release",
            "model": record["model"],
            "version": v,
            "by": record["released_by"],
            "at": record["released_at"],
            "commit": record["git_commit"],
            "data_and_models": workspace.lock_hashes(),
            "gate": record["gate"],
            "pii_found_by_type": record["pii_found_by_type"],
            "signoff": record["review"],
        }
    )
    return [*files, audit.LOG]


def create(model: str, version: str, push: bool, signed_off_by: str | None) -> dict:
    """The checks, then (after the data push) the release commit and its version tag."""
    p = params_mod.load(Path("params.yaml"))
    check_tree()
    evaluate = gate_verdict(p)
    review = signoff(p, signed_off_by)
    versions = released_versions(model)
    found = audit.problems(committed=committed_log(f"{model}@{versions[-1]}") if versions else None)
    found = found or audit.git_problems()
    if found:
        raise ReleaseError(found[0])
    if push:  # data first: a pushed tag must never name data the remote lacks
        run(["dvc", "push"], "pushing DVC data (nothing was committed or tagged; run the same command again)")
    record = lineage(model, version, evaluate, review)
    files = write_release(record, evaluate, p, versions[-1] if versions else None)
    git("add", *map(str, files))
    git("commit", "--quiet", "--message", audit.message(f"Release {model} {version}"))
    run(["gto", "register", model, "--version", version], "tagging the version")
    return record


def resume(tag: str, version: str, push: bool) -> dict:
    """A retry on the release commit itself: the record as it was made, the data pushed again."""
    record = read_json(RELEASES / f"{version}.json")
    if record is None:
        raise ReleaseError(f"{tag} points here but {RELEASES}/{version}.json is missing: not made by release")
    if push:
        run(["dvc", "push"], "pushing DVC data")
    return record


def assign(model: str, version: str, stage: str) -> list[str]:
    """The stage tag on this commit, made unless an earlier run made it."""
    pattern = f"{model}#{stage}#*"
    if not git("tag", "--points-at", "HEAD", "--list", pattern):
        run(["gto", "assign", model, "--version", version, "--stage", stage], f"assigning stage {stage}")
    return git("tag", "--points-at", "HEAD", "--list", pattern).split()


def main(version: str, stage: str | None, push: bool, signed_off_by: str | None = None) -> dict:
    if not VERSION.fullmatch(version):
        raise ReleaseError(f"version {version!r} is not valid: expected semantic version like v1.2.0")
    model = artifact_name()
    tag = f"{model}@{version}"
    tagged = tag_commit(tag)
    if tagged not in (None, git("rev-parse", "HEAD")):
        raise ReleaseError(f"{tag} is already released at commit {tagged[:12]}; choose a new version")
    record = create(model, version, push, signed_off_by) if tagged is None else resume(tag, version, push)
    tags = [tag, *(assign(model, version, stage) if stage else [])]
    if push:
        branch = git("rev-parse", "--abbrev-ref", "HEAD")
        refs = [f"HEAD:refs/heads/{branch}"] if branch != "HEAD" else []
        retry = "committed and tagged here; run the same command again to push"
        run(
            ["git", "push", "--atomic", "origin", *refs, *(f"refs/tags/{t}" for t in tags)],
            f"pushing the release commit and tags ({retry})",
        )
    return record


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Register a gated model version with its lineage.")
    parser.add_argument("version", help="semantic version, e.g. v1.2.0")
    parser.add_argument("--stage", help="also assign this stage, e.g. prod")
    parser.add_argument("--push", action="store_true", help="dvc push, then git push the commit and tags")
    parser.add_argument("--signed-off-by", help="the person who signs off, when there is no review sheet")
    args = parser.parse_args()
    with reported("release"):
        r = main(args.version, args.stage, args.push, args.signed_off_by)
        print(f"release: {r['model']}@{r['version']} at {git('rev-parse', '--short', 'HEAD')}")
