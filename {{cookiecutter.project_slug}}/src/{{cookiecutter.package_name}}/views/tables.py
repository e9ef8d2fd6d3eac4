"""What evaluate shows people: markdown tables, the failure report and the plot rows."""

from __future__ import annotations

from collections import defaultdict

from ..data.texts import normalize_answer

EXAMPLES_PER_GROUP = 3
REJECTED_SHOWN = 20
BASELINES = ("base", "base_prompted")


def _cell(rate: float | None) -> str:
    return "–" if rate is None else f"{rate:.2f}"


def _rates(metrics: dict, eval_set: str, group: str, name: str | None) -> dict[str, float | None]:
    """Pass rate of each run on a set, overall (name None) or for one bucket/risk tier/tool."""
    rates: dict[str, float | None] = {}
    for run in (*BASELINES, "finetuned"):
        summary = metrics.get(run, {}).get(eval_set)
        entry = summary if summary is None or name is None else summary.get(group, {}).get(name)
        rates[run] = None if entry is None else entry["pass_rate"]
    return rates


def prompted_label(metrics: dict) -> str:
    """ "2-shot", and how many examples fit on average when the context left some out."""
    fewshot = metrics.get("fewshot", {})
    label = f"{fewshot.get('shots', 'k')}-shot"
    if fewshot.get("trimmed_items"):
        label += f", {fewshot['examples_used_mean']:.1f} of {fewshot['examples']} examples fit"
    return label


