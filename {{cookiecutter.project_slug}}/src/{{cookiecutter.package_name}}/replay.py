"""Replay stage: the base model's own answers to general prompts, for training to keep its skills.

    python -m PACKAGE.replay --base models/base --prompts data/replay_prompts.jsonl \
        --out data/replay --metrics metrics/replay.json

Self-distillation against forgetting: the base model answers the prompts of
data/replay_prompts.jsonl (copying, counting, comparing, greeting, sums, capitals, everyday
instructions), greedily through its own chat template, and train mixes these answers into the
task's rows (`train.mix.replay`), so the adapter learns the task without unlearning what the
base model did before. Offline, and cached by DVC: it runs again only when the base model, the
prompts or `replay` params change. The prompts are disjoint from evaluate's general-skill probes
by construction (other words, names, countries and number ranges, other phrasings), so the
probes still measure forgetting rather than memory; tests check it. An answer that did not end
with the end-of-turn token within `replay.max_new_tokens`, or is empty, is left out and counted:
training on a cut answer would teach the model to stop mid-sentence.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from . import chatter
from .data.chat import check_conversation
from .data.jsonl import read_records, write_json, write_jsonl
from .errors import UserError, reported
from .evals import generation
from .lineage import resolve
from .params import replay as params_mod
from .progress import Progress


def read_prompts(file: Path) -> list[dict]:
    prompts = []
    for at, row in read_records(file):
        problem = check_conversation(row, final_assistant=False)
        if problem or row["messages"][-1]["role"] != "user":
            why = problem[1] if problem else "the last message must be the user's"
            raise UserError(f"{at}: {why}; expected a conversation that ends with a user turn")
        prompts.append(row)
    if not prompts:
        raise UserError(f"{file}: no prompts; replay needs at least one")
    return prompts


def main(p: params_mod.ReplayParams, base_dir: Path, prompts_file: Path, out: Path, metrics: Path) -> dict:
    start = time.time()
    prompts = read_prompts(prompts_file)
    name, revision = resolve(base_dir)
    model, tokenizer = generation.load(name, revision, seed=0, stage="replay")
    progress = Progress("replay: base model answers", total=len(prompts))
    answers = generation.generate(
        model,
        tokenizer,
        [row["messages"] for row in prompts],
        p.max_new_tokens,
        p.batch_size,
        progress=progress,
    )
    progress.finish()
    kept = [
        {
            "id": row.get("id"),
            "messages": [*row["messages"], {"role": "assistant", "content": answer["text"].strip()}],
            "meta": {**(row.get("meta") or {}), "bucket": "replay", "source": "replay"},
        }
        for row, answer in zip(prompts, answers, strict=True)
        if answer["stopped"] and answer["text"].strip()
    ]
    write_jsonl(out / "replay.jsonl", kept)
    report = {
        "prompts": len(prompts),
        "kept": len(kept),
        "left_out_unfinished": sum(not a["stopped"] for a in answers),
        "left_out_empty": sum(a["stopped"] and not a["text"].strip() for a in answers),
        "seconds": round(time.time() - start, 1),
    }
    write_json(metrics, report)
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="The base model's answers to general prompts (replay data).")
    parser.add_argument("--base", type=Path, required=True)
    parser.add_argument("--prompts", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--metrics", type=Path, required=True)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    args = parser.parse_args()
    with reported("replay"):
        chatter.to_log("replay")
        r = main(params_mod.load(args.params), args.base, args.prompts, args.out, args.metrics)
    print(
        f"replay: kept {r['kept']} of {r['prompts']} answers ({r['left_out_unfinished']} unfinished left out)"
    )
