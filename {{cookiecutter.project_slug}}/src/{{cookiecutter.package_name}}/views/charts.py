"""The project's DVC plots as still images: Vega-Lite specs drawn to SVG by vl-convert.

`dvc plots show/diff --json` gives every plot of dvc.yaml with its data inlined and DVC's
interactive template around it (LOESS slider, hover rules, revisions told apart by colour and
files by dash). `chart()` rebuilds each one for a picture that is read without a mouse: curves
as views/linear.py draws them, rates on a 0-100 % axis with the value printed on each bar,
counts in the cells of a confusion matrix, grid lines and a bounded number of round ticks.
`svg()` draws it with vl-convert (Vega in an embedded JavaScript engine: no browser, no Node,
no network). Used by `python -m PACKAGE.plots` and by `compare` for the pull-request comment.
"""

from __future__ import annotations

import re

from .linear import PALETTE, linear, title_of

DVC_VEGA_LITE = "5.21"  # DVC's templates are Vega-Lite 5 specs (the confusion one uses v5-only syntax)
# Text is measured here with vl-convert's fonts and drawn by the viewer's: room to spare keeps a
# wider font from running titles into labels or legends off the edge.
CONFIG = {
    "background": "white",
    "font": "sans-serif",
    "padding": {"left": 8, "top": 8, "right": 40, "bottom": 8},
    "title": {"fontSize": 14, "anchor": "start", "offset": 10},
    "axis": {
        "grid": True,
        "gridColor": "#e4e4e4",
        "labelFontSize": 11,
        "titleFontSize": 12,
        "titlePadding": 10,
    },
    "axisY": {"titlePadding": 16},
    "legend": {"labelFontSize": 11, "titleFontSize": 11, "labelLimit": 240, "offset": 16},
    "view": {"stroke": "#cccccc"},
}


def kind(spec: dict) -> str:
    """Which DVC template made `spec`: DVC's JSON does not say, its shape does."""
    if "facet" in spec and "spec" in spec:
        return "confusion"
    mark = spec.get("mark")
    if (mark.get("type") if isinstance(mark, dict) else mark) == "bar":
        return "bar"
    if "layer" in spec and spec.get("encoding", {}).get("x", {}).get("type") == "quantitative":
        return "linear"
    return "other"


def bar(spec: dict, rows: list[dict], revs: list[str]) -> dict:
    enc = spec["encoding"]
    horizontal = enc["y"].get("type") == "nominal"
    value, label = (enc["x"], enc["y"]) if horizontal else (enc["y"], enc["x"])
    data = [
        {"label": str(r[label["field"]]), "value": float(r[value["field"]]), "rev": r["rev"]} for r in rows
    ]
    # evaluate's rows read "set/bucket (model)": the bucket on the axis, the model by colour.
    split = [re.fullmatch(r"(.*) \(([^()]+)\)", d["label"]) for d in data]
    group = "rev"
    if len(revs) == 1 and data and all(split):
        for d, m in zip(data, split, strict=True):
            d["label"], d["model"] = m.group(1), m.group(2)
        group = "model"
    groups = list(dict.fromkeys(d[group] for d in data))
    rate = all(0 <= d["value"] <= 1 for d in data)
    fmt = ".0%" if rate else ".3~g"
    encoding = {
        "y": {
            "field": "label",
            "type": "nominal",
            "title": label.get("title") or label["field"],
            "sort": None,
            "axis": {"grid": False},
        },
        "x": {
            "field": "value",
            "type": "quantitative",
            "title": value.get("title") or value["field"],
            "scale": {"domain": [0, 1]} if rate else {"zero": True},
            "axis": {"format": fmt, "tickCount": 5},
        },
        "yOffset": {"field": group, "sort": groups},
        "color": {
            "field": group,
            "type": "nominal",
            "title": None if group == "model" else "revision",
            "sort": groups,
            "scale": {"domain": groups, "range": PALETTE[: len(groups)]},
        },
    }
    text = {"type": "text", "align": "left", "dx": 3, "fontSize": 10}
    return {
        "title": title_of(spec),
        "width": 440,
        "height": {"step": 14},  # per bar: with yOffset the step sizes the inner band
        "data": {"values": data},
        "encoding": encoding,
        "layer": [
            {"mark": "bar"},
            {
                "mark": text,
                "encoding": {"text": {"field": "value", "format": fmt}, "color": {"value": "#333333"}},
            },
        ],
    }


def confusion(spec: dict, rows: list[dict], revs: list[str]) -> dict:
    enc = spec["spec"]["encoding"]
    x, y = enc["x"], enc["y"]
    keys = [x["field"], y["field"]] + (["rev"] if len(revs) > 1 else [])
    cells = {
        "width": 240,
        "height": 240,
        "encoding": {
            "x": {
                "field": x["field"],
                "type": "nominal",
                "title": x.get("title") or x["field"],
                "axis": {"labelAngle": 0, "grid": False},
            },
            "y": {
                "field": y["field"],
                "type": "nominal",
                "title": y.get("title") or y["field"],
                "axis": {"grid": False},
            },
        },
        "layer": [
            {
                "mark": "rect",
                "encoding": {
                    "color": {
                        "field": "count",
                        "type": "quantitative",
                        "title": "count",
                        "scale": {"scheme": "blues"},
                    }
                },
            },
            {
                "mark": {"type": "text", "fontSize": 13},
                "encoding": {
                    "text": {"field": "count", "type": "quantitative"},
                    "color": {
                        "condition": {"test": "datum.count > datum.most / 2", "value": "white"},
                        "value": "black",
                    },
                },
            },
        ],
    }
    counting = [
        {"aggregate": [{"op": "count", "as": "count"}], "groupby": keys},
        {"joinaggregate": [{"op": "max", "field": "count", "as": "most"}]},
    ]
    values = {"values": [{k: r.get(k) for k in (*keys, "rev")} for r in rows]}
    if len(revs) > 1:
        return {
            "title": title_of(spec),
            "data": values,
            "transform": counting,
            "facet": {"column": {"field": "rev", "title": None, "sort": revs}},
            "spec": cells,
        }
    return {"title": title_of(spec), "data": values, "transform": counting, **cells}


STYLES = {"linear": linear, "bar": bar, "confusion": confusion}


def chart(spec: dict, revs: list[str]) -> dict | None:
    """A Vega-Lite spec for a still image of DVC's `spec`, or None when there is nothing to draw."""
    rows = spec.get("data", {}).get("values", [])
    if not rows:
        return None
    style = STYLES.get(kind(spec))
    if style is None:  # a template this module does not know: DVC's own spec, drawn as it is
        return spec
    drawn = style(spec, rows, revs)
    return None if drawn is None else {**drawn, "config": CONFIG}


def svg(vega_lite: dict) -> str:
    import vl_convert

    version = DVC_VEGA_LITE if vega_lite.get("$schema", "").endswith("/v5.json") else None
    return vl_convert.vegalite_to_svg(vega_lite, vl_version=version)