def comparison_table(metrics: dict, eval_set: str, group: str, title: str) -> str:
    """base | base (k-shot) | fine-tuned | delta vs the better baseline, overall and per group."""
    tuned, prompted = metrics["finetuned"][eval_set], prompted_label(metrics)
    lines = [
        f"| {eval_set} {title} | n | base | base ({prompted}) | fine-tuned | delta vs best baseline |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    rows = [("**all**", None, tuned["n"])] + [(n, n, e["n"]) for n, e in tuned.get(group, {}).items()]
    for label, name, n in rows:
        rates = _rates(metrics, eval_set, group, name)
        best = max((r for run, r in rates.items() if run in BASELINES and r is not None), default=None)
        delta = "–" if best is None else f"{rates['finetuned'] - best:+.2f}"
        cells = " | ".join(_cell(rates[run]) for run in (*BASELINES, "finetuned"))
        lines.append(f"| {label} | {n} | {cells} | {delta} |")
    return "\n".join(lines)


def tool_table(metrics: dict, eval_set: str) -> str | None:
    """Per tool: pass rates and why the fine-tuned model's calls failed."""
    tools = metrics["finetuned"][eval_set].get("by_tool")
    if not tools:
        return None
    lines = [
        f"| {eval_set} tool | n | base | fine-tuned | fine-tuned failures |",
        "|---|---:|---:|---:|---|",
    ]
    for name, entry in tools.items():
        rates = _rates(metrics, eval_set, "by_tool", name)
        failures = ", ".join(f"{reason} {count}" for reason, count in entry["failures"].items()) or "–"
        lines.append(
            f"| {name} | {entry['n']} | {_cell(rates['base'])} | {_cell(rates['finetuned'])} | {failures} |"
        )
    return "\n".join(lines)


def results_tables(metrics: dict) -> list[str]:
    """Every set's comparison per bucket, then per risk tier, then per tool: report.md and the model card.
    The must-hold golden set leads, then test, then any other set, the general probes last."""
    order = {"golden": 0, "test": 1, "general": 3}
    sets = sorted(metrics["finetuned"], key=lambda name: order.get(name, 2))
    tables = [comparison_table(metrics, s, "by_bucket", "bucket") for s in sets]
    tables += [comparison_table(metrics, s, "by_risk", "risk tier") for s in sets]
    return tables + [t for s in sets if (t := tool_table(metrics, s))]


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


def _where(record: dict) -> str:
    """file:line of a JSON Lines record, file[row n] of an array element or Parquet row."""
    if "line" in record:
        return f"{record['file']}:{record['line']}"
    return f"{record['file']}[row {record['row']}]"


def rejected_report(rejected: list[dict], path: str) -> str:
    lines = [f"## Rejected eval lines: {len(rejected)}", f"Every one, with its raw text, is in `{path}`."]
    lines += [
        f"- `{_where(r)}` ({r['set']}) {r['reason']}: {r['message']}" for r in rejected[:REJECTED_SHOWN]
    ]
    if len(rejected) > REJECTED_SHOWN:
        lines.append(f"- ... and {len(rejected) - REJECTED_SHOWN} more")
    return "\n".join(lines)


def judge_report(judge: dict) -> str:
    lines = ["## Pairwise judge: fine-tuned vs base"]
    if "error" in judge:
        lines.append(
            f"**The judge failed** after {judge['judged']} item(s); the evaluation is kept: {judge['error']}"
        )
    lines += ["| bucket | n | win | tie | loss | invalid | win rate |", "|---|---:|---:|---:|---:|---:|---:|"]
    for key, c in judge.items():
        if isinstance(c, dict):
            counts = " | ".join(str(c.get(k, 0)) for k in ("win", "tie", "loss", "invalid"))
            lines.append(f"| {key} | {c['n']} | {counts} | {c['win_rate']:.2f} |")
    return "\n".join(lines)


def baselines_note(metrics: dict) -> str | None:
    """What the two baseline columns are, when the prompted baseline ran."""
    if "fewshot" not in metrics:
        return None
    f = metrics["fewshot"]
    return (
        f"Baselines: the base model as it is, and with {f['examples']} solved train-split examples "
        f"({f['shots']} per bucket) in the prompt; {f['trimmed_items']} prompt(s) left some out to fit "
        f"the context ({f['examples_used_mean']:.1f} examples per prompt on average)."
    )


def evaluation_tables(metrics: dict) -> str:
    """The tables of report.md with the note on the baselines: what a release's model card shows.
    The task's sets come first, the general-skill probes last: a reader looks for the task."""
    order = sorted(metrics["finetuned"], key=lambda eval_set: eval_set == "general")
    metrics = {**metrics, "finetuned": {s: metrics["finetuned"][s] for s in order}}
    return "\n\n".join(filter(None, [baselines_note(metrics), *results_tables(metrics)]))


def markdown_report(metrics: dict, predictions: list[dict], rejected: list[dict]) -> str:
    gate = metrics["gate"]
    parts = ["# Evaluation: base vs fine-tuned", f"**Gate: {'PASSED' if gate['passed'] else 'FAILED'}**"]
    if gate["reasons"]:
        parts.append("\n".join(f"- {r}" for r in gate["reasons"]))
    if gate.get("tolerated"):
        parts.append("Tolerated by a looser per-set threshold (`gate.max_regression_by_set`):")
        parts.append("\n".join(f"- {note}" for note in gate["tolerated"]))
    if note := baselines_note(metrics):
        parts.append(note)
    parts += results_tables(metrics)
    if "judge" in metrics:
        parts.append(judge_report(metrics["judge"]))
    if rejected:
        parts.append(rejected_report(rejected, metrics.get("rejected_file", "rejected.jsonl")))
    parts += ["## Failures of the fine-tuned model", failure_report(predictions)]
    return "\n\n".join(parts) + "\n"


def bucket_plot(metrics: dict) -> list[dict]:
    """Rows for a bar chart of pass rate per set, bucket and run."""
    return [
        {"bucket": f"{s}/{bucket} ({model})", "pass_rate": stats["pass_rate"]}
        for s in metrics["finetuned"]
        for bucket in metrics["finetuned"][s]["by_bucket"]
        for model in (*BASELINES, "finetuned")
        if (stats := metrics.get(model, {}).get(s, {}).get("by_bucket", {}).get(bucket))
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
