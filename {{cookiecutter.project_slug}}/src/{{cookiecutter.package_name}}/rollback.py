"""Roll back to a released version: its files, its data and models, its stage, in a new commit.

    python -m PACKAGE.rollback v1.0.0 [--stage prod] [--reason "bad verdicts in tool_use"] [--push]

Forward, never by rewriting history: every tracked file of `<model>@<version>` (code, params,
dvc.lock, .dvc files, the git-tracked metrics) is restored on top of the current branch, except
`releases/`, whose audit log and records of later versions stay. DVC then checks out the data
and models that dvc.lock and the .dvc files of that version name, from the local cache or else
the remote, and the workspace is verified against the version's record, hash by hash. A
`rollback` line goes into the audit log, the result is committed, and with --stage the stage
is assigned to that version again (a new `<model>#<stage>#<n>` tag: what a deployment watching
the registry follows). The runbook is docs/runbook.md.
"""

from __future__ import annotations

import argparse
import subprocess

from .errors import reported
from .lineage import dvc_lock_outs, git
from .registry import audit, workspace
from .registry.readiness import ReleaseError, read_json
from .release import RELEASES, VERSION, artifact_name, git_user, released_versions, run, tag_commit


def restore(model: str, version: str) -> None:
    """Files, data and models of the version back in the workspace (files in the index too)."""
    tag = f"{model}@{version}"
    record = read_json(RELEASES / f"{version}.json")  # releases/ is never rolled back: it is here
    if record is None:
        raise ReleaseError(f"{RELEASES}/{version}.json is missing: {tag} was not made by the release command")
    git("restore", f"--source={tag}", "--staged", "--worktree", "--", ".", f":(exclude){RELEASES}")
    checkout = subprocess.run(["dvc", "checkout", "--force"], capture_output=True, text=True)
    if checkout.returncode != 0:  # not in the local cache: fetch what is missing from the remote
        run(["dvc", "pull", "--force"], f"restoring the data and models of {version}")
    restored = dvc_lock_outs()
    wrong = [
        f"{path}: {restored.get(path)} in dvc.lock, {md5} in the release record"
        for path, md5 in record["dvc_lock_outs"].items()
        if restored.get(path) != md5
    ]
    wrong = wrong or workspace.mismatches()
    if wrong:
        raise ReleaseError(f"after checkout the workspace still differs from {version}:\n" + "\n".join(wrong))


def main(version: str, stage: str | None, reason: str = "", push: bool = False) -> dict:
    if push and git("rev-parse", "--abbrev-ref", "HEAD") == "HEAD":  # a CI checkout of a commit
        raise ReleaseError(
            "--push from a detached HEAD would push a branch named HEAD: check out the branch to roll "
            "back on first (git switch main), or leave out --push and push by hand"
        )
    if not VERSION.fullmatch(version):
        raise ReleaseError(f"version {version!r} is not valid: expected semantic version like v1.2.0")
    model = artifact_name()
    released = released_versions(model)
    if version not in released:
        raise ReleaseError(f"{model}@{version} is not a release; released: {', '.join(released) or 'none'}")
    if git("status", "--porcelain"):
        raise ReleaseError("the working tree has uncommitted changes; commit or stash them first")
    found = audit.problems() or audit.git_problems()
    if found:
        raise ReleaseError(found[0])
    before = git("rev-parse", "HEAD")
    restore(model, version)
    event = audit.append(
        {
            "event": "rollback",
            "model": model,
            "version": version,
            "by": git_user(),
            "at": audit.now(),
            "commit": tag_commit(f"{model}@{version}"),
            "from_commit": before,
            "data_and_models": workspace.lock_hashes(),  # of the restored dvc.lock
            "stage": stage,
            "reason": reason,
        }
    )
    git("add", str(audit.LOG))
    git(
        "commit",
        "--quiet",
        "--message",
        audit.message(f"Roll back {model} to {version}" + (f": {reason}" if reason else "")),
    )
    tags = []
    if stage:
        run(["gto", "assign", model, "--version", version, "--stage", stage, "--force"], f"assigning {stage}")
        tags = [
            max(git("tag", "--list", f"{model}#{stage}#*").split(), key=lambda t: int(t.rsplit("#", 1)[1]))
        ]
    if push:
        branch = git("rev-parse", "--abbrev-ref", "HEAD")
        pushed = [f"HEAD:refs/heads/{branch}", *(f"refs/tags/{t}" for t in tags)]
        run(
            ["git", "push", "--atomic", "origin", *pushed],
            "pushing the rollback (committed here; push it by hand)",
        )
    return event


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Restore a released model version in a new commit.")
    parser.add_argument("version", help="the released version to go back to, e.g. v1.0.0")
    parser.add_argument("--stage", help="assign this stage (e.g. prod) to that version again")
    parser.add_argument("--reason", default="", help="why, for the audit log and the commit message")
    parser.add_argument("--push", action="store_true", help="git push the commit and the stage tag")
    args = parser.parse_args()
    with reported("rollback"):
        e = main(args.version, args.stage, args.reason, args.push)
        print(
            f"rollback: {e['model']} is at {e['version']} again, commit {git('rev-parse', '--short', 'HEAD')}"
        )
