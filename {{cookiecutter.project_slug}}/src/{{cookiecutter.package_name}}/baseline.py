"""Baseline stage: the base model answers every eval set, as it is and prompted with solved examples.

    python -m PACKAGE.baseline --base models/base --test data/split/test.jsonl --golden data/golden \
        --train data/split/train.jsonl --out answers/baseline --metrics metrics/baseline.json

Baseline first: `base` is the base model zero-shot on test, golden, any `evaluate.extra_sets` and
the general-skill probes; `base_prompted` is the base model with solved train-split examples in
the prompt (evals/fewshot.py; not on the probes), the cheapest alternative to fine-tuning. Its
own stage, so a change of training never re-runs it: DVC re-runs it only when the base model,
the eval sets or the generation settings change. Answers go to OUT/answers.jsonl; evaluate
judges them beside the fine-tuned model's.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from . import chatter
from .data.jsonl import write_json, write_jsonl
from .errors import UserError, reported
from .evals import fewshot, generation
from .evals.sets import GENERAL, answer_sets, eval_paths, plain, read_sets
from .lineage import resolve
from .params import evaluate as params_mod


def examples_for(items: dict, train: Path | None, p: params_mod.EvaluateParams) -> list[dict] | None:
    """The prompted baseline's solved examples, never one of the eval prompts; None when it is off."""
    if not p.prompted.enabled:
        return None
    if train is None or not train.exists():
        raise UserError(f"evaluate.prompted needs the train split: --train {train} does not exist")
    asked = {fewshot.request_of(item["messages"][:-1]) for set_items in items.values() for item in set_items}
    return fewshot.pick_examples(train, p.prompted.shots, p.prompted.seed, exclude=asked)[0]


def main(
    p: params_mod.EvaluateParams,
    base_dir: Path,
    sets: dict[str, Path],
    train: Path | None,
    out: Path,
    metrics: Path,
) -> dict:
    start = time.time()
    items, _, _ = read_sets(sets, p)  # evaluate reports the rejected lines
    examples = examples_for(items, train, p)
    try:
        name, revision = resolve(base_dir)
    except FileNotFoundError as e:
        raise UserError(f"{base_dir} has no base model lineage ({e.filename}); run the base stage") from None
    lm, tok = generation.load(name, revision, p.seed, stage="baseline")
    records, _ = answer_sets("baseline: base", lm, tok, items, p)
    report: dict = {"sets": {s: len(v) for s, v in items.items()}}
    if examples is not None:
        fits, used = generation.prompt_fits(lm, tok, p.max_new_tokens), []

        def with_examples(item: dict) -> list[dict]:
            messages, n = fewshot.fit(plain(item), examples, p.prompted.instruction, fits)
            used.append(n)
            return messages

        task_sets = {k: v for k, v in items.items() if k != GENERAL}
        prompted, _ = answer_sets("baseline: base_prompted", lm, tok, task_sets, p, with_examples)
        records += prompted
        report["fewshot"] = {
            "shots": p.prompted.shots,
            "examples": len(examples),
            "examples_used_mean": round(sum(used) / max(1, len(used)), 2),
            "examples_used_min": min(used, default=0),
            "trimmed_items": sum(n < len(examples) for n in used),
        }
    report["seconds"] = round(time.time() - start, 1)
    write_jsonl(out / "answers.jsonl", records)
    write_json(metrics, report)
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="The base model's answers, zero-shot and prompted.")
    parser.add_argument("--base", type=Path, required=True)
    parser.add_argument("--test", type=Path, required=True)
    parser.add_argument("--golden", type=Path, required=True)
    parser.add_argument(
        "--train", type=Path, help="the train split: few-shot examples of the prompted baseline"
    )
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--metrics", type=Path, required=True)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    args = parser.parse_args()
    with reported("baseline"):
        chatter.to_log("baseline")
        p = params_mod.load(args.params)
        r = main(p, args.base, eval_paths(args.test, args.golden, p), args.train, args.out, args.metrics)
    shots = r.get("fewshot")
    if shots and shots["trimmed_items"]:
        print(
            f"baseline: base_prompted: {shots['trimmed_items']} prompt(s) left out examples to fit "
            "the context "
            f"({shots['examples_used_mean']} of {shots['examples']} examples on average)"
        )
    print(f"baseline: answered {', '.join(f'{s} {n}' for s, n in r['sets'].items())} in {r['seconds']} s")
