"""Every plot of dvc.yaml as an SVG file, and DVC's interactive page made to work offline.

    python -m PACKAGE.plots [--rev REV ...] [--out reports/plots] [--html]      # `make plots`

`dvc plots show --json` (with --rev: `dvc plots diff REV... workspace --json`) gives each plot's
Vega-Lite spec; views/charts.py draws DVC's own spec to OUT/<name>.svg and OUT/index.md lists
them. --html also writes OUT/index.html, DVC's own interactive page, through an HTML template
that carries vega, vega-lite and vega-embed inline instead of loading them from a CDN, so it
renders with no network (a CI artifact, a laptop on a train). The template is vl-convert's
JavaScript bundle, ~0.9 MB: generated into OUT on use, never committed.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .errors import UserError, reported
from .views import charts

PAGE = """<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
{refresh_tag}
<title>DVC plots</title>
<script>
__BUNDLE__
</script>
<script>
// DVC's page calls vegaEmbed(element, spec): draw SVG, and offer no link that leaves the machine.
window.vegaEmbed = ((embed) => (el, spec, opt) => embed(el, spec, Object.assign({
  renderer: "svg", actions: {export: true, source: true, compiled: false, editor: false}
}, opt)))(window.vegaEmbed);
</script>
<style>
body { font-family: sans-serif; }
body > div { display: inline-block; vertical-align: top; margin: 8px; }
</style>
</head>
<body>
{plot_divs}
</body>
</html>
"""
# DVC fills its template by replacing these; the inlined bundle must hold none of them, nor end
# the <script> element early.
PLACEHOLDERS = ("{plot_divs}", "{refresh_tag}", "{scripts}", "</script")


@dataclass(frozen=True)
class Plot:
    name: str  # the plot's id in dvc.yaml: a title or a file path
    title: str
    file: str | None  # the SVG, None when there was nothing to draw
    primary: bool  # False for the per-metric files of a dvclive directory (learning rate, grad norm, ...)


def dvc_plots(revs: list[str]) -> dict:
    cmd = (
        ["dvc", "plots", "diff", *revs, "workspace", "--json"] if revs else ["dvc", "plots", "show", "--json"]
    )
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise UserError(f"`{' '.join(cmd)}` failed: {result.stderr.strip() or result.stdout.strip()}")
    return json.loads(result.stdout)


def file_name(name: str) -> str:
    stem = re.sub(r"\.\w+$", "", name.removeprefix("plots/"))
    return re.sub(r"[^A-Za-z0-9]+", "-", stem).strip("-").lower() or "plot"


def relabelled(node, labels: dict[str, str], key: str = ""):
    """`node` with revisions renamed: in each row's `rev` and in the lists DVC's scales sort them by."""
    if isinstance(node, dict):
        return {k: relabelled(v, labels, k) for k, v in node.items()}
    if isinstance(node, list):
        return [relabelled(v, labels, "rev") for v in node]
    return labels.get(node, node) if key == "rev" and isinstance(node, str) else node


def render_all(revs: list[str], out: Path, labels: dict[str, str] | None = None) -> list[Plot]:
    """Draw every plot of `dvc plots show/diff` into OUT; `labels` renames revisions in legends."""
    labels = labels or {}
    out.mkdir(parents=True, exist_ok=True)
    plots = []
    for name, items in dvc_plots(revs).get("data", {}).items():
        for item in items:
            if item.get("type") != "vega":
                continue  # image plots are files already
            spec = relabelled(item["content"], labels)
            drawn = charts.chart(spec)
            file = None
            if drawn is not None:
                file = f"{file_name(name)}.svg"
                (out / file).write_text(charts.svg(drawn), encoding="utf-8")
            plots.append(Plot(name, charts.title_of(spec) or name, file, not name.endswith(".tsv")))
    return plots


def index(plots: list[Plot]) -> str:
    lines = ["# Plots", ""]
    lines += [f"## {p.title}\n\n![{p.title}]({p.file})\n" for p in plots if p.file]
    empty = [p.name for p in plots if not p.file]
    if empty:
        lines.append("Not drawn (a single value, not a curve): " + ", ".join(f"`{n}`" for n in empty))
    return "\n".join(lines) + "\n"


def offline_template() -> str:
    import vl_convert

    bundle = vl_convert.javascript_bundle(vl_version=charts.DVC_VEGA_LITE)
    for bad in PLACEHOLDERS:
        if bad in bundle:
            raise RuntimeError(f"vl-convert's bundle holds {bad!r}: it cannot be inlined in DVC's template")
    return PAGE.replace("__BUNDLE__", bundle)


def write_html(revs: list[str], out: Path) -> Path:
    template = out / "offline-template.html"
    template.write_text(offline_template(), encoding="utf-8")
    verb = ["diff", *revs, "workspace"] if revs else ["show"]
    cmd = ["dvc", "plots", *verb, "--html-template", str(template), "--out", str(out / "html")]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise UserError(f"`{' '.join(cmd)}` failed: {result.stderr.strip()}")
    return out / "html" / "index.html"


def main(revs: list[str], out: Path, html: bool) -> list[Plot]:
    plots = render_all(revs, out)
    (out / "index.md").write_text(index(plots), encoding="utf-8")
    if html:
        print(f"plots: {write_html(revs, out)} (opens offline)")
    return plots


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description="Draw every dvc.yaml plot as SVG; --html for DVC's page, offline."
    )
    parser.add_argument("--rev", action="append", default=[], help="compare the workspace with this revision")
    parser.add_argument("--out", type=Path, default=Path("reports/plots"))
    parser.add_argument("--html", action="store_true", help="also write DVC's interactive page, offline")
    args = parser.parse_args()
    with reported("plots"):
        for rev in args.rev:
            if rev.startswith("-"):
                raise UserError(
                    f"--rev {rev!r} is not a revision: a value starting with '-' would be read as an option"
                )
        drawn = main(args.rev, args.out, args.html)
    print(f"plots: {sum(p.file is not None for p in drawn)} charts in {args.out / 'index.md'}")
