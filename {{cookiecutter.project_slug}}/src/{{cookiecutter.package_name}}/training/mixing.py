"""General data mixed into the task's SFT rows, so fine-tuning on one task does not erase the rest.

    rows, report = mix(task_rows, {"data/replay/replay.jsonl": 0.25, "my/general.parquet": 0.5}, seed=0)

`train.mix.replay` weighs the replay set (the base model's own answers to general prompts, made
by the replay stage) and `train.mix.sources` any other sources, `path: weight`, in any input
kind curate reads (JSON Lines, JSON, gzip, Parquet; messages, Alpaca or ShareGPT rows). A
weight is rows drawn per task row: 0.25 adds a quarter as many rows as the task has, drawn
without repetition in a seeded order (more than a source holds is capped, and said). A record
that is not a trainable conversation stops the stage with its file:line and what was wrong,
like any other input of the train stage. Self-distillation and mixing general data are the
usual remedies against forgetting (alignment-handbook's dataset mixer, LLaMA-Factory's
interleave probabilities); the general-skill probes of evaluate measure whether they held.
"""

from __future__ import annotations

import random
from pathlib import Path

from ..data.chat import check_conversation
from ..data.formats import to_messages
from ..data.jsonl import parse
from ..data.sources import Tally, read_items, where
from ..errors import UserError


def read_source(path: Path) -> list[dict]:
    """Every record of a source as a conversation, or UserError naming the first bad one."""
    rows = []
    for item in read_items(path, Tally()):
        at = where(item)
        try:
            row, problem = to_messages(parse(at, item[3]), "auto")
        except UserError as e:
            raise UserError(f"train.mix: {e}") from None
        problem = problem or check_conversation(row)
        if problem:
            raise UserError(f"train.mix: {at}: {problem[1]} ({problem[0]})")
        rows.append(
            {"messages": row["messages"], "meta": {**(row.get("meta") or {}), "mixed_from": str(path)}}
        )
    return rows


def draw(rows: list[dict], weight: float, task_rows: int, seed: int) -> list[dict]:
    wanted = min(len(rows), round(weight * task_rows))
    return random.Random(seed).sample(rows, wanted)


def mix(task: list[dict], sources: dict[str, float], seed: int) -> tuple[list[dict], dict]:
    """(task rows followed by the drawn general rows, what was drawn from where)."""
    mixed, report = list(task), {"task": len(task), "sources": {}}
    for path, weight in sources.items():
        if weight <= 0:
            continue
        available = read_source(Path(path))
        drawn = draw(available, weight, len(task), seed)
        mixed += drawn
        report["sources"][path] = {"weight": weight, "available": len(available), "drawn": len(drawn)}
        if len(drawn) < round(weight * len(task)):
            print(
                f"train: mix: {path} has {len(available)} rows, fewer than weight {weight} asks; all are used"
            )
    return mixed, report
