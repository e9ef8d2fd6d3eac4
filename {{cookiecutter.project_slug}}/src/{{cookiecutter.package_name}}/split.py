"""Split stage: deterministic, stratified, group-aware train/val/test split.

    python -m PACKAGE.split data/curated/curated.jsonl --out data/split --metrics metrics/split.json

Rows of one group (curate's near-duplicate `cluster` by default, or any meta field such as
knowledge_point) land in one split. Within each stratum (meta.bucket by default) the groups are
ordered by a seeded hash of their key and cut at the configured ratios. Hash order, not a
shuffle, keeps a row in its split when other rows are added later, so a test item does not
drift into training as the data grows. Too little data stops the stage here, naming the knob,
when val or test (with a non-zero share) would be empty, instead of failing later inside
training or evaluation; a stratum too small for its own val or test group is a warning in
`metrics/split.json`. `split.pilot` below 1.0 keeps that share of every split, stratum by
stratum: the whole pipeline on a quarter of the data, in minutes, before the full run (`make pilot`).
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import math
import sys
from collections import Counter, defaultdict
from pathlib import Path

from .data.jsonl import read_records, write_json, write_jsonl
from .errors import UserError, reported
from .params import split as params_mod

SPLITS = ("train", "val", "test")


def _meta(row: dict, key: str, default: str) -> str:
    """A row's top-level field (curate's `cluster`) or meta field, as a string."""
    if not key:
        return default
    return str(row.get(key, (row.get("meta") or {}).get(key, default)))


def _strata(rows: list[dict], p: params_mod.SplitParams) -> tuple[dict[str, list[int]], dict[str, list[str]]]:
    """(group -> its rows, stratum -> its groups). A group belongs to the stratum of its first row,
    so all of it lands in one split even when its rows carry different buckets."""
    members: dict[str, list[int]] = defaultdict(list)
    stratum_of: dict[str, str] = {}
    for i, row in enumerate(rows):
        group = _meta(row, p.group_by, str(row.get("id", i)))
        members[group].append(i)
        stratum_of.setdefault(group, _meta(row, p.stratify_by, "_all"))
    strata: dict[str, list[str]] = defaultdict(list)
    for group, stratum in stratum_of.items():
        strata[stratum].append(group)
    return members, strata


def _cuts(n: int, p: params_mod.SplitParams) -> tuple[int, int]:
    """How many of a stratum's n groups go to test and to val."""
    return round(n * p.test), round(n * p.val)


def assign(rows: list[dict], p: params_mod.SplitParams) -> dict[str, list[dict]]:
    members, strata = _strata(rows, p)
    split_of: dict[int, str] = {}
    for groups in strata.values():
        keys = sorted(groups, key=lambda g: hashlib.sha256(f"{p.seed}:{g}".encode()).hexdigest())
        n_test, n_val = _cuts(len(keys), p)
        for rank, key in enumerate(keys):
            name = "test" if rank < n_test else "val" if rank < n_test + n_val else "train"
            for i in members[key]:
                split_of[i] = name
    return {name: [row for i, row in enumerate(rows) if split_of[i] == name] for name in SPLITS}


def pilot(splits: dict[str, list[dict]], p: params_mod.SplitParams) -> dict[str, list[dict]]:
    """A stratified share of each split (`split.pilot`): in every stratum the same share of its
    groups, chosen by a seeded hash of their keys, so a pilot sees every bucket in every split."""
    if p.pilot >= 1.0:
        return splits
    kept = {}
    for name, rows in splits.items():
        members, strata = _strata(rows, p)
        keep = set()
        for groups in strata.values():
            ranked = sorted(groups, key=lambda g: hashlib.sha256(f"pilot:{p.seed}:{g}".encode()).hexdigest())
            for group in ranked[: math.ceil(len(ranked) * p.pilot)]:
                keep.update(members[group])
        kept[name] = [row for i, row in enumerate(rows) if i in keep]
    return kept


def _empty(n: int, p: params_mod.SplitParams) -> list[str]:
    """The splits with a non-zero share that a stratum of n groups gives no group at all."""
    n_test, n_val = _cuts(n, p)
    return [name for name, got in (("val", n_val), ("test", n_test)) if getattr(p, name) > 0 and got == 0]


def small_strata(rows: list[dict], p: params_mod.SplitParams) -> list[str]:
    """A warning for each stratum too small to give val or test a single group."""
    warnings = []
    for stratum, groups in sorted(_strata(rows, p)[1].items()):
        if empty := _empty(len(groups), p):
            need = next(n for n in itertools.count(1) if not _empty(n, p))
            warnings.append(
                f"{p.stratify_by or 'stratum'} {stratum!r} has {len(groups)} group(s), none in "
                f"{' or '.join(empty)}: it needs at least {need} for split.val={p.val} and "
                f"split.test={p.test} (or change split.stratify_by={p.stratify_by!r} / "
                f"split.group_by={p.group_by!r})"
            )
    return warnings


def check(splits: dict[str, list[dict]], p: params_mod.SplitParams, curated: Path) -> None:
    """Stop here, naming the knob, instead of letting training or evaluation fail on an empty set."""
    total = sum(len(part) for part in splits.values())
    if total == 0:
        raise UserError(f"{curated}: no rows to split; see metrics/curate.json and the curate quarantine")
    for name in SPLITS:
        if getattr(p, name) > 0 and not splits[name]:
            hint = " and train.sft.eval_strategy: 'no'" if name == "val" else ""
            raise UserError(
                f"the {name} split is empty: {total} rows are too few for split.{name}={getattr(p, name)} "
                f"with split.group_by={p.group_by!r} and split.stratify_by={p.stratify_by!r}; add data, "
                f"group or stratify less, or set split.{name}: 0{hint}"
            )


def read_rows(curated: Path) -> list[dict]:
    """The curated rows; UserError naming file:line for a `meta` that is not an object."""
    rows = []
    for where, row in read_records(curated):
        if not isinstance(row.get("meta") or {}, dict):
            got = type(row["meta"]).__name__
            raise UserError(f"{where}: field 'meta' must be an object, got {got}; curate writes this file")
        rows.append(row)
    return rows


def main(p: params_mod.SplitParams, curated: Path, out: Path, metrics: Path) -> dict:
    rows = read_rows(curated)
    splits = pilot(assign(rows, p), p)
    check(splits, p, curated)
    report: dict = {"warnings": small_strata(rows, p), "pilot": p.pilot}
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
    with reported("split"):
        result = main(params_mod.load(args.params), args.curated, args.out, args.metrics)
    for warning in result["warnings"]:
        print(f"split: warning: {warning}", file=sys.stderr)
    print("split: " + ", ".join(f"{k} {result[k]['rows']}" for k in SPLITS))
