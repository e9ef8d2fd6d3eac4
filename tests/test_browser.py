"""The baked project's charts and DVC's offline page as a person sees them: headless Chromium, no network.

Chromium is the system's (`apt-get install chromium`; `.ci/run` installs it when it is missing),
driven by Playwright's Python API without `playwright install`. Every request that is not
file:, data: or blob: is aborted and recorded, so a page that needs a CDN fails here even on a
machine with network. A screenshot counts as drawn when enough of it is not white.
"""

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import bake, run
from playwright.sync_api import sync_playwright

# Debian's binary first: /usr/bin/chromium is a wrapper script that adds flags of its own.
CANDIDATES = [
    os.environ.get("CHROMIUM"),
    "/usr/lib/chromium/chromium",
    shutil.which("chromium-browser"),
    shutil.which("chromium"),
]
CHROMIUM = next((c for c in CANDIDATES if c and Path(c).is_file()), None)
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        CHROMIUM is None, reason="no Chromium: apt-get install chromium, or set CHROMIUM=/path/to/chrome"
    ),
]
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--disable-sync",
         "--disable-background-networking", "--disable-component-update",
         "--font-render-hinting=none"]  # fmt: skip
PACKAGE = "security_triage_assistant"
INK = """async (png) => {
  const img = new Image();
  img.src = "data:image/png;base64," + png;
  await img.decode();
  const canvas = Object.assign(document.createElement("canvas"), {width: img.width, height: img.height});
  const g = canvas.getContext("2d");
  g.drawImage(img, 0, 0);
  const d = g.getImageData(0, 0, img.width, img.height).data;
  let inked = 0;
  for (let i = 0; i < d.length; i += 4) if (Math.min(d[i], d[i + 1], d[i + 2]) < 235) inked++;
  return inked / (img.width * img.height);
}"""


def write_plot_files(project: Path, shift: float) -> None:
    """The files train (dvclive) and evaluate write, in their formats."""
    curves = project / "plots/train/plots/metrics"
    (curves / "eval").mkdir(parents=True, exist_ok=True)
    loss = "".join(f"0\t{s}\t{2 / (1 + s / 20) + shift:.4f}\n" for s in range(5, 205, 5))
    (curves / "loss.tsv").write_text("timestamp\tstep\tloss\n" + loss)
    eval_loss = "".join(f"0\t{s}\t{2.2 / (1 + s / 25) + shift:.4f}\n" for s in range(25, 225, 25))
    (curves / "eval/loss.tsv").write_text("timestamp\tstep\tloss\n" + eval_loss)
    rate = "".join(f"0\t{s}\t{min(1.0, s / 250 + shift):.4f}\n" for s in range(25, 225, 25))
    (curves / "eval/pass_rate.tsv").write_text("timestamp\tstep\tpass_rate\n" + rate)  # train.select's
    (curves / "dpo/eval").mkdir(parents=True, exist_ok=True)
    (curves / "dpo/eval/pass_rate.tsv").write_text("timestamp\tstep\tpass_rate\n0\t8\t0.9\n0\t16\t0.92\n")
    evaluate = project / "plots/evaluate"
    evaluate.mkdir(parents=True, exist_ok=True)
    rates = {"ioc_normalize": 0.5, "out_of_scope": 0.9, "scan_verdict": 1.0}
    rows = [{"bucket": f"{s}/{b} ({m})", "pass_rate": 0.0 if m == "base" else min(1.0, r + shift)}
            for s in ("test", "golden") for b, r in rates.items() for m in ("base", "finetuned")]  # fmt: skip
    (evaluate / "buckets.json").write_text(json.dumps({"buckets": rows}))
    pairs = (
        [("SAFE", "SAFE")] * 9 + [("UNSAFE", "UNSAFE")] * 7 + [("UNSAFE", "SAFE")] * 2 + [("SAFE", "other")]
    )
    confusion = [{"bucket": "scan_verdict", "actual": a, "predicted": p} for a, p in pairs]
    (evaluate / "confusion.json").write_text(json.dumps({"confusion": confusion}))


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A baked project with one committed run and a changed workspace, its plots drawn both ways."""
    project = bake(tmp_path_factory.mktemp("browser"))
    write_plot_files(project, 0.0)
    run(["git", "add", "-A"], project)
    run(["git", "-c", "user.name=t", "-c", "user.email=t@e.io", "commit", "-qm", "run 1"], project)
    write_plot_files(project, 0.1)
    env = {"PYTHONPATH": str(project / "src")}
    plots = [sys.executable, "-m", f"{PACKAGE}.plots", "--html"]
    run([*plots, "--out", "reports/plots"], project, env=env)
    run([*plots, "--rev", "HEAD", "--out", str(project.parent / "diff")], project, env=env)
    return project


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield chromium
        chromium.close()


class Page:
    """A fresh page that aborts and records every network request and collects script errors."""

    def __init__(self, browser):
        self.context = browser.new_context(viewport={"width": 1400, "height": 1000}, service_workers="block")
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.context.route("**/*", self.route)
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)

    def route(self, route) -> None:
        if route.request.url.startswith(("file:", "data:", "blob:", "about:")):
            route.continue_()
        else:
            self.requests.append(route.request.url)
            route.abort()

    def ink(self, png: bytes) -> float:
        """Share of the screenshot's pixels that are not (near) white, measured on a page of its own."""
        scratch = self.context.new_page()  # an SVG document cannot make an HTML canvas
        try:
            return scratch.evaluate(INK, base64.b64encode(png).decode())
        finally:
            scratch.close()

    def texts(self, selector: str = "svg text") -> set[str]:
        return {t.strip() for t in self.page.locator(selector).all_text_contents()}


