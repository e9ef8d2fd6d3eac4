"""Every dvc.yaml plot drawn as a picture a person can read, and DVC's page made to work offline."""

import contextlib
import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }} import plots

ROOT = Path(__file__).resolve().parents[1]
SVG = "{http://www.w3.org/2000/svg}"
METRICS = Path("plots/train/plots/metrics")


def write_plot_files(shift: float) -> None:
    """What train (dvclive) and evaluate write, with `shift` moving every number."""
    (METRICS / "eval").mkdir(parents=True, exist_ok=True)
    (METRICS / "train").mkdir(exist_ok=True)
    steps = range(5, 105, 5)
    (METRICS / "loss.tsv").write_text(
        "timestamp\tstep\tloss\n" + "".join(f"0\t{s}\t{2 / (1 + s / 20) + shift:.4f}\n" for s in steps)
    )
    (METRICS / "eval/loss.tsv").write_text(
        "timestamp\tstep\tloss\n"
        + "".join(f"0\t{s}\t{2.2 / (1 + s / 25) + shift:.4f}\n" for s in (25, 50, 75, 100))
    )
    (METRICS / "learning_rate.tsv").write_text(
        "timestamp\tstep\tlearning_rate\n" + "".join(f"0\t{s}\t{2e-4 * (1 - s / 105):.6g}\n" for s in steps)
    )
    (METRICS / "train/runtime.tsv").write_text(
        "timestamp\tstep\ttrain/runtime\n0\t100\t12.5\n"
    )  # one value: no curve
    rows = [
        {"bucket": f"{s}/{b} ({m})", "pass_rate": 0.0 if m == "base" else round(0.5 + shift, 2)}
        for s in ("test", "golden")
        for b in ("ioc_normalize", "scan_verdict")
        for m in ("base", "finetuned")
    ]
    Path("plots/evaluate").mkdir(parents=True, exist_ok=True)
    Path("plots/evaluate/buckets.json").write_text(json.dumps({"buckets": rows}))
    pairs = [("SAFE", "SAFE")] * 6 + [("UNSAFE", "UNSAFE")] * 4 + [("UNSAFE", "SAFE"), ("SAFE", "other")]
    confusion = [{"bucket": "scan_verdict", "actual": a, "predicted": p} for a, p in pairs]
    Path("plots/evaluate/confusion.json").write_text(json.dumps({"confusion": confusion}))


@contextlib.contextmanager
def inside(path: Path):
    cwd = Path.cwd()
    os.chdir(path)
    try:
        yield path
    finally:
        os.chdir(cwd)


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A Git + DVC repository with this project's dvc.yaml: one committed run, a changed workspace."""
    root = tmp_path_factory.mktemp("plots")
    shutil.copy(ROOT / "dvc.yaml", root / "dvc.yaml")
    shutil.copy(ROOT / "params.yaml", root / "params.yaml")
    with inside(root):
        for cmd in (["git", "init", "--quiet", "--initial-branch", "main"], ["dvc", "init", "--quiet"]):
            subprocess.run(cmd, check=True)
        write_plot_files(0.0)
        subprocess.run(["git", "add", "-A"], check=True)
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@e.io", "commit", "-qm", "run 1"], check=True
        )
        write_plot_files(0.25)
    return root


@pytest.fixture(scope="module")
def drawn(project) -> tuple[list[plots.Plot], Path]:
    """`python -m PACKAGE.plots --html` in the project, once for the tests that read what it drew."""
    out = project / "reports" / "plots"
    with inside(project):
        return plots.main([], out, html=True), out


@pytest.fixture
def in_project(project, monkeypatch) -> Path:
    monkeypatch.chdir(project)
    return project


def texts(svg_file: Path, *classes: str) -> list[list[str]]:
    """The texts of each SVG group that has all these classes (Vega names roles: role-axis-label, ...)."""
    return [
        [t.text or "" for t in g.iter(f"{SVG}text")]
        for g in ET.parse(svg_file).iter(f"{SVG}g")
        if set(classes) <= set(g.get("class", "").split())
    ]


def flat(groups: list[list[str]]) -> list[str]:
    return [t for g in groups for t in g]


