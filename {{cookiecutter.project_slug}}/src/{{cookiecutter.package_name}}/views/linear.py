"""Training curves from DVC's linear plots as a still image: series by colour, revisions by dash.

dvclive writes one TSV per metric (`loss.tsv`, `eval/loss.tsv`, `learning_rate.tsv`); DVC's
`linear` template tells revisions apart by colour and files by dash, smooths with a LOESS slider
and shows points on hover. `linear()` rebuilds it for a picture: the series (train, eval) by
colour with a legend, revisions by dash pattern, every point marked on sparse curves, whole
numbers on the step axis, grid lines. views/charts.py dispatches to it and draws the result.
"""

from __future__ import annotations

import re

PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]
DASHES = [[1, 0], [6, 3], [2, 2], [8, 3, 2, 3]]
DOTS_UP_TO = 60  # points per curve below which each point is marked (sparse eval curves)


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
