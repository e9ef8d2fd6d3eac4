"""DVC's own plot specs drawn to SVG by vl-convert, with the few patches a still image needs.

`dvc plots show/diff --json` gives every plot of dvc.yaml as a Vega-Lite spec with its data
inlined, made from DVC's templates (linear, bar_horizontal, confusion). `svg()` draws one with
vl-convert (Vega in an embedded JavaScript engine: no browser, no Node, no network), as DVC's
own page would. A picture is read without a mouse, so `chart()` changes only what a reader of
a still image would otherwise miss, each patch saying why; everything else is DVC's template.
Used by `python -m PACKAGE.plots` and by `compare` for the pull-request comment.
"""

from __future__ import annotations

import copy
import re

DVC_VEGA_LITE = "5.21"  # DVC's templates are Vega-Lite 5 specs (the confusion one uses v5-only syntax)


def title_of(spec: dict) -> str:
    """DVC titles a file's plot with its path: keep what names the metric (`eval/loss`)."""
    title = spec.get("title")
    text = title.get("text", "") if isinstance(title, dict) else str(title or "")
    if re.search(r"\.(tsv|csv|json|jsonl|yaml)$", text):
        text = re.sub(r"\.\w+$", "", text.split("/metrics/", 1)[-1])
    return text


def template_of(spec: dict) -> str:
    """Which DVC template made `spec`: DVC's JSON does not say, its shape does."""
    if "facet" in spec and "spec" in spec:
        return "confusion"
    mark = spec.get("mark")
    if (mark.get("type") if isinstance(mark, dict) else mark) == "bar":
        return "bar"
    if "layer" in spec and spec.get("encoding", {}).get("x", {}).get("type") == "quantitative":
        return "linear"
    return "other"


def values_on_bars(spec: dict) -> dict:
    """DVC's bars show no numbers (the page has a zoom, not a tooltip): print each bar's value."""
    enc = spec["encoding"]
    value = enc["x"] if enc["y"].get("type") == "nominal" else enc["y"]
    rows = spec["data"]["values"]
    rate = all(0 <= float(r[value["field"]]) <= 1 for r in rows)
    fmt = ".0%" if rate else ".3~g"
    # a rate on 0-100 %: DVC's `zero: false` starts the axis at the smallest bar, which a picture
    # without the page's zoom reads as "that bucket scored nothing"
    axis = {**value, "scale": {"domain": [0, 1]} if rate else {"zero": True}, "axis": {"format": fmt}}
    bar = {key: spec.pop(key) for key in ("mark", "params") if key in spec}
    text = {"type": "text", "align": "left", "dx": 3}
    value_channel = "x" if value is enc["x"] else "y"
    enc[value_channel] = axis
    return {
        **spec,
        "layer": [
            bar,
            {
                "mark": text,
                "encoding": {"text": {"field": value["field"], "format": fmt}, "color": {"value": "black"}},
            },
        ],
    }


def counts_in_cells(spec: dict) -> dict:
    """DVC prints a confusion matrix's counts behind a checkbox, unticked: tick it."""
    for param in spec.get("params", []):
        if param.get("name") == "showValues":
            param["value"] = True
    return spec


def curve(spec: dict) -> dict | None:
    """A single value (a runtime, a total) is a number, not a curve: DVC would draw one dot."""
    x = spec["encoding"]["x"]["field"]
    return spec if len({r.get(x) for r in spec["data"]["values"]}) > 1 else None


PATCHES = {"bar": values_on_bars, "confusion": counts_in_cells, "linear": curve}


def chart(spec: dict) -> dict | None:
    """DVC's `spec`, patched for a still image; None when there is nothing to draw."""
    if not spec.get("data", {}).get("values"):
        return None
    spec = copy.deepcopy(spec)
    patch = PATCHES.get(template_of(spec))
    drawn = patch(spec) if patch else spec
    return None if drawn is None else {**drawn, "background": "white"}  # SVG is transparent: dark viewers


def svg(vega_lite: dict) -> str:
    import vl_convert

    version = DVC_VEGA_LITE if vega_lite.get("$schema", "").endswith("/v5.json") else None
    return vl_convert.vegalite_to_svg(vega_lite, vl_version=version)
