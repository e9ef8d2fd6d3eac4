"""What evaluate shows people: markdown tables, the failure report and the plot rows."""

from __future__ import annotations

from collections import defaultdict

from .scoring import normalize_answer

EXAMPLES_PER_GROUP = 3


def bucket_table(metrics: dict, eval_set: str) -> str:
    """Base vs fine-tuned pass rate per bucket on one eval set."""
    base, tuned = metrics["base"][eval_set], metrics["finetuned"][eval_set]
    lines = [f"| {eval_set} bucket | n | base | fine-tuned | delta |", "|---|---:|---:|---:|---:|"]
    rows = [("**all**", base, tuned)] + [
        (name, base["by_bucket"].get(name, {"pass_rate": 0.0}), tuned["by_bucket"][name])
        for name in tuned["by_bucket"]
    ]
    for name, b, t in rows:
        delta = t["pass_rate"] - b["pass_rate"]
        lines.append(f"| {name} | {t['n']} | {b['pass_rate']:.2f} | {t['pass_rate']:.2f} | {delta:+.2f} |")
    return "\n".join(lines)


def risk_table(metrics: dict, eval_set: str) -> str:
    base, tuned = metrics["base"][eval_set]["by_risk"], metrics["finetuned"][eval_set]["by_risk"]
    lines = [f"| {eval_set} risk tier | n | base | fine-tuned |", "|---|---:|---:|---:|"]
    for tier, t in tuned.items():
        lines.append(
            f"| {tier} | {t['n']} | {base.get(tier, {}).get('pass_rate', 0.0):.2f} | {t['pass_rate']:.2f} |"
        )
    return "\n".join(lines)


def failure_report(predictions: list[dict], model: str = "finetuned") -> str:
    """Failures grouped by set, bucket and reason, biggest group first, with a few examples."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for p in predictions:
        if p["model"] == model and not p["passed"]:
            groups[(p["set"], p["bucket"] or "_none", p["reason"])].append(p)
    if not groups:
        return "No failures."
    lines = []
    for (eval_set, bucket, reason), failed in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        lines.append(f"### {eval_set} / {bucket} / {reason}: {len(failed)}")
        for f in failed[:EXAMPLES_PER_GROUP]:
            lines.append(f"- `{f['id']}`: got {f['prediction']!r}; {f['detail']}")
    return "\n".join(lines)


def markdown_report(metrics: dict, predictions: list[dict]) -> str:
    sets = list(metrics["finetuned"])
    gate = metrics["gate"]
    verdict = "PASSED" if gate["passed"] else "FAILED"
    parts = ["# Evaluation: base vs fine-tuned", f"**Gate: {verdict}**"]
    parts += [f"- {r}" for r in gate["reasons"]]
    parts += [bucket_table(metrics, s) for s in sets] + [risk_table(metrics, s) for s in sets]
    parts += ["## Failures of the fine-tuned model", failure_report(predictions)]
    return "\n\n".join(parts) + "\n"


def bucket_plot(metrics: dict) -> list[dict]:
    """Rows for a bar chart of pass rate per set, bucket and model."""
    return [
        {"bucket": f"{s}/{bucket} ({model})", "pass_rate": stats["pass_rate"]}
        for s in metrics["finetuned"]
        for bucket in metrics["finetuned"][s]["by_bucket"]
        for model in ("base", "finetuned")
        if (stats := metrics[model][s]["by_bucket"].get(bucket))
    ]


def confusion_plot(predictions: list[dict], buckets: list[str]) -> list[dict]:
    """(actual, predicted) label pairs of the fine-tuned model for classification buckets.

    The labels of a bucket are its reference answers, matched as the normalized check matches
    them; any other answer counts as "other".
    """
    chosen = [p for p in predictions if p["model"] == "finetuned" and p["bucket"] in buckets]
    labels: dict[str, dict[str, str]] = defaultdict(dict)  # normalised answer -> label as written
    for p in chosen:
        labels[p["bucket"]][normalize_answer(p["reference"])] = p["reference"].strip()
    return [
        {
            "bucket": p["bucket"],
            "actual": p["reference"].strip(),
            "predicted": labels[p["bucket"]].get(normalize_answer(p["prediction"]), "other"),
        }
        for p in chosen
    ]
