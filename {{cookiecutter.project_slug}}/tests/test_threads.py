"""The CPU thread count follows the model's size, and a user's OMP_NUM_THREADS always wins."""

import os
import subprocess
import sys
from pathlib import Path

from {{ cookiecutter.package_name }} import threads


def test_a_small_model_gets_one_thread():
    assert threads.choose(459_392, env={}) == (1, "0.5 M parameters < 100 M")


def test_a_large_or_unknown_model_gets_every_core(monkeypatch):
    monkeypatch.setattr(threads, "cores", lambda: 8)
    assert threads.choose(135_000_000, env={})[0] == 8
    assert threads.choose(None, env={})[0] == 8


def test_the_users_setting_wins():
    assert threads.choose(459_392, env={"OMP_NUM_THREADS": "4"}) == (4, "OMP_NUM_THREADS=4")
    assert threads.choose(10**9, env={"MKL_NUM_THREADS": "1"}) == (1, "MKL_NUM_THREADS=1")
    assert threads.choose(459_392, env={"OMP_NUM_THREADS": ""})[0] == 1  # empty means unset


def test_accelerate_launchs_own_default_is_not_the_users(monkeypatch):
    monkeypatch.setattr(threads, "cores", lambda: 8)
    launched = {"OMP_NUM_THREADS": "1", threads.BEFORE_LAUNCH: ""}  # the user set nothing
    assert threads.choose(135_000_000, env=launched) == (8, "every usable core for 135 M parameters")
    assert threads.choose(135_000_000, env={**launched, threads.BEFORE_LAUNCH: "3"})[0] == 3
    two = {**launched, "LOCAL_WORLD_SIZE": "2"}  # cpu_ddp: two processes share the cores
    assert threads.choose(135_000_000, env=two) == (
        4,
        "every usable core for 135 M parameters, shared by 2 processes",
    )


def test_a_stage_logs_its_thread_choice_once_to_its_log_not_the_console(tmp_path):
    # In a process of its own, as a stage runs: chatter.to_log routes the package's notes too.
    code = (
        "import sys; from pathlib import Path; "
        "from {{ cookiecutter.package_name }} import chatter, threads; "
        "chatter.to_log('base', Path(sys.argv[1])); "
        "threads.set_threads(1000, 'base'); threads.set_threads(2000, 'base')"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1] / "src")  # the package, installed or not
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr
    lines = [line for line in (tmp_path / "base.log").read_text().splitlines() if "CPU thread" in line]
    assert len(lines) == 1 and lines[0].endswith("INFO base: 1 CPU thread (0.0 M parameters < 100 M)")
    assert "CPU thread" not in done.stderr + done.stdout  # the console keeps the progress lines
