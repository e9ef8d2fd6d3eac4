"""The pull-request report: what a reviewer reads first, against the base branch and the last release."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import git_dvc_repo, sh
from {{ cookiecutter.package_name }} import compare
from {{ cookiecutter.package_name }}.views.comment import (
    GITHUB_LIMIT,
    Section,
    fit,
)

ROOT = Path(__file__).resolve().parents[1]
MODEL = next(iter(yaml.safe_load((ROOT / "dvc.yaml").read_text())["artifacts"]))


def write_run(rates: dict[str, float], passed: bool, seconds: float, extra_metrics: int = 0) -> None:
    """The files a run leaves in Git: metrics (with timings), dvclive curves, evaluate's plot data."""
    buckets = {b: {"pass_rate": r, "n": 10, "passed": int(r * 10)} for b, r in rates.items()}
    summary = {"pass_rate": sum(rates.values()) / len(rates), "n": 30, "by_bucket": buckets, "by_risk": {}}
    reasons = [] if passed else ["golden: risk tier 'critical' pass rate 0.70 < 1.00 (3 of 10 failed)"]
    evaluation = {
        "base": {"golden": {**summary, "pass_rate": 0.0}},
        "finetuned": {"golden": summary},
        "gate": {"passed": passed, "reasons": reasons},
        "seconds": seconds,
        **{f"extra_{i:05d}": seconds + i for i in range(extra_metrics)},
    }
    Path("metrics").mkdir(exist_ok=True)
    Path("metrics/evaluate.json").write_text(json.dumps(evaluation))
    train = {"train_loss": 1.0 / seconds, "seconds": seconds, "tokens_per_second": 100 * seconds}
    Path("metrics/train.json").write_text(json.dumps(train))
    curves = Path("plots/train/plots/metrics")
    (curves / "eval").mkdir(parents=True, exist_ok=True)
    loss = [2.0 / (1 + s / seconds) for s in range(1, 31)]
    (curves / "loss.tsv").write_text(
        "step\tloss\n" + "".join(f"{s}\t{x:.4f}\n" for s, x in enumerate(loss, 1))
    )
    (curves / "eval/loss.tsv").write_text(
        "step\tloss\n" + "".join(f"{s}\t{loss[s - 1] + 0.2:.4f}\n" for s in (10, 20, 30))
    )
    rows = [
        {"bucket": f"golden/{b} ({m})", "pass_rate": r if m == "finetuned" else 0.0}
        for b, r in rates.items()
        for m in ("base", "finetuned")
    ]
    Path("plots/evaluate").mkdir(parents=True, exist_ok=True)
    Path("plots/evaluate/buckets.json").write_text(json.dumps({"buckets": rows}))
    confusion = [
        {"bucket": "verdict", "actual": a, "predicted": p}
        for a, p in [("SAFE", "SAFE"), ("UNSAFE", "SAFE"), ("UNSAFE", "UNSAFE")]
    ]
    Path("plots/evaluate/confusion.json").write_text(json.dumps({"confusion": confusion}))


def commit(message: str) -> None:
    sh("git", "add", "-A")
    sh("git", "commit", "--quiet", "-m", message)


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """main released as v1.0.0 (ioc 0.6, verdict 0.8), then main at 0.8/0.9, then a PR branch."""
    monkeypatch.chdir(tmp_path)
    shutil.copy(ROOT / "dvc.yaml", "dvc.yaml")
    shutil.copy(ROOT / "params.yaml", "params.yaml")
    git_dvc_repo()
    write_run({"ioc": 0.6, "verdict": 0.8}, True, seconds=10)
    commit("first run")
    sh("git", "tag", f"{MODEL}@v1.0.0")
    write_run({"ioc": 0.8, "verdict": 0.9}, True, seconds=12)
    commit("second run")
    sh("git", "checkout", "--quiet", "-b", "pr")
    return tmp_path


def change_params() -> None:
    params = Path("params.yaml")
    params.write_text(params.read_text().replace("num_train_epochs:", "num_train_epochs: 2 #", 1))


def test_gate_and_buckets_come_first_against_base_and_last_release(repo):
    change_params()
    write_run({"ioc": 0.9, "verdict": 0.7}, False, seconds=31)
    commit("fewer epochs")
    report = compare.main("main", Path("reports/compare"))

    assert report.startswith(
        f"# Fine-tuning report: this branch vs `main` and the last release `{MODEL}@v1.0.0`"
    )
    gate, table, charts = (report.index(s) for s in ("**Gate: FAILED**", "| set/bucket |", "## Charts"))
    assert gate < table < charts < report.index("<details>")
    assert "risk tier 'critical' pass rate 0.70" in report
    assert "- Lower than main: golden/all -0.05, golden/verdict -0.20" in report
    assert f"- Lower than {MODEL}@v1.0.0: golden/verdict -0.10" in report
    assert f"| set/bucket | main | this | delta | {MODEL}@v1.0.0 | delta |" in report
    assert "| golden/all | 0.85 | 0.80 | -0.05 | 0.70 | +0.10 |" in report
    assert "| golden/ioc | 0.80 | 0.90 | +0.10 | 0.60 | +0.30 |" in report
    assert "| golden/verdict | 0.90 | 0.70 | -0.20 | 0.80 | -0.10 |" in report

    folded = report[report.index("<details>") :]
    assert "train.sft.num_train_epochs" in folded  # params diff
    assert "finetuned.golden.pass_rate" in folded and "train_loss" in folded  # metrics diff
    assert "seconds" not in report and "tokens_per_second" not in report  # timings differ on every run


