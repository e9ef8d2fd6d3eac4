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
import itertools
import multiprocessing
import os
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

from . import params as params_mod
from .jsonl import input_files, read_jsonl, write_json, write_jsonl
from .ngrams import EvalIndex

TRAINABLE = ("train", "val")
BATCH = 2000
_INDEX: EvalIndex | None = None  # set before forking so workers share it copy-on-write


def message_texts(row: dict) -> list[str]:
    """The text a row contributes: every non-system message (the system prompt is shared) of a
    conversation, or of a preference pair's prompt, chosen and rejected answers."""
    messages = row.get("messages") or [
        *row.get("prompt", []),
        *row.get("chosen", []),
        *row.get("rejected", []),
    ]
    return [m["content"] for m in messages if m.get("role") != "system"]


def eval_texts(row: dict) -> list[str]:
    """What must not leak from an eval item: its prompts. Shared answers (labels) are not leaks."""
    prompts = [m["content"] for m in row.get("messages", [])[:-1] if m.get("role") != "system"]
    return prompts or message_texts(row)


def build_index(p: params_mod.DecontaminateParams, against: list[Path]) -> EvalIndex:
    index = EvalIndex(n=p.ngram, min_words=p.min_words)
    for path in against:
        for file in input_files(path) if path.suffix != ".txt" else [path]:
            eval_set = path.stem if path.is_file() else path.name
            if file.suffix == ".txt":
                lines = file.read_text(encoding="utf-8").splitlines()
                for number, line in enumerate(lines, start=1):
                    index.add(eval_set, f"{file.name}:{number}", [line])
                continue
            for number, row in enumerate(read_jsonl(file), start=1):
                index.add(eval_set, str(row.get("id", f"{file.name}:{number}")), eval_texts(row))
    return index


def _match(job: tuple[list[list[str]], float]) -> list:
    texts, threshold = job
    return _INDEX.match_rows(texts, threshold)  # the forked copy of the parent's index


def _batches(rows: Iterable[dict]) -> Iterator[list[dict]]:
    rows = iter(rows)
    while batch := list(itertools.islice(rows, BATCH)):
        yield batch


def scan(
    rows: Iterable[dict], index: EvalIndex, threshold: float, num_proc: int
) -> Iterator[tuple[dict, list]]:
    """(row, matches) for every row, in input order, holding a few batches in memory at a time."""
    global _INDEX
    _INDEX = index
    index.matches([], threshold)  # build the lookup tables once, before any fork
    batches = _batches(rows)
    if num_proc <= 1:
        for batch in batches:
            yield from zip(batch, index.match_rows([message_texts(r) for r in batch], threshold), strict=True)
        return
    with multiprocessing.get_context("fork").Pool(num_proc) as pool:
        while window := list(itertools.islice(batches, num_proc * 2)):
            jobs = [([message_texts(r) for r in b], threshold) for b in window]
            for batch, result in zip(window, pool.map(_match, jobs), strict=True):
                yield from zip(batch, result, strict=True)


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
    removed, report = [], {"removed_by_eval_set": Counter()}
    inputs = {name: split / f"{name}.jsonl" for name in TRAINABLE}
    if preferences is not None:
        inputs["preferences"] = preferences
    for name, path in inputs.items():
        kept = []
        for row, found in scan(read_jsonl(path), index, threshold, num_proc):
            if not found:
                kept.append(row)
                continue
            matched = [{"eval_set": s, "id": i, "overlap": score} for s, i, score in found]
            removed.append({"split": name, "id": row["id"], "matched": matched, "row": row})
            report["removed_by_eval_set"].update({m["eval_set"] for m in matched})
        report[name] = {"kept": write_jsonl(out / f"{name}.jsonl", kept)}
        report[name]["removed"] = sum(r["split"] == name for r in removed)
    write_jsonl(out / "removed.jsonl", removed)
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