def test_every_plot_in_dvc_yaml_is_drawn_and_listed(drawn):
    drawn, out = drawn
    files = {p.file for p in drawn if p.file}
    assert files == {"training-loss.svg", "evaluate-buckets.svg", "evaluate-confusion.svg"}  # a reviewer's
    assert all((out / f).read_text().startswith("<svg") for f in files)
    index = (out / "index.md").read_text()
    assert all(f"]({f})" in index for f in files)
    assert "runtime" not in index and "learning_rate" not in index  # dvclive's other series: not drawn
    primary = {p.file for p in drawn if p.primary}
    assert primary == {"training-loss.svg", "evaluate-buckets.svg", "evaluate-confusion.svg"}


def test_the_loss_chart_is_dvcs_template_with_train_and_eval_told_apart(drawn):
    chart = drawn[1] / "training-loss.svg"
    assert flat(texts(chart, "role-title-text")) == ["Training loss"]
    assert flat(texts(chart, "role-axis-title")) == ["step", "loss"]
    assert flat(texts(chart, "role-legend-label")) == ["workspace", "eval/loss.tsv", "loss.tsv"]
    x_ticks, y_ticks = texts(chart, "role-axis-label")
    assert len(x_ticks) >= 6 and len(y_ticks) >= 4 and all(t.isdigit() for t in x_ticks)
    assert len(texts(chart, "role-axis-grid")) == 2  # grid lines across both axes
    assert "stroke-dasharray" in chart.read_text()  # train and eval files by dash


def test_a_diff_tells_revisions_apart_by_colour_under_their_labels(in_project, tmp_path):
    plots.render_all(["HEAD"], tmp_path, labels={"workspace": "this"})
    chart = tmp_path / "training-loss.svg"
    assert flat(texts(chart, "role-legend-label")) == ["this", "HEAD", "eval/loss.tsv", "loss.tsv"]
    strokes = {
        p.get("stroke") for p in ET.parse(chart).iter(f"{SVG}path") if p.get("stroke", "").startswith("#")
    }
    assert len(strokes) >= 2  # a colour per revision, the relabelled one kept in DVC's colour scale
    bars = flat(texts(tmp_path / "evaluate-buckets.svg", "mark-text", "role-mark"))
    assert bars.count("75%") == 4 and bars.count("50%") == 4  # this run and HEAD, each bar with its value


def test_pass_rates_are_percent_bars_from_zero_with_their_values(drawn):
    chart = drawn[1] / "evaluate-buckets.svg"
    assert flat(texts(chart, "role-axis-title")) == ["pass rate", "set/bucket"]
    rates, buckets = texts(chart, "role-axis-label")
    assert rates[0] == "0%" and rates[-1] == "100%"  # not DVC's axis from the smallest bar
    assert "test/ioc_normalize (finetuned)" in buckets
    values = flat(texts(chart, "mark-text", "role-mark"))
    assert values.count("75%") == 4 and values.count("0%") == 4  # every bar carries its value


def test_the_confusion_matrix_prints_its_counts(drawn):
    chart = drawn[1] / "evaluate-confusion.svg"
    assert flat(texts(chart, "role-axis-title")) == ["model answer", "reference answer"]
    # DVC hides the counts behind an unticked checkbox; its empty cells are imputed as 0
    assert sorted(flat(texts(chart, "mark-text", "role-mark")), key=int) == ["0", "0", "1", "1", "4", "6"]


def test_the_interactive_page_loads_nothing_from_the_network(drawn):
    page = (drawn[1] / "html" / "index.html").read_text()
    assert "vegaEmbed(" in page and "vega-lite" in page  # DVC's plot divs, the inlined library
    assert (
        "<script src" not in page and "cdn.jsdelivr" not in page
    )  # the browser test in the template runs it
    assert (
        page.count("vegaEmbed('#") == 4
    )  # every plot dvc.yaml names: loss and val curves, buckets, confusion


def test_a_revision_that_looks_like_an_option_is_refused(in_project):
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    cmd = [sys.executable, "-m", plots.__name__, "--rev=--all"]
    result = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert result.stderr.startswith("plots: --rev '--all' is not a revision")


def test_dvc_plots_own_output_folder_is_ignored(in_project):
    subprocess.run(["dvc", "plots", "diff", "HEAD", "workspace"], check=True, capture_output=True)
    assert Path("dvc_plots/index.html").exists()
    shutil.copy(ROOT / ".gitignore", ".gitignore")
    status = subprocess.run(["git", "status", "--porcelain", "dvc_plots"], capture_output=True, text=True)
    assert status.stdout == ""
