"""Decontaminate stage: remove training rows that overlap the test split, golden or benchmark sets.

    python -m PACKAGE.decontaminate data/split --against data/split/test.jsonl data/golden \
        --out data/decontaminated --metrics metrics/decontaminate.json

A training (or validation) row is removed when, for some eval prompt, the share of that prompt's
normalised word n-grams found in the row reaches `decontaminate.threshold` (or on any shared
n-gram with `any_hit`). Eval prompts shorter than n words match on their whole normalised text.
Benchmarks in params are JSONL conversations or plain-text files (one eval text per line).
DPO preference pairs, when given, are cleaned the same way.
`removed.jsonl` lists every removed row with the eval items it matched, their set and the
overlap score. Rows are matched in batches, spread over `num_proc` forked processes.
"""

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

from . import params as params_mod
from .data.jsonl import JsonlWriter, input_files, parse, read_lines, read_records, write_json
from .data.ngrams import EvalIndex

TRAINABLE = ("train", "val")
BATCH = 2000
_INDEX: EvalIndex | None = None  # set before forking so workers share it copy-on-write


def message_texts(row: dict) -> list[str]:
    """The text a row contributes: every non-system message (the system prompt is shared) of a
    conversation, or of a preference pair's prompt, chosen and rejected answers."""
    if "messages" in row:
        parts = row["messages"]
    else:  # a preference pair: conversational (lists of messages) or standard (plain strings)
        parts = [x for key in ("prompt", "chosen", "rejected") for x in _as_list(row.get(key))]
    return [
        m if isinstance(m, str) else m["content"]
        for m in parts
        if isinstance(m, str) or m.get("role") != "system"
    ]


def _as_list(value) -> list:
    return [] if value is None else [value] if isinstance(value, str) else list(value)


def eval_texts(row: dict) -> list[str]:
    """What must not leak from an eval item: its prompts. Shared answers (labels) are not leaks."""
    prompts = [m["content"] for m in row.get("messages", [])[:-1] if m.get("role") != "system"]
    return prompts or message_texts(row)


def eval_files(path: Path) -> list[Path]:
    """A .jsonl or .txt file, or every one of them under a directory, in a stable order."""
    if not path.is_dir():
        return input_files(path)  # names the path when it does not exist
    files = sorted(f for f in path.rglob("*") if f.suffix in (".jsonl", ".txt"))
    if not files:
        raise FileNotFoundError(f"{path}: no *.jsonl or *.txt files in this directory")
    return files


def build_index(p: params_mod.DecontaminateParams, against: list[Path]) -> EvalIndex:
    index = EvalIndex(n=p.ngram, min_words=p.min_words)
    for path in against:
        for file in eval_files(path):
            eval_set = path.stem if path.is_file() else path.name
            if file.suffix == ".txt":
                lines = file.read_text(encoding="utf-8").splitlines()
                for number, line in enumerate(lines, start=1):
                    index.add(eval_set, f"{file.name}:{number}", [line])
                continue
            for where, row in read_records(file):
                index.add(eval_set, str(row.get("id", where)), eval_texts(row))
    return index


def json_lines(path: Path) -> Iterator[tuple[str, bytes]]:
    """(file:line, JSON bytes) of every non-blank line: rows travel to the workers unparsed."""
    for file, number, raw in read_lines(path):
        yield f"{file}:{number}", raw


def _match(job: tuple[list[tuple[str, str]], float]) -> list:
    """Parse and match one batch: in a worker, the forked copy of the parent's index does it."""
    lines, threshold = job
    return _INDEX.match_rows([message_texts(parse(w, line)) for w, line in lines], threshold)


def _batches(items: Iterable) -> Iterator[list]:
    items = iter(items)
    while batch := list(itertools.islice(items, BATCH)):
        yield batch


def scan(
    lines: Iterable[tuple[str, str]], index: EvalIndex, threshold: float, num_proc: int
) -> Iterator[tuple]:
    """((file:line, JSON text), matches) for every line, in input order, a few batches at a time.

    Workers parse the JSON themselves, so the parent only reads, hands out and writes lines.
    """
    global _INDEX
    _INDEX = index
    index.matches([], threshold)  # build the lookup tables once, before any fork
    batches = _batches(lines)
    if num_proc <= 1:
        for batch in batches:
            yield from zip(batch, _match((batch, threshold)), strict=True)
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
            for result in pool.imap(_match, jobs()):
                yield from zip(pending.popleft(), result, strict=True)
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
    index = build_index(p, against + [Path(b) for b in p.benchmarks])
    threshold = 1e-9 if p.any_hit else p.threshold
    num_proc = p.num_proc or os.cpu_count() or 1
    report: dict = {"removed_by_eval_set": Counter()}
    inputs = {name: split / f"{name}.jsonl" for name in TRAINABLE}
    if preferences is not None:
        inputs["preferences"] = preferences
    with JsonlWriter(out / "removed.jsonl") as removed_file:
        for name, path in inputs.items():
            report[name] = {"kept": 0, "removed": 0}
            with JsonlWriter(out / f"{name}.jsonl") as kept_file:
                for (where, line), found in scan(json_lines(path), index, threshold, num_proc):
                    if not found:
                        kept_file.write_line(line)  # byte for byte as split wrote it
                        report[name]["kept"] += 1
                        continue
                    row = parse(where, line)
                    matched = [{"eval_set": s, "id": i, "overlap": score} for s, i, score in found]
                    record = {"split": name, "id": row.get("id", where), "matched": matched, "row": row}
                    removed_file.write(record)
                    report[name]["removed"] += 1
                    report["removed_by_eval_set"].update({m["eval_set"] for m in matched})
    report["removed_by_eval_set"] = dict(sorted(report["removed_by_eval_set"].items()))
    report["eval_texts_indexed"] = len(index.items)
    report["eval_texts_too_short"] = index.skipped_short
    report["seconds"] = round(time.time() - start, 3)
    write_json(metrics, report)
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
    try:
        p = params_mod.load(args.params).decontaminate
        result = main(p, args.split, args.against, args.out, args.metrics, args.preferences)
    except (params_mod.ParamsError, FileNotFoundError, ValueError) as e:
        sys.exit(f"decontaminate: {e}")
    print(f"decontaminate: removed train {result['train']['removed']}, val {result['val']['removed']}")
