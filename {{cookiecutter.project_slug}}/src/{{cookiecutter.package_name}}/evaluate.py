"""Evaluate stage: the base model and the fine-tuned model on the same test and golden sets.

    python -m PACKAGE.evaluate --base models/base --model models/merged \
        --test data/split/test.jsonl --golden data/golden --out reports/evaluate \
        --plots plots/evaluate --metrics metrics/evaluate.json

Baseline first: both models answer every item (greedily unless `evaluate.do_sample`) of the
test and golden sets and of any `evaluate.extra_sets` through the chat template, and each
answer is judged by the item's check (see evals/checks.py). The metrics hold pass rates overall, per
bucket and per risk tier for each model and set, optional run-to-run consistency, and the gate
verdict with its reasons. Every answer is in `predictions.jsonl`; `report.md` has the
per-bucket tables and the failures grouped by bucket and reason.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

from . import params as params_mod
from .data.chat import check_conversation, prompt_and_reference
from .data.jsonl import JsonlError, parse, read_lines, write_json, write_jsonl
from .evals.checks import CheckError, judge, parse_check
from .evals.gating import check_gate
from .evals.reports import bucket_plot, confusion_plot, markdown_report
from .evals.scoring import normalize_answer, summarize
from .lineage import resolve


class EvalSpecError(ValueError):
    """A malformed eval item; the message starts with file:line."""


def load_items(path: Path, default_check: str) -> list[dict]:
    """Eval items with their parsed check, validated before any model is loaded."""
    items = []
    for file, number, raw in read_lines(path):
        where = f"{file}:{number}"
        try:
            row = parse(where, raw)
        except JsonlError as e:
            raise EvalSpecError(str(e)) from None
        problem = check_conversation(row)
        if problem:
            raise EvalSpecError(f"{where}: {problem[1]}")
        meta = row.get("meta") or {}
        try:
            check = parse_check(meta.get("check", default_check))
        except CheckError as e:
            raise EvalSpecError(f"{where}: {e}") from e
        items.append(
            {"id": str(row.get("id", where)), "messages": row["messages"], "meta": meta, "check": check}
        )
    return items


def generate(
    model, tokenizer, prompts: list[list[dict]], p: params_mod.EvaluateParams, sample=False
) -> list[dict]:
    """Batched answers with left padding; `stopped` says the model ended its turn."""
    import torch

    tokenizer.padding_side = "left"
    if sample:  # the consistency runs
        settings = {"do_sample": True, "temperature": p.consistency.temperature}
    else:
        settings = {"do_sample": p.do_sample, **({"temperature": p.temperature} if p.do_sample else {})}
    answers = []
    for i in range(0, len(prompts), p.batch_size):
        batch = tokenizer.apply_chat_template(
            prompts[i : i + p.batch_size],
            add_generation_prompt=True,
            tokenize=True,
            padding=True,
            return_tensors="pt",
            return_dict=True,
        )
        with torch.no_grad():
            out = model.generate(**batch.to(model.device), max_new_tokens=p.max_new_tokens, **settings)
        for row in out[:, batch["input_ids"].shape[1] :].tolist():
            stopped = tokenizer.eos_token_id in row
            row = row[: row.index(tokenizer.eos_token_id)] if stopped else row
            answers.append({"text": tokenizer.decode(row, skip_special_tokens=True), "stopped": stopped})
    return answers


def consistency(model, tokenizer, prompts: list[list[dict]], p: params_mod.EvaluateParams) -> dict:
    """Answer each prompt K times with sampling: how often do the answers agree?"""
    runs = [generate(model, tokenizer, prompts, p, sample=True) for _ in range(p.consistency.samples)]
    modal_shares, all_agree = [], 0
    for answers in zip(*runs, strict=True):
        counts = Counter(normalize_answer(a["text"]) for a in answers)
        top = counts.most_common(1)[0][1]
        modal_shares.append(top / len(answers))
        all_agree += top == len(answers)
    n = max(1, len(modal_shares))
    return {
        "samples": p.consistency.samples,
        "temperature": p.consistency.temperature,
        "agreement": round(sum(modal_shares) / n, 4),
        "all_agree_rate": round(all_agree / n, 4),
    }


def run_model(label: str, name: str, revision: str | None, sets: dict, p: params_mod.EvaluateParams):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(p.seed)
    tokenizer = AutoTokenizer.from_pretrained(name, revision=revision)
    if tokenizer.pad_token is None:  # e.g. Llama 3: batched generation needs a pad token
        tokenizer.pad_token = tokenizer.eos_token
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = AutoModelForCausalLM.from_pretrained(name, revision=revision).to(device).eval()
    summaries, predictions = {}, []
    for set_name, items in sets.items():
        prompts, references = [], []
        for item in items:
            prompt, reference = prompt_and_reference(item)
            prompts.append(prompt)
            references.append(reference)
        results = []
        answers = generate(model, tokenizer, prompts, p)
        for item, prompt, ref, answer in zip(items, prompts, references, answers, strict=True):
            passed, reason, detail = judge(item["check"], answer["text"], ref, p.refusal_patterns)
            results.append(
                {
                    "model": label,
                    "set": set_name,
                    "id": item["id"],
                    "request": prompt[-1]["content"],
                    "bucket": item["meta"].get("bucket"),
                    "risk": item["meta"].get("risk"),
                    "check": item["check"]["type"],
                    "reference": ref,
                    "prediction": answer["text"],
                    "stopped": answer["stopped"],
                    "passed": passed,
                    "reason": reason,
                    "detail": detail,
                }
            )
        summary = summarize(results)
        summary["stopped_rate"] = round(sum(r["stopped"] for r in results) / max(1, len(results)), 4)
        if p.consistency.samples >= 2 and prompts:
            summary["consistency"] = consistency(model, tokenizer, prompts, p)
        summaries[set_name] = summary
        predictions += results
    return summaries, predictions


def main(
    p: params_mod.EvaluateParams,
    base_dir: Path,
    model: Path,
    sets: dict[str, Path],
    out: Path,
    plots: Path,
    metrics: Path,
) -> dict:
    start = time.time()
    items = {name: load_items(path, p.default_check) for name, path in sets.items()}
    name, revision = resolve(base_dir)
    report, predictions = {}, []
    for label, (path, rev) in (("base", (name, revision)), ("finetuned", (str(model), None))):
        report[label], preds = run_model(label, path, rev, items, p)
        predictions += preds
    report["delta"] = {
        s: round(report["finetuned"][s]["pass_rate"] - report["base"][s]["pass_rate"], 4) for s in items
    }
    if p.judge.enabled:
        from .evals.modeljudge import pairwise

        report["judge"] = pairwise(predictions, p.judge)
    reasons = check_gate(report, p.gate)
    report["gate"] = {"passed": not reasons, "reasons": reasons}
    report["seconds"] = round(time.time() - start, 1)
    write_json(metrics, report)
    write_jsonl(out / "predictions.jsonl", predictions)
    (out / "report.md").write_text(markdown_report(report, predictions), encoding="utf-8")
    write_json(plots / "buckets.json", {"buckets": bucket_plot(report)})
    write_json(plots / "confusion.json", {"confusion": confusion_plot(predictions, p.classification_buckets)})
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Evaluate base and fine-tuned models per bucket.")
    parser.add_argument("--base", type=Path, required=True)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--test", type=Path, required=True)
    parser.add_argument("--golden", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--plots", type=Path, required=True)
    parser.add_argument("--metrics", type=Path, required=True)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    args = parser.parse_args()
    try:
        p = params_mod.load(args.params).evaluate
        extra = {name: Path(path) for name, path in p.extra_sets.items()}
        sets = {"test": args.test, "golden": args.golden, **extra}
        r = main(p, args.base, args.model, sets, args.out, args.plots, args.metrics)
    except (params_mod.ParamsError, EvalSpecError, FileNotFoundError) as e:
        sys.exit(f"evaluate: {e}")
    for s in ("test", "golden"):
        base_rate, tuned_rate = r["base"][s]["pass_rate"], r["finetuned"][s]["pass_rate"]
        print(f"evaluate: {s}: base {base_rate:.2f} -> fine-tuned {tuned_rate:.2f}")
    print(
        "evaluate: gate "
        + ("passed" if r["gate"]["passed"] else "FAILED: " + "; ".join(r["gate"]["reasons"]))
    )
