"""The prompted baseline: the base model shown solved training examples before each eval item.

A fine-tune is only worth its cost if it beats what a prompt gets from the same base model, and
an instruct model that answers in prose scores ~0 zero-shot on terse checks. So evaluate also
runs the base model with a few-shot prompt: `evaluate.prompted.shots` examples per bucket, drawn
deterministically (seeded) from the train split, never from test or golden, and a training row
whose request is also an eval request is skipped. Within a bucket, examples with different
answers come first, so a SAFE/UNSAFE bucket shows both labels rather than two of one. They go
in as earlier user/assistant turns after the item's system prompt, buckets interleaved, with
`evaluate.prompted.instruction` appended to the system prompt. When a prompt would not fit the
model's context, the oldest examples are left out for that item; the metrics count such items
(`fewshot.trimmed_items`).
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from ..data.chat import check_conversation
from ..data.jsonl import JsonlError, parse, read_lines
from ..data.texts import normalize_answer


def request_of(messages: list[dict]) -> str:
    """The last user message, normalised: what makes two items the same question."""
    users = [m["content"] for m in messages if m["role"] == "user"]
    return normalize_answer(users[-1]) if users else ""


def pick_examples(train: Path, shots: int, seed: int, exclude: set[str]) -> tuple[list[dict], int]:
    """(examples, rows skipped as unusable): `shots` rows per bucket, buckets interleaved."""
    by_bucket: dict[str, list[dict]] = defaultdict(list)
    skipped = 0
    for file, number, raw in read_lines(train):
        try:
            row = parse(f"{file}:{number}", raw)
        except JsonlError:
            skipped += 1
            continue
        if check_conversation(row) or request_of(row["messages"]) in exclude:
            skipped += 1
            continue
        by_bucket[(row.get("meta") or {}).get("bucket") or "_none"].append(row)
    rng = random.Random(seed)
    picks = {b: _diverse(rows, shots, rng) for b, rows in sorted(by_bucket.items())}
    examples = [picks[b][i] for i in range(shots) for b in picks if i < len(picks[b])]
    return examples, skipped


def _diverse(rows: list[dict], k: int, rng: random.Random) -> list[dict]:
    """k rows in a seeded order, distinct answers first: a label bucket shows each label."""
    order = rng.sample(range(len(rows)), len(rows))
    firsts, answers = [], set()
    for i in order:
        answer = normalize_answer(rows[i]["messages"][-1]["content"])
        if answer not in answers:
            answers.add(answer)
            firsts.append(i)
            if len(firsts) == k:
                break
    taken = set(firsts)
    return [rows[i] for i in (firsts + [i for i in order if i not in taken])[:k]]


def turns(example: dict) -> list[dict]:
    """An example's conversation without its system prompt: the item's own system prompt rules."""
    return [
        {"role": m["role"], "content": m["content"]} for m in example["messages"] if m["role"] != "system"
    ]


def prompted(prompt: list[dict], examples: list[dict], instruction: str) -> list[dict]:
    """The item's prompt with the examples as earlier turns and the instruction in the system prompt."""
    system, rest = (
        (prompt[0]["content"], prompt[1:]) if prompt and prompt[0]["role"] == "system" else ("", prompt)
    )
    system = "\n\n".join(part for part in (system, instruction.strip()) if part)
    head = [{"role": "system", "content": system}] if system else []
    return head + [turn for example in examples for turn in turns(example)] + rest


def fit(
    prompt: list[dict], examples: list[dict], instruction: str, fits: Callable[[list[dict]], bool]
) -> tuple[list[dict], int]:
    """(messages, examples used): the oldest examples are dropped until the prompt fits."""
    for start in range(len(examples) + 1):
        messages = prompted(prompt, examples[start:], instruction)
        if fits(messages):
            break
    return messages, len(examples) - start
