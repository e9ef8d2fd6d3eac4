"""Decontaminate stage: remove training rows that overlap the test split, golden or benchmark sets.

    python -m PACKAGE.decontaminate data/split --against data/split/test.jsonl data/golden \
        --preferences data/preferences --out data/decontaminated --metrics metrics/decontaminate.json

A training (or validation) row is removed when, for some eval prompt, the weighted share of that
prompt's words lying inside n-grams the row shares with it reaches `decontaminate.threshold` (or
on any shared distinctive n-gram with `any_hit`): texts are folded first (Unicode look-alikes,
marks, invisible characters, number words: data/fold.py), and n-grams shared by many eval prompts
(instructions) weigh nothing (data/ngrams.py). Eval prompts shorter than n words match on their
whole folded text. `removed.jsonl` shows the matched span of each removed row.
Eval sets and benchmarks are read like curate's input (JSONL, JSON, gzip, Parquet; texts.py
says which fields count), plus `.txt` files with one eval text per line. DPO preference pairs,
when given, are cleaned the same way. `removed.jsonl` lists every removed row with the eval
items it matched, their set and the overlap score; `rejected.jsonl` every record that could not
be read, with its file:line and reason. An unreadable eval item fails the stage after it is
listed (`decontaminate.bad_eval_items: warn` goes on without it); an eval source without any
item fails it too: never "decontaminated against nothing". Rows are matched in batches, spread
over `num_proc` forked processes."""

from __future__ import annotations

import argparse
import collections
import itertools
import multiprocessing
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from .data.contamination import Problem, build_index, problem_of
from .data.jsonl import JsonlWriter, parse, write_json
from .data.ngrams import EvalIndex, confirmed
from .data.sources import Item, Tally, count_items, read_items, rejected_record, where
from .data.texts import row_texts
from .errors import reported
from .params import decontaminate as params_mod
from .progress import Progress

TRAINABLE = ("train", "val")
BATCH = 2000
_INDEX: EvalIndex | None = None  # set before forking so workers share it copy-on-write


def _match(job: tuple[list[Item], float]) -> tuple[list[tuple[Problem | None, list]], tuple]:
    """Parse and match one batch: in a worker, the forked copy of the parent's index does it.

    A row that cannot be parsed or has no text is that row's problem; the batch goes on.
    Also returns how often the batch uses each word of the eval texts, as (word, uses) arrays.
    """
    items, threshold = job
    texts, problems = [], []
    for item in items:
        try:
            texts.append(row_texts(parse(where(item), item[3])))
            problems.append(None)
        except Exception as e:  # noqa: BLE001
            texts.append([])
            problems.append(problem_of(e))
    counts = _INDEX.word_counter()
    found = _INDEX.match_rows(texts, threshold, count_into=counts)
    used = np.flatnonzero(counts)
    return list(zip(problems, found, strict=True)), (used, counts[used])


def _batches(items: Iterable) -> Iterator[list]:
    items = iter(items)
    while batch := list(itertools.islice(items, BATCH)):
        yield batch


def scan(
    items: Iterable[Item], index: EvalIndex, threshold: float, num_proc: int, counts: np.ndarray | None = None
) -> Iterator[tuple[Item, tuple[Problem | None, list]]]:
    """(item, (problem, matches)) for every record, in input order, a few batches at a time.

    Workers parse the JSON themselves, so the parent only reads, hands out and writes lines.
    `counts` (EvalIndex.word_counter) gets how often the rows use each word of the eval texts.
    """
    counts = index.word_counter() if counts is None else counts
    global _INDEX
    _INDEX = index
    index.matches([], threshold)  # build the lookup tables once, before any fork
    batches = _batches(items)
    if num_proc <= 1:
        for batch in batches:
            found, (used, uses) = _match((batch, threshold))
            counts[used] += uses
            yield from zip(batch, found, strict=True)
        return
    in_flight = num_proc * 2
    slots = threading.Semaphore(in_flight)  # batches in flight: bounded memory

    def jobs():  # pulled by the pool's feeder thread while the workers match earlier batches
        for batch in batches:
            slots.acquire()
            pending.append(batch)
            yield batch, threshold

    pending: collections.deque = collections.deque()
    with multiprocessing.get_context("fork").Pool(num_proc) as pool:
        try:
            for found, (used, uses) in pool.imap(_match, jobs()):
                counts[used] += uses
                yield from zip(pending.popleft(), found, strict=True)
                slots.release()
        finally:  # on an error, unblock the feeder so the pool can shut down instead of hanging
            for _ in range(in_flight):
                slots.release()


