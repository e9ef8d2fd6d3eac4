"""The cards a release writes: the model card (with its evaluation) and the data card.

Merge writes a card next to the weights before evaluate has run; the card a reader of a release
needs is written by release, from the metrics the gate decided on: `releases/<version>.md`
(Hugging Face front matter; the tables of evaluate's report.md, from evals/reports.py: base,
base with the few-shot prompt and fine-tuned model per bucket, risk tier and tool; gate verdict,
consistency, human review, cost, lineage) and `releases/<version>.data.md` (where the data came
from and what the pipeline did to it: formats, quarantine reasons, PII, buckets, splits,
decontamination, coverage per knowledge point).
"""

from __future__ import annotations

from ..evals import reports

PROBES = "general"  # general-skill probes: is anything forgotten? Not the task the model is for.


def results_tables(evaluate: dict) -> str:
    """The tables of report.md: per set, bucket, risk tier and tool, base and prompted base vs fine-tuned.

    The task's sets come first, the general-skill probes last: a reader looks for the task."""
    order = sorted(evaluate["finetuned"], key=lambda eval_set: eval_set == PROBES)
    evaluate = {**evaluate, "finetuned": {s: evaluate["finetuned"][s] for s in order}}
    return "\n\n".join(filter(None, [reports.baselines_note(evaluate), *reports.results_tables(evaluate)]))


def _weakest(evaluate: dict) -> str:
    buckets = [
        (stats["pass_rate"], f"{eval_set}/{name}")
        for eval_set, tuned in evaluate["finetuned"].items()
        if eval_set != PROBES
        for name, stats in tuned.get("by_bucket", {}).items()
    ]
    if not buckets:
        return "no per-bucket results"
    rate, name = min(buckets)
    return f"{name} at {rate:.2f}"


def _agreement_text(agreement: dict | None) -> str:
    """Reviewers' agreement on the A/B verdicts, as a sentence."""
    ab = (agreement or {}).get("ab")
    if not ab:
        return "agreement not measured (no item judged by two reviewers)"
    kappa = "" if ab.get("kappa") is None else f", Cohen's kappa {ab['kappa']:.2f}"
    shared = f"{ab['shared_items']} shared items" if "shared_items" in ab else "the items they shared"
    return f"reviewers agree on {ab['raw']:.0%} of {shared}{kappa}"


def model_card(record: dict, evaluate: dict) -> str:
    base, gate = record["base_model"], record["gate"]
    verdict = "PASSED" if gate["passed"] else "FAILED"
    reasons = "".join(f"- {r}\n" for r in gate.get("reasons", []))
    consistency = evaluate["finetuned"].get("golden", {}).get("consistency")
    agreement = (
        f"agreement {consistency['agreement']:.2f} over {consistency.get('samples', '?')} samples per item"
        if consistency
        else "not measured"
    )
    method = record["params"].get("train", {}).get("method")
    review, cost = record.get("review") or {}, record.get("cost") or {}
    outs = "".join(f"| `{path}` | `{md5}` |\n" for path, md5 in record["dvc_lock_outs"].items())
    return f"""---
base_model: {base["model"]}
base_model_revision: {base["revision"]}
library_name: transformers
tags: [fine-tuned, {method}]
model_version: {record["version"]}
---
# {record["model"]} {record["version"]}

Fine-tuned from **{base["model"]}** (revision `{base["revision"]}`), code and data at commit
`{record["git_commit"]}`. Method: `{method}`.
Released by {record["released_by"]} on {record["released_at"]}.

## Gate: {verdict}

{reasons or "All thresholds of `evaluate.gate` hold."}
Weakest task bucket: {_weakest(evaluate)}. Consistency of sampled golden answers: {agreement}.

## Evaluation: base, prompted base and fine-tuned, same items

{results_tables(evaluate)}

## Human review

{_review_text(review)}

## Cost

{_cost_text(cost)}

## Lineage (dvc.lock)

| output | md5 |
|---|---|
{outs}
Data card: `releases/{record["version"]}.data.md`. Monitoring and rollback trigger:
`releases/{record["version"]}.monitoring.yaml`. Full record: `releases/{record["version"]}.json`.
"""


def _review_text(review: dict) -> str:
    if not review:
        return "No human review recorded for this version."
    if review.get("source") == "flag":
        return f"Signed off by {review['signed_off_by']} (`--signed-off-by`), no review sheet."
    ab = review.get("ab", {})
    return (
        f"{len(review.get('reviewers', []))} reviewer(s), {ab.get('votes', 0)} blind A/B verdicts: "
        f"fine-tuned win rate {ab.get('win_rate')}; {_agreement_text(review.get('agreement'))}."
    )


def _cost_text(cost: dict) -> str:
    if not cost:
        return "No cost metrics (`metrics/cost.json`)."
    inference, even = cost["inference_per_1k_requests"], cost["break_even"]
    when = (
        f"{even['requests']:,} requests ({even['days']} days)" if even.get("requests") else even.get("note")
    )
    return (
        f"Training ${cost['training']['usd']:.2f} ({cost['training']['source']}). Per 1,000 requests: "
        f"base with a few-shot prompt ${inference['base_few_shot']['usd']:.4f}, fine-tuned "
        f"${inference['finetuned']['usd']:.4f}. Break-even after {when}."
    )


def _counts(mapping: dict) -> str:
    return ", ".join(f"{k}: {v}" for k, v in mapping.items()) or "none"


def data_card(version: str, curate: dict, split: dict, decontaminate: dict, coverage_md: str) -> str:
    splits = "".join(
        f"| {name} | {split[name]['rows']} | {_counts(split[name].get('by_bucket', {}))} |\n"
        for name in ("train", "val", "test")
        if name in split
    )
    removed = "".join(
        f"| {name} | {stats['kept']} | {stats['removed']} |\n"
        for name, stats in decontaminate.items()
        if isinstance(stats, dict) and "kept" in stats
    )
    return f"""# Data card: {version}

## Intake (curate)

- rows in: {curate.get("rows_in")}; kept: {curate.get("kept")}; quarantined: {curate.get("quarantined")}
  (`data/curated/quarantine.jsonl`, each with file:line and reason)
- quarantined by reason: {_counts(curate.get("quarantined_by_reason", {}))}
- formats: {_counts(curate.get("rows_by_format", {}))}
- PII found (redacted or dropped per `curate.pii`): {_counts(curate.get("pii_found_by_type", {}))}
- kept by bucket: {_counts(curate.get("kept_by_bucket", {}))}
- knowledge points with too few cards: {", ".join(curate.get("coverage_flagged", [])) or "none"}

## Splits

| split | rows | by bucket |
|---|---:|---|
{splits}
## Decontamination (against test, golden and benchmarks)

| split | kept | removed |
|---|---:|---:|
{removed}
Removed by eval set: {_counts(decontaminate.get("removed_by_eval_set", {}))}.

## Coverage

{coverage_md.removeprefix("# Coverage by knowledge point").strip()}
"""
