"""A project made with `cruft create` takes a later template change with `cruft update`."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import DEFAULT_SLUG, TEMPLATE, run

GIT = ["git", "-c", "user.name=Template Test", "-c", "user.email=t@example.com"]
PROJECT_DIR = "{{cookiecutter.project_slug}}"


def cruft(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(
        [sys.executable, "-m", "cruft", *args], cwd=cwd, env=env, capture_output=True, text=True
    )


def template_repository(where: Path) -> Path:
    """This working tree's template as a Git repository: cruft clones templates, it does not copy them."""
    keep = shutil.ignore_patterns("__pycache__", ".ruff_cache", ".pytest_cache")
    shutil.copytree(TEMPLATE / "hooks", where / "hooks", ignore=keep)
    shutil.copytree(TEMPLATE / PROJECT_DIR, where / PROJECT_DIR, ignore=keep)
    shutil.copy(TEMPLATE / "cookiecutter.json", where)
    run(["git", "init", "--quiet", "--initial-branch", "main"], where)
    run([*GIT, "add", "--all"], where)
    run([*GIT, "commit", "--quiet", "-m", "template v1"], where)
    return where


@pytest.mark.slow  # two renders, a Git repository and cruft's update: ~35 s on a busy 2-core machine
def test_cruft_update_brings_a_template_change_into_a_baked_project(tmp_path):
    template = template_repository(tmp_path / "template")
    created = cruft("create", str(template), "--no-input", "--output-dir", str(tmp_path), cwd=tmp_path)
    assert created.returncode == 0, created.stdout + created.stderr
    assert "git add .cruft.json && git commit -m 'Add .cruft.json'" in created.stdout
    project = tmp_path / DEFAULT_SLUG
    assert (
        run(["git", "status", "--porcelain"], project).stdout == "?? .cruft.json\n"
    )  # the hook committed the rest
    run([*GIT, "add", ".cruft.json"], project)
    run([*GIT, "commit", "--quiet", "-m", "Add .cruft.json"], project)
    assert cruft("diff", "--exit-code", cwd=project).returncode == 0  # Git and DVC state are not template
    (project / "models").mkdir()  # a pipeline output, as `dvc repro` leaves it: Git-ignored, not template
    (project / "models" / "weights.bin").write_bytes(b"\0\1")
    (project / "models" / ".gitignore").write_text("/weights.bin\n")
    run([*GIT, "add", "models/.gitignore"], project)
    run([*GIT, "commit", "--quiet", "-m", "A run"], project)
    data_before = (project / "data" / "raw" / "demo.jsonl").read_bytes()

    makefile = template / PROJECT_DIR / "Makefile"
    makefile.write_text(makefile.read_text() + "\ndag:  ## the pipeline as a graph\n\tdvc dag\n")
    manifest = template / PROJECT_DIR / "data" / "knowledge_points.yaml"  # template, beside DVC data
    manifest.write_text(manifest.read_text() + "# reviewed\n")
    run([*GIT, "commit", "--quiet", "-am", "template v2: make dag"], template)
    assert cruft("check", cwd=project).returncode == 1

    updated = cruft("update", "--skip-apply-ask", cwd=project)
    assert updated.returncode == 0, updated.stdout + updated.stderr
    assert (
        "cruft scratch render" in updated.stdout and "Next:" not in updated.stdout
    )  # no data, Git or DVC there
    assert "dag:  ## the pipeline as a graph" in (project / "Makefile").read_text()
    changed = run(["git", "status", "--porcelain", "--untracked-files=all"], project).stdout.splitlines()
    assert sorted(line[3:] for line in changed) == [".cruft.json", "Makefile", "data/knowledge_points.yaml"]
    assert (project / "data" / "knowledge_points.yaml").read_text().endswith("# reviewed\n")
    assert not list(project.rglob("*.rej"))
    assert (project / "models" / "weights.bin").read_bytes() == b"\0\1"
    assert (project / "data" / "raw" / "demo.jsonl").read_bytes() == data_before
    assert cruft("check", cwd=project).returncode == 0
    assert cruft("diff", "--exit-code", cwd=project).returncode == 0