def main(
    p: params_mod.DecontaminateParams,
    split: Path,
    against: list[Path],
    out: Path,
    metrics: Path,
    preferences: Path | None = None,
) -> dict:
    start = time.time()
    with JsonlWriter(out / "rejected.jsonl", keep_on_error=True) as rejected_file:
        index, sets = build_index(p, against + [Path(b) for b in p.benchmarks], rejected_file)
        inputs = {name: split / f"{name}.jsonl" for name in TRAINABLE}
        if preferences is not None:
            inputs["preferences"] = preferences
        report = _clean(p, index, inputs, out, rejected_file)
    report["eval_sets"] = sets
    report["rejected_eval_items"] = sum(c["rejected"] for c in sets.values())
    report["eval_texts_indexed"] = index.indexed
    report["eval_texts_too_short"] = index.skipped_short
    report["eval_texts_only_boilerplate"] = index.boilerplate_only
    report["seconds"] = round(time.time() - start, 3)
    write_json(metrics, report)
    return report


def _clean(
    p: params_mod.DecontaminateParams, index: EvalIndex, inputs: dict, out: Path, rejected_file
) -> dict:
    """Every trainable row kept byte for byte or removed with what it matched; unreadable ones rejected.

    Two passes. The first matches every row and counts how often the training data (train, val
    and pairs together) uses each word of the eval texts; it notes the rows found and the
    unreadable ones. The second copies the inputs, matching the rows found again with the words
    weighted by those counts: a row that shares only a frame the training data repeats ("What
    is the capital of …" with another country) is kept after all (`frame_siblings_kept`).
    The rows found are held (their lines) between the passes: memory grows with them only."""
    threshold = 1e-9 if p.any_hit else p.threshold
    num_proc = p.num_proc or os.cpu_count() or 1
    report: dict = {"removed_by_eval_set": Counter()}
    progress = Progress("decontaminate", total=sum(count_items(path) for path in inputs.values()))
    word_uses = index.word_counter()
    problems: dict[str, dict[int, Problem]] = {name: {} for name in inputs}  # by row ordinal
    found_first: dict[str, dict[int, tuple[Item, list]]] = {name: {} for name in inputs}
    for name, path in inputs.items():
        found_rows = scan(read_items(path, Tally()), index, threshold, num_proc, word_uses)
        for ordinal, (item, (problem, found)) in enumerate(found_rows):
            progress.update()
            if problem is not None:
                problems[name][ordinal] = problem
            elif found:
                found_first[name][ordinal] = (item, found)
    progress.finish()
    decided: dict[str, dict[int, list]] = {name: {} for name in inputs}  # what both passes found
    for name, rows in found_first.items():
        for batch in _batches(rows.items()):
            texts = [row_texts(parse(where(item), item[3])) for _, (item, _) in batch]
            again = index.match_rows(texts, threshold, word_uses=word_uses)
            for (ordinal, (_, found)), second in zip(batch, again, strict=True):
                decided[name][ordinal] = confirmed(found, second)
    with JsonlWriter(out / "removed.jsonl") as removed_file:
        for name, path in inputs.items():
            counts = report[name] = {"kept": 0, "removed": 0, "rejected": 0, "frame_siblings_kept": 0}
            with JsonlWriter(out / f"{name}.jsonl") as kept_file:
                for ordinal, item in enumerate(read_items(path, Tally())):
                    found = decided[name].get(ordinal)
                    if ordinal in problems[name]:
                        rejected_file.write(rejected_record(item, name, problems[name][ordinal]))
                        counts["rejected"] += 1
                    elif not found:
                        kept_file.write_line(item[3])  # byte for byte as it was read
                        counts["kept"] += 1
                        counts["frame_siblings_kept"] += found is not None
                    else:
                        at = where(item)
                        row = parse(at, item[3])
                        matched = [
                            {"eval_set": s, "id": i, "overlap": score, "span": span}
                            for s, i, score, span in found
                        ]
                        removed_file.write(
                            {"split": name, "id": row.get("id", at), "matched": matched, "row": row}
                        )
                        counts["removed"] += 1
                        report["removed_by_eval_set"].update({m["eval_set"] for m in matched})
    report["removed_by_eval_set"] = dict(sorted(report["removed_by_eval_set"].items()))
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Remove eval-set overlap from training data.")
    parser.add_argument("split", type=Path, help="directory with train.jsonl and val.jsonl")
    parser.add_argument("--against", type=Path, nargs="+", required=True, help="eval files or dirs")
    parser.add_argument("--preferences", type=Path, help="DPO preference pairs to clean as well")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--metrics", type=Path, required=True)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    args = parser.parse_args()
    with reported("decontaminate"):
        p = params_mod.load(args.params)
        result = main(p, args.split, args.against, args.out, args.metrics, args.preferences)
    if result["rejected_eval_items"]:
        print(
            f"decontaminate: warning: {result['rejected_eval_items']} eval items unreadable", file=sys.stderr
        )
    print(f"decontaminate: removed train {result['train']['removed']}, val {result['val']['removed']}")
