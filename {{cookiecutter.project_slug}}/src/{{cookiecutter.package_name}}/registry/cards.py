"""Every card this project writes: the merged model's, a release's model card, its data card.

Both model cards are Hugging Face model cards (`huggingface_hub.ModelCard`: YAML front matter
from `ModelCardData`, then Markdown), with the base model and revision a Hub page links to.
Merge writes `models/merged/README.md` next to the weights before evaluate has run: lineage,
training results, the merge check. Release writes `releases/<version>.md` from the metrics the
gate decided on (the tables of evaluate's report.md, gate verdict, consistency, human review,
cost, lineage) and `releases/<version>.data.md` (where the data came from and what the pipeline
did to it: formats, quarantine reasons, PII, buckets, splits, decontamination, coverage).
"""

from __future__ import annotations

import json

import yaml

PROBES = "general"  # general-skill probes: is anything forgotten? Not the task the model is for.


def _card(body: str, base: dict, method: str, **extra: str) -> str:
    """`body` under the front matter the Hub reads: base model and revision, library, tags."""
    from huggingface_hub import ModelCard, ModelCardData

    data = ModelCardData(
        base_model=base["model"],
        base_model_revision=base["revision"],
        library_name="transformers",
        tags=["fine-tuned", method],
        **extra,
    )
    return str(ModelCard(f"---\n{data.to_yaml()}\n---\n{body}"))


def _lineage(outs: dict[str, str]) -> str:
    rows = "".join(f"| `{path}` | `{md5}` |\n" for path, md5 in outs.items())
    return f"## Lineage (dvc.lock)\n\n| output | md5 |\n|---|---|\n{rows}"


def merged_card(info: dict, base: dict, commit: str, outs: dict[str, str], merge_report: dict) -> str:
    """The card next to the merged weights: where the model came from and how it was checked."""
    results, merged = info.get("results", {}), merge_report["merged"]
    body = f"""# Fine-tuned model (merged)

Fine-tuned from **{base["model"]}** at revision `{base["revision"]}` with **{info["method"]}**,
trained and merged in **{info["dtype"]}**. Code at commit `{commit}`.

{_lineage(outs)}
## Training

- mean train loss over the run {results.get("train_loss")}, validation loss {results.get("eval_loss")}
- DPO: {json.dumps(results.get("dpo") or "not run")}
- merge check: merged logits within {merged["max_rel_diff"]:.1e} of the trained model's
  (relative to their scale; tolerance {merge_report["rtol"]}), top-1 agreement
  {merged["top1_agreement"]:.3f}

```yaml
{yaml.safe_dump(info.get("params", {}), sort_keys=False).strip()}
```

Evaluation per bucket and risk tier: `metrics/evaluate.json` and `reports/evaluate/report.md` of
the same commit; a released version's full record is `releases/<version>.json`.
"""
    return _card(body, base, info["method"])


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


def model_card(record: dict, evaluate: dict, evaluation: str) -> str:
    """A release's card; `evaluation` is the tables of evaluate's report (views/tables.evaluation_tables)."""
    base, gate, version = record["base_model"], record["gate"], record["version"]
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
    body = f"""# {record["model"]} {version}

Fine-tuned from **{base["model"]}** (revision `{base["revision"]}`), code and data at commit
`{record["git_commit"]}`. Method: `{method}`.
Released by {record["released_by"]} on {record["released_at"]}.

## Gate: {verdict}

{reasons or "All thresholds of `evaluate.gate` hold."}
Weakest task bucket: {_weakest(evaluate)}. Consistency of sampled golden answers: {agreement}.

## Evaluation: base, prompted base and fine-tuned, same items

{evaluation}

## Human review

{_review_text(review)}

## Cost

{_cost_text(cost)}

{_lineage(record["dvc_lock_outs"])}
Data card: `releases/{version}.data.md`. Monitoring and rollback trigger:
`releases/{version}.monitoring.yaml`. Full record: `releases/{version}.json`.
"""
    return _card(body, base, method, model_version=version)


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