def test_every_plot_is_an_svg_next_to_the_report(repo):
    write_run({"ioc": 0.9, "verdict": 0.9}, True, seconds=20)
    report = compare.main("main", Path("reports/compare"))
    out = Path("reports/compare")
    for name in ("training-loss", "evaluate-buckets", "evaluate-confusion"):
        svg = (out / f"{name}.svg").read_text()
        assert svg.startswith("<svg") and f"]({name}.svg)" in report
    loss = (out / "training-loss.svg").read_text()
    shown = (">loss.tsv<", ">eval/loss.tsv<", ">this<", ">main<", f">{MODEL}@v1.0.0<", ">step<", ">loss<")
    for text in shown:
        assert text in loss, text  # both files, all three revisions, axis titles
    assert "Every training curve" not in report  # dvclive's runtime/throughput series: not plots


def test_without_a_release_the_report_says_so_and_compares_with_the_base(repo):
    sh("git", "tag", "--delete", f"{MODEL}@v1.0.0")
    sh("git", "tag", f"{MODEL}@not-a-version")
    write_run({"ioc": 0.9, "verdict": 0.9}, True, seconds=20)
    report = compare.main("main", Path("reports/compare"))
    assert "this branch vs `main` (no release yet)" in report and "**Gate: PASSED**" in report
    assert (
        "| set/bucket | main | this | delta |\n|---|---:|---:|---:|\n| golden/all | 0.85 | 0.90 | +0.05 |"
        in report
    )
    assert "- No bucket is lower than main." in report


def test_the_newest_release_is_the_highest_version_not_the_latest_tag(repo):
    for version in ("v1.10.0", "v1.9.3"):
        sh("git", "tag", f"{MODEL}@{version}", "HEAD~1")
    assert compare.last_release() == f"{MODEL}@v1.10.0"


def test_a_huge_diff_still_fits_one_github_comment(repo):
    write_run({"ioc": 0.9, "verdict": 0.9}, True, seconds=20, extra_metrics=4000)  # none on main
    report = compare.main("main", Path("reports/compare"))
    full = Path("reports/compare/report-full.md").read_text()
    assert len(full) > GITHUB_LIMIT >= len(report)
    assert report.count("<details>") == report.count("</details>") >= 2
    assert "**Gate: PASSED**" in report and "| golden/verdict |" in report  # the head survives whole
    assert "more lines" in report and "[full report](report-full.md)" in report
    assert full.count("| metrics/evaluate.json | extra_") == 4000


def fences_closed(text: str) -> bool:
    return sum(line.lstrip().startswith("```") for line in text.splitlines()) % 2 == 0


def test_fit_cuts_folded_sections_first_between_lines_and_keeps_markup_balanced():
    log = "```\n" + "\n".join(f"log line {i}" for i in range(20_000)) + "\n```"
    table = "| a | b |\n|---|---|\n" + "\n".join(f"| row {i} | {i} |" for i in range(20_000))
    sections = [
        Section("", "**Gate: PASSED**"),
        Section("Log", log, folded=True),
        Section("Table", table, folded=True),
    ]
    body = fit(sections, "https://ci.example/run/1")
    assert len(body) <= GITHUB_LIMIT and body.startswith("**Gate: PASSED**")
    assert body.count("<details>") == body.count("</details>") == 2 and fences_closed(body)
    assert all(
        line == "" or line.startswith(("|", "log line", "```", "<", "_…", "**")) for line in body.splitlines()
    )
    assert body.count("[full report](https://ci.example/run/1)") == 2


def test_fit_leaves_a_short_report_alone_and_cuts_open_sections_only_when_it_must():
    short = [Section("", "**Gate: PASSED**"), Section("Params", "| a | 1 |", folded=True)]
    assert (
        fit(short, "full.md")
        == "**Gate: PASSED**\n\n<details><summary>Params</summary>\n\n| a | 1 |\n\n</details>"
    )
    huge = [Section("Buckets", "\n".join(f"| b{i} | 1.00 |" for i in range(10_000)))]
    body = fit(huge, "full.md")
    assert (
        len(body) <= GITHUB_LIMIT and body.startswith("## Buckets\n\n| b0 | 1.00 |") and "more lines" in body
    )


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (
            ["--base=-x"],
            1,
            "compare: --base '-x' is not a revision: a value starting with '-' would be read by git",
        ),
        (["--base", "-x"], 2, "compare: argument --base: expected one argument"),
        (
            ["--base", "no-such-branch"],
            1,
            "compare: --base 'no-such-branch' is not a commit of this repository",
        ),
    ],
)
def test_a_bad_base_is_refused_in_one_line(repo, args, code, message):
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    cmd = [sys.executable, "-m", compare.__name__, *args]
    result = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert result.returncode == code
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1, result.stderr
