"""The PR comparison report and the release checks, in a scratch Git + DVC repository."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }} import compare, release

ROOT = Path(__file__).resolve().parents[1]


def sh(*cmd: str) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def evaluation(rate: float, passed: bool) -> dict:
    summary = {
        "pass_rate": rate,
        "n": 10,
        "passed": int(rate * 10),
        "by_bucket": {"verdict": {"pass_rate": rate}},
        "by_risk": {"critical": {"pass_rate": rate, "n": 10, "passed": int(rate * 10)}},
    }
    reasons = [] if passed else ["golden: risk tier 'critical' pass rate 0.70 < 1.00 (3 of 10 failed)"]
    return {
        "base": {"golden": {**summary, "pass_rate": 0.0}},
        "finetuned": {"golden": summary},
        "gate": {"passed": passed, "reasons": reasons},
    }


def write_run(rate: float, passed: bool, losses: list[float]) -> None:
    Path("metrics").mkdir(exist_ok=True)
    Path("metrics/evaluate.json").write_text(json.dumps(evaluation(rate, passed)))
    curve = Path("plots/train/plots/metrics/loss.tsv")
    curve.parent.mkdir(parents=True, exist_ok=True)
    curve.write_text("step\tloss\n" + "".join(f"{i}\t{x}\n" for i, x in enumerate(losses)))


@pytest.fixture
def repo(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copy(ROOT / "dvc.yaml", "dvc.yaml")
    shutil.copy(ROOT / "params.yaml", "params.yaml")
    sh("git", "init", "--quiet", "--initial-branch", "main")
    sh("git", "config", "user.email", "t@example.com")
    sh("git", "config", "user.name", "t")
    sh("dvc", "init", "--quiet")
    write_run(0.9, True, [2.0, 1.0, 0.5])
    sh("git", "add", "-A")
    sh("git", "commit", "--quiet", "-m", "main run")
    return tmp_path


def test_compare_shows_both_runs_params_and_the_gate(repo):
    sh("git", "checkout", "--quiet", "-b", "pr")
    params = Path("params.yaml")
    params.write_text(params.read_text().replace("num_train_epochs:", "num_train_epochs: 2 #", 1))
    write_run(0.7, False, [2.0, 1.5, 1.2])
    sh("git", "commit", "--quiet", "-am", "fewer epochs")
    report = compare.main("main", Path("reports/compare"))
    assert "**Gate: FAILED**" in report and "risk tier 'critical' pass rate 0.70" in report
    assert "| golden/all | 0.90 | 0.70 | -0.20 |" in report
    assert "| golden/verdict | 0.90 | 0.70 | -0.20 |" in report
    assert "train.sft.num_train_epochs" in report  # from `dvc params diff`
    svg = Path("reports/compare/training-loss.svg").read_text()
    assert ">main<" in svg and ">this<" in svg  # both revisions' curves, named in the legend


def test_release_refuses_without_a_clean_tree_a_valid_version_or_a_passed_gate(repo):
    with pytest.raises(release.ReleaseError, match="expected semantic version like v1.2.0"):
        release.main("1.2", None, push=False)
    Path("scratch.txt").write_text("x")
    with pytest.raises(release.ReleaseError, match="uncommitted changes"):
        release.main("v1.0.0", None, push=False)
    Path("scratch.txt").unlink()
    with pytest.raises(release.ReleaseError, match="`dvc status` is not clean"):  # never reproduced
        release.main("v1.0.0", None, push=False)
    assert sh("git", "tag") == ""
