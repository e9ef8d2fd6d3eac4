"""Evaluate stage: the base model and the fine-tuned model on the same test and golden sets.

    python -m PACKAGE.evaluate --base models/base --model models/merged \
        --test data/split/test.jsonl --golden data/golden --out reports/evaluate \
        --metrics metrics/evaluate.json

Baseline first: both models answer every item greedily with the chat template, and the metrics
hold overall, per-bucket and per-risk pass rates for each. Every prediction is kept in
`predictions.jsonl`; `report.md` has the per-bucket tables.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from . import params as params_mod
from .base import resolve
from .chat import prompt_and_reference
from .jsonl import read_jsonl, write_json, write_jsonl
from .scoring import bucket_table, passes, summarize


def generate(model, tokenizer, prompts: list[list[dict]], p: params_mod.EvaluateParams) -> list[dict]:
    """Greedy answers, batched with left padding; `stopped` says the model ended its turn."""
    import torch

    tokenizer.padding_side = "left"
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
            out = model.generate(**batch, max_new_tokens=p.max_new_tokens, do_sample=False)
        for row in out[:, batch["input_ids"].shape[1] :].tolist():
            stopped = tokenizer.eos_token_id in row
            row = row[: row.index(tokenizer.eos_token_id)] if stopped else row
            answers.append({"text": tokenizer.decode(row, skip_special_tokens=True), "stopped": stopped})
    return answers


def run_model(label: str, name: str, revision: str | None, sets: dict, p: params_mod.EvaluateParams):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(name, revision=revision)
    model = AutoModelForCausalLM.from_pretrained(name, revision=revision).eval()
    summaries, predictions = {}, []
    for set_name, rows in sets.items():
        prompts, references = zip(*(prompt_and_reference(r) for r in rows), strict=True) if rows else ((), ())
        results = []
        for row, ref, answer in zip(
            rows, references, generate(model, tokenizer, list(prompts), p), strict=True
        ):
            meta = row.get("meta", {})
            results.append(
                {
                    "model": label,
                    "set": set_name,
                    "id": row["id"],
                    "bucket": meta.get("bucket"),
                    "risk": meta.get("risk"),
                    "reference": ref,
                    "prediction": answer["text"],
                    "stopped": answer["stopped"],
                    "passed": passes(answer["text"], ref, p.match),
                }
            )
        summaries[set_name] = summarize(results)
        summaries[set_name]["stopped_rate"] = round(
            sum(r["stopped"] for r in results) / max(1, len(results)), 4
        )
        predictions += results
    return summaries, predictions


def main(
    p: params_mod.EvaluateParams,
    base_dir: Path,
    model: Path,
    test: Path,
    golden: Path,
    out: Path,
    metrics: Path,
) -> dict:
    start = time.time()
    sets = {"test": list(read_jsonl(test)), "golden": list(read_jsonl(golden))}
    name, revision = resolve(base_dir)
    report, predictions = {}, []
    for label, (path, rev) in (("base", (name, revision)), ("finetuned", (str(model), None))):
        report[label], preds = run_model(label, path, rev, sets, p)
        predictions += preds
    report["delta"] = {
        s: round(report["finetuned"][s]["pass_rate"] - report["base"][s]["pass_rate"], 4) for s in sets
    }
    report["seconds"] = round(time.time() - start, 1)
    write_json(metrics, report)
    write_jsonl(out / "predictions.jsonl", predictions)
    tables = "\n\n".join(bucket_table(report, s) for s in sets)
    (out / "report.md").write_text(f"# Evaluation: base vs fine-tuned\n\n{tables}\n", encoding="utf-8")
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Evaluate base and fine-tuned models per bucket.")
    parser.add_argument("--base", type=Path, required=True)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--test", type=Path, required=True)
    parser.add_argument("--golden", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--metrics", type=Path, required=True)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    args = parser.parse_args()
    try:
        r = main(
            params_mod.load(args.params).evaluate,
            args.base,
            args.model,
            args.test,
            args.golden,
            args.out,
            args.metrics,
        )
    except (params_mod.ParamsError, ValueError) as e:
        sys.exit(f"evaluate: {e}")
    for s in ("test", "golden"):
        base_rate, tuned_rate = r["base"][s]["pass_rate"], r["finetuned"][s]["pass_rate"]
        print(f"evaluate: {s}: base {base_rate:.2f} -> fine-tuned {tuned_rate:.2f}")
