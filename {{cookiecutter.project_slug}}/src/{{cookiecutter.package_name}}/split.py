"""Split stage: deterministic, stratified, group-aware train/val/test split.

    python -m PACKAGE.split data/curated/curated.jsonl --out data/split --metrics metrics/split.json

Rows of one group (curate's near-duplicate `cluster` by default, or any meta field such as
knowledge_point) land in one split. Within each stratum (meta.bucket by default) the groups are
ordered by a seeded hash of their key and cut at the configured ratios. Hash order, not a
shuffle, keeps a row in its split when other rows are added later, so a test item does not
drift into training as the data grows.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections import Counter, defaultdict
from pathlib import Path

from . import params as params_mod
from .data.jsonl import read_jsonl, write_json, write_jsonl

SPLITS = ("train", "val", "test")


def _meta(row: dict, key: str, default: str) -> str:
    """A row's top-level field (curate's `cluster`) or meta field, as a string."""
    if not key:
        return default
    return str(row.get(key, (row.get("meta") or {}).get(key, default)))


def assign(rows: list[dict], p: params_mod.SplitParams) -> dict[str, list[dict]]:
    if abs(p.train + p.val + p.test - 1.0) > 1e-6:
        raise params_mod.ParamsError(f"split: train+val+test must be 1.0, got {p.train + p.val + p.test}")
    # A group belongs to the stratum of its first row, so all of it lands in one split even when
    # its rows carry different buckets.
    members: dict[str, list[int]] = defaultdict(list)
    stratum_of: dict[str, str] = {}
    for i, row in enumerate(rows):
        group = _meta(row, p.group_by, row["id"])
        members[group].append(i)
        stratum_of.setdefault(group, _meta(row, p.stratify_by, "_all"))
    strata: dict[str, list[str]] = defaultdict(list)
    for group, stratum in stratum_of.items():
        strata[stratum].append(group)
    split_of: dict[int, str] = {}
    for groups in strata.values():
        keys = sorted(groups, key=lambda g: hashlib.sha256(f"{p.seed}:{g}".encode()).hexdigest())
        n_test, n_val = round(len(keys) * p.test), round(len(keys) * p.val)
        for rank, key in enumerate(keys):
            name = "test" if rank < n_test else "val" if rank < n_test + n_val else "train"
            for i in members[key]:
                split_of[i] = name
    return {name: [row for i, row in enumerate(rows) if split_of[i] == name] for name in SPLITS}


def main(p: params_mod.SplitParams, curated: Path, out: Path, metrics: Path) -> dict:
    rows = list(read_jsonl(curated))
    splits = assign(rows, p)
    report = {}
    for name, part in splits.items():
        write_jsonl(out / f"{name}.jsonl", part)
        by_bucket = Counter(_meta(r, "bucket", "_none") for r in part)
        report[name] = {"rows": len(part), "by_bucket": dict(sorted(by_bucket.items()))}
    write_json(metrics, report)
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Split curated data into train/val/test.")
    parser.add_argument("curated", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--metrics", type=Path, required=True)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    args = parser.parse_args()
    try:
        result = main(params_mod.load(args.params).split, args.curated, args.out, args.metrics)
    except (params_mod.ParamsError, FileNotFoundError, ValueError) as e:
        sys.exit(f"split: {e}")
    print("split: " + ", ".join(f"{k} {v['rows']}" for k, v in result.items()))
