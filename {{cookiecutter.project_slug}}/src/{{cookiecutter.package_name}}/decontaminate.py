"""Decontaminate stage: remove training rows that overlap the test split, golden or benchmark sets.

    python -m PACKAGE.decontaminate data/split --against data/split/test.jsonl data/golden \
        --out data/decontaminated --metrics metrics/decontaminate.json

A training (or validation) row is removed when, for some eval message, the share of that
message's normalised word n-grams found in the row reaches `decontaminate.threshold`. Eval
messages shorter than n words match on their whole normalised text. `removed.jsonl` lists every
removed row with the eval items it matched, the set they came from and the overlap score.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

from . import params as params_mod
from .jsonl import read_jsonl, write_json, write_jsonl
from .ngrams import EvalIndex, message_texts

TRAINABLE = ("train", "val")


def build_index(p: params_mod.DecontaminateParams, against: list[Path]) -> EvalIndex:
    index = EvalIndex(n=p.ngram, min_words=p.min_words)
    for path in against:
        eval_set = path.stem if path.is_file() else path.name
        for number, row in enumerate(read_jsonl(path), start=1):
            index.add(eval_set, str(row.get("id", f"{eval_set}:{number}")), _eval_texts(row))
    return index


def _eval_texts(row: dict) -> list[str]:
    """What must not leak from an eval item: its prompts. Shared answers (labels) are not leaks."""
    prompts = [m["content"] for m in row.get("messages", [])[:-1] if m.get("role") != "system"]
    return prompts or message_texts(row)


def main(
    p: params_mod.DecontaminateParams, split: Path, against: list[Path], out: Path, metrics: Path
) -> dict:
    start = time.time()
    index = build_index(p, against + [Path(b) for b in p.benchmarks])
    removed, report = [], {"removed_by_eval_set": Counter()}
    for name in TRAINABLE:
        kept = []
        for row in read_jsonl(split / f"{name}.jsonl"):
            found = index.matches(message_texts(row), p.threshold)
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
    report["eval_messages_indexed"] = len(index.sizes)
    report["eval_messages_too_short"] = index.skipped_short
    report["seconds"] = round(time.time() - start, 3)
    write_json(metrics, report)
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Remove eval-set overlap from training data.")
    parser.add_argument("split", type=Path, help="directory with train.jsonl and val.jsonl")
    parser.add_argument("--against", type=Path, nargs="+", required=True, help="eval files or dirs")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--metrics", type=Path, required=True)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    args = parser.parse_args()
    try:
        result = main(
            params_mod.load(args.params).decontaminate, args.split, args.against, args.out, args.metrics
        )
    except (params_mod.ParamsError, FileNotFoundError, ValueError) as e:
        sys.exit(f"decontaminate: {e}")
    print(f"decontaminate: removed train {result['train']['removed']}, val {result['val']['removed']}")
