"""The project's DVC plots as still images: Vega-Lite specs drawn to SVG by vl-convert.

`dvc plots show/diff --json` gives every plot of dvc.yaml with its data inlined and DVC's
interactive template around it (LOESS slider, hover rules, revisions told apart by colour and
files by dash). `chart()` rebuilds each one for a picture that is read without a mouse: series
by colour with a legend, revisions by dash, grid lines, a bounded number of round ticks, rates on
a 0-100 % axis with the value printed on each bar, counts in the cells of a confusion matrix.
`svg()` draws it with vl-convert (Vega in an embedded JavaScript engine: no browser, no Node,
no network). Used by `python -m PACKAGE.plots` and by `compare` for the pull-request comment.
"""

from __future__ import annotations

import re

PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]
DASHES = [[1, 0], [6, 3], [2, 2], [8, 3, 2, 3]]
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
DOTS_UP_TO = 60  # points per curve below which each point is marked (sparse eval curves)


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


def title_of(spec: dict) -> str:
    """DVC titles a file's plot with its path: keep what names the metric (`eval/loss`)."""
    title = spec.get("title")
    text = title.get("text", "") if isinstance(title, dict) else str(title or "")
    if re.search(r"\.(tsv|csv|json|jsonl|yaml)$", text):
        text = re.sub(r"\.\w+$", "", text.split("/metrics/", 1)[-1])
    return text


def series_names(files: list[str]) -> dict[str, str]:
    """dvclive writes a file per metric, eval ones under `eval/`: loss.tsv -> train, eval/loss.tsv -> eval."""
    stems = {f: re.sub(r"\.\w+$", "", f) for f in files}
    if len({s.rsplit("/", 1)[-1] for s in stems.values()}) == 1 and len(files) > 1:
        return {f: (s.rsplit("/", 1)[0] if "/" in s else "train") for f, s in stems.items()}
    return stems


def number_format(values: list[float]) -> str:
    return "d" if all(v.is_integer() for v in values) else ".3~g"


def y_field(spec: dict) -> tuple[str, str]:
    for layer in [spec, *spec.get("layer", [])]:
        y = layer.get("encoding", {}).get("y")
        if y and "field" in y:
            return y["field"], y.get("title") or y["field"]
    raise ValueError("a linear plot without a y field")


def linear(spec: dict, rows: list[dict], revs: list[str]) -> dict | None:
    x = spec["encoding"]["x"]
    y, y_title = y_field(spec)
    names = series_names(sorted({r.get("filename", "") for r in rows}))
    data = [
        {
            "x": float(r[x["field"]]),
            "y": float(r[y]),
            "series": names[r.get("filename", "")] or y,
            "rev": r["rev"],
        }
        for r in rows
        if r.get(x["field"]) not in (None, "") and r.get(y) not in (None, "")
    ]
    if len({d["x"] for d in data}) < 2:
        return None  # a single value (a runtime, a total) is a number, not a curve
    series = sorted({d["series"] for d in data}, key=lambda s: (s != "train", s))
    colour_by = "series" if len(series) > 1 or len(revs) == 1 else "rev"
    domain = series if colour_by == "series" else revs
    encoding = {
        "x": {
            "field": "x",
            "type": "quantitative",
            "title": x.get("title") or x["field"],
            "axis": {"tickCount": 8, "tickMinStep": 1, "format": number_format([d["x"] for d in data])},
        },
        "y": {
            "field": "y",
            "type": "quantitative",
            "title": y_title,
            "axis": {"tickCount": 6, "format": ".3~g"},
            "scale": {"zero": False},
        },
        "color": {
            "field": colour_by,
            "type": "nominal",
            "title": None if colour_by == "series" else "revision",
            "scale": {"domain": domain, "range": PALETTE[: len(domain)]},
            "legend": {"symbolType": "stroke", "symbolStrokeWidth": 3} if len(domain) > 1 else None,
        },
    }
    if colour_by == "series" and len(revs) > 1:
        encoding["strokeDash"] = {
            "field": "rev",
            "type": "nominal",
            "title": "revision",
            "scale": {"domain": revs, "range": DASHES[: len(revs)]},
            "legend": {"symbolType": "stroke", "symbolStrokeColor": "#444444"},
        }
    layers: list[dict] = [{"mark": {"type": "line", "strokeWidth": 2}}]
    longest = max(
        sum(1 for d in data if (d["series"], d["rev"]) == key)
        for key in {(d["series"], d["rev"]) for d in data}
    )
    if longest <= DOTS_UP_TO:
        # the dots stay out of the dash legend, which would otherwise show their (empty) outline
        layers.append(
            {
                "mark": {"type": "point", "filled": True, "size": 18},
                "encoding": {"strokeDash": {"value": [1, 0]}},
            }
        )
    return {
        "title": title_of(spec),
        "width": 520,
        "height": 280,
        "data": {"values": data},
        "encoding": encoding,
        "layer": layers,
    }


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