@pytest.fixture
def page(browser):
    opened = Page(browser)
    yield opened
    opened.context.close()


def test_a_blank_page_has_no_ink(page):
    page.page.set_content("<body style='margin:0; background:white'></body>")
    assert page.ink(page.page.screenshot()) == 0.0


EXPECTED = {  # chart -> texts a reader needs: title, axis titles, legend, values DVC's page shows on demand
    "training-loss.svg": {"Training loss", "step", "loss", "loss.tsv", "eval/loss.tsv"},
    "evaluate-buckets.svg": {
        "Pass rate per bucket, base vs fine-tuned",
        "pass rate",
        "set/bucket",
        "test/ioc_normalize (finetuned)",
        "90%",
    },
    "evaluate-confusion.svg": {"reference answer", "model answer", "SAFE", "UNSAFE", "9", "7"},
    "validation-pass-rate.svg": {"Validation pass rate", "step", "val pass rate", "eval/pass_rate.tsv"},
}


@pytest.mark.parametrize("chart", sorted(EXPECTED))
def test_each_chart_renders_with_its_titles_and_legend(project, page, chart):
    svg = project / "reports" / "plots" / chart
    page.page.goto(svg.as_uri())
    drawing = page.page.locator("svg").first
    assert EXPECTED[chart] <= page.texts(), sorted(page.texts())
    assert page.ink(drawing.screenshot()) > 0.03
    assert page.requests == [] and page.errors == []


def test_a_diff_chart_names_both_revisions(project, page):
    page.page.goto((project.parent / "diff" / "training-loss.svg").as_uri())
    assert {"loss.tsv", "eval/loss.tsv", "HEAD", "workspace", "rev"} <= page.texts()
    assert page.ink(page.page.locator("svg").first.screenshot()) > 0.03


@pytest.mark.parametrize("out", ["reports/plots", "../diff"])
def test_dvc_plots_page_renders_every_plot_with_no_network(project, page, out):
    html = project / out / "html" / "index.html"
    expected = html.read_text().count("vegaEmbed('#")
    page.page.goto(html.as_uri())
    page.page.wait_for_function(
        f"document.querySelectorAll('.vega-embed svg.marks').length >= {expected}", timeout=30_000
    )
    assert page.page.locator(".vega-embed svg.marks").count() == expected == 4  # loss, val, bucket, confusion
    assert {"step", "loss", "pass rate", "set/bucket", "reference answer", "model answer"} <= page.texts(
        ".vega-embed svg text"
    )
    assert page.ink(page.page.screenshot(full_page=True)) > 0.02
    assert page.requests == [] and page.errors == []


def test_dvc_own_page_needs_a_cdn_and_shows_nothing_here(project, page, tmp_path):
    """Control: without the offline template the same page asks a CDN for its scripts and draws nothing."""
    run(["dvc", "plots", "show", "--out", str(tmp_path)], project)
    page.page.goto((tmp_path / "index.html").as_uri())
    page.page.wait_for_timeout(500)
    assert len(page.requests) == 3 and all("vega" in url for url in page.requests)
    assert page.page.locator(".vega-embed svg.marks").count() == 0


def test_the_report_markdown_links_only_files_that_exist(project):
    index = (project / "reports" / "plots" / "index.md").read_text()
    linked = [line.split("](")[1].rstrip(")") for line in index.splitlines() if line.startswith("![")]
    assert linked and all((project / "reports" / "plots" / f).is_file() for f in linked)
    assert (
        subprocess.run(
            ["git", "status", "--porcelain", "reports"], cwd=project, capture_output=True, text=True
        ).stdout
        == ""
    )
