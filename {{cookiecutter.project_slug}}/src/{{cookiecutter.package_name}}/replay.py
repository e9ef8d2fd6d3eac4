"""Replay stage: the base model's own answers to general prompts, for training to keep its skills.

    python -m PACKAGE.replay --base models/base --prompts data/replay_prompts.jsonl \
        --out data/replay --metrics metrics/replay.json

Self-distillation against forgetting: the base model answers the prompts of
data/replay_prompts.jsonl (copying, counting, comparing, greeting, sums, capitals, everyday
instructions), greedily through its own chat template, and train mixes these answers into the
task's rows (`train.mix.replay`), so the adapter learns the task without unlearning what the
base model did before. Offline, and cached by DVC: it runs again only when the base model, the
prompts or `replay` params change. Each skill is asked in evaluate's general-probe question forms
among others ("Next number after N"), since a skill a base model shows in one form only is held
only by replaying that form; but never with a probe's value (other words, names, countries and
number ranges), so the probes still measure forgetting rather than memory; tests check it. An
answer that did not end with the end-of-turn token within `replay.max_new_tokens`, or is empty,
is left out and counted: training on a cut answer would teach the model to stop mid-sentence.

Only what the base model does right is replayed: a prompt may carry `meta.check` (regex,
contains, not_contains or json, as in eval items: evals/checks.py), and an answer that fails it
is left out and counted. Where the greedy answer fails, `replay.samples` answers are sampled
and the first that passes is kept instead (rejection sampling: still the base model's own
answer, one it gives at `replay.temperature`). Replaying a wrong answer would teach the
fine-tuned model the base model's mistakes, in the phrasing of the replay prompt: measured on
SmolLM2, greetings replayed without the name taught it to stop greeting people by name on the
probes too.
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
from .evals.checks import CheckError, judge, parse_check
from .lineage import resolve
from .params import replay as params_mod
from .progress import Progress

NO_REFERENCE = ("exact", "normalized", "refusal")  # checks that compare with a reference answer


def read_prompts(file: Path) -> list[dict]:
    """The prompts, each with its parsed `check` (None: any finished answer is kept)."""
    prompts = []
    for at, row in read_records(file):
        problem = check_conversation(row, final_assistant=False)
        if problem or row["messages"][-1]["role"] != "user":
            why = problem[1] if problem else "the last message must be the user's"
            raise UserError(f"{at}: {why}; expected a conversation that ends with a user turn")
        spec = (row.get("meta") or {}).get("check")
        try:
            check = None if spec is None else parse_check(spec)
        except CheckError as e:
            raise UserError(f"{at}: {e}") from None
        if check is not None and check["type"] in NO_REFERENCE:
            raise UserError(
                f"{at}: meta.check.type {check['type']!r} needs a reference answer, which a replay prompt"
                " has not; expected regex, contains, not_contains or json"
            )
        prompts.append({**row, "check": check})
    if not prompts:
        raise UserError(f"{file}: no prompts; replay needs at least one")
    return prompts


def left_out(check: dict | None, answer: dict) -> str | None:
    """Why an answer is not replayed (unfinished, empty, wrong), or None when it is."""
    text = answer["text"].strip()
    if not answer["stopped"]:
        return "unfinished"
    if not text:
        return "empty"
    if check is not None and not judge(check, text, "", [])[0]:
        return "wrong"
    return None


def resample(
    p: params_mod.ReplayParams, model, tokenizer, prompts: list[dict], answers: list, why: list
) -> set[int]:
    """Rejection sampling: each checked prompt whose greedy answer was left out is sampled
    `p.samples` times at `p.temperature`, and the first sample that passes takes its place in
    `answers` (and `why`, in place). Returns the indices answered so."""
    import torch

    retry = [i for i, reason in enumerate(why) if reason is not None and prompts[i]["check"] is not None]
    if not retry or p.samples == 0:
        return set()
    torch.manual_seed(p.seed)
    progress = Progress("replay: samples for left-out answers", total=len(retry) * p.samples)
    samples = generation.generate(
        model,
        tokenizer,
        [prompts[i]["messages"] for i in retry for _ in range(p.samples)],
        p.max_new_tokens,
        p.batch_size,
        settings={"do_sample": True, "temperature": p.temperature},
        progress=progress,
    )
    progress.finish()
    found = set()
    for n, i in enumerate(retry):
        for answer in samples[n * p.samples : (n + 1) * p.samples]:
            if left_out(prompts[i]["check"], answer) is None:
                answers[i], why[i] = answer, None
                found.add(i)
                break
    return found


def by_skill(prompts: list[dict], why: list[str | None]) -> dict:
    """Answers kept of prompts asked, per `meta.skill`."""
    counts: dict[str, list[int]] = {}
    for row, reason in zip(prompts, why, strict=True):
        kept_asked = counts.setdefault(str((row.get("meta") or {}).get("skill", "-")), [0, 0])
        kept_asked[0] += reason is None
        kept_asked[1] += 1
    return {skill: f"{kept}/{asked}" for skill, (kept, asked) in sorted(counts.items())}


def main(p: params_mod.ReplayParams, base_dir: Path, prompts_file: Path, out: Path, metrics: Path) -> dict:
    start = time.time()
    prompts = read_prompts(prompts_file)
    name, revision = resolve(base_dir)
    model, tokenizer = generation.load(name, revision, seed=0, stage="replay")
    progress = Progress("replay: base model answers", total=len(prompts))
    messages = [row["messages"] for row in prompts]
    answers = generation.generate(
        model, tokenizer, messages, p.max_new_tokens, p.batch_size, progress=progress
    )
    progress.finish()
    why = [left_out(row["check"], answer) for row, answer in zip(prompts, answers, strict=True)]
    sampled = resample(p, model, tokenizer, prompts, answers, why)
    kept = [
        {
            "id": row.get("id"),
            "messages": [*row["messages"], {"role": "assistant", "content": answer["text"].strip()}],
            "meta": {
                **{k: v for k, v in (row.get("meta") or {}).items() if k != "check"},
                "bucket": "replay",
                "source": "replay",
                **({"sampled": True} if i in sampled else {}),
            },
        }
        for i, (row, answer, reason) in enumerate(zip(prompts, answers, why, strict=True))
        if reason is None
    ]
    write_jsonl(out / "replay.jsonl", kept)
    report = {
        "prompts": len(prompts),
        "kept": len(kept),
        "left_out_unfinished": why.count("unfinished"),
        "left_out_empty": why.count("empty"),
        "left_out_wrong": why.count("wrong"),
        "kept_sampled": len(sampled),
        "kept_by_skill": by_skill(prompts, why),
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
        f"replay: kept {r['kept']} of {r['prompts']} answers (left out:"
        f" {r['left_out_unfinished']} unfinished, {r['left_out_wrong']} failing their check)"
    )
