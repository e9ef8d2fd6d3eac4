"""The baked project's Git hooks through pre-commit: DVC's checkout follows a branch switch and
DVC's push runs before a Git push, with the project's own dvc (no second DVC to install)."""

import pytest
import yaml
from conftest import DEFAULT_SLUG, bake, run

GIT = ["git", "-c", "user.name=Template Test", "-c", "user.email=t@example.com"]


@pytest.mark.slow  # pre-commit builds its hook environments: ~1 min on a busy 2-core machine
def test_pre_commit_installs_dvc_hooks_that_follow_checkout_and_push(tmp_path):
    project = bake(tmp_path)
    env = {"env": {"PRE_COMMIT_HOME": str(tmp_path / "pre-commit-cache")}}  # no user cache touched
    assert "pre-commit installed" in run(["make", "hooks"], project, **env).stdout
    hooks = project / ".git" / "hooks"
    assert all((hooks / h).exists() for h in ("pre-commit", "pre-push", "post-checkout"))

    golden = project / "data" / "golden" / "golden.jsonl"
    original = golden.read_bytes()
    run([*GIT, "checkout", "--quiet", "-b", "more-golden"], project, **env)
    golden.write_bytes(original + original.splitlines(keepends=True)[0])
    run(["dvc", "add", "--quiet", "data/golden"], project)
    committed = run([*GIT, "commit", "-m", "One more golden item", "data/golden.dvc"], project, **env)
    assert "dvc status (what is out of date" in committed.stdout + committed.stderr  # reported, did not block

    run([*GIT, "checkout", "--quiet", "main"], project, **env)
    assert golden.read_bytes() == original  # post-checkout ran `dvc checkout`
    run([*GIT, "checkout", "--quiet", "more-golden"], project, **env)
    assert golden.read_bytes() != original

    remote = tmp_path / "origin.git"
    run(["git", "init", "--quiet", "--bare", str(remote)], tmp_path)
    run(["git", "remote", "add", "origin", str(remote)], project)
    storage = tmp_path / f"{DEFAULT_SLUG}-dvc-storage"  # the default remote, next to the project
    assert not storage.exists()
    # The pipeline never ran here, so the stale-dvc.lock check would rightly refuse the push.
    pushed = run(
        [*GIT, "push", "--quiet", "origin", "more-golden"], project, env={**env["env"], "SKIP": "dvc-status"}
    )
    assert "dvc push" in pushed.stdout + pushed.stderr
    golden_hash = yaml.safe_load((project / "data" / "golden.dvc").read_text())["outs"][0]["md5"]
    assert (
        storage / "files" / "md5" / golden_hash[:2] / golden_hash[2:]
    ).exists()  # the pushed commit's data
    assert (remote / "refs" / "heads" / "more-golden").exists()
