"""What reviewers see: a stratified sample of curated rows and a blind A/B sheet of answers.

Sample items: `per_bucket` curated rows per bucket, for a yes/no data check. A/B items: for each
eval set and bucket, `ab_per_bucket` items whose base and fine-tuned answers differ (identical
answers teach a reviewer nothing), each shown as answer A and answer B in a seeded random order.
Which model wrote A is in the key, a separate file the reviewer's page never receives. Data
items: the data-only sheet, read before any training is paid for (`data_items`).
"""

from __future__ import annotations

import random
from collections import defaultdict

from ..data.filters import fingerprint

SAMPLE_VERDICTS = ("ok", "bad")
AB_VERDICTS = ("a", "b", "tie", "both_bad")


def _stratified(groups: dict[tuple, list[dict]], per_group: int, rng: random.Random) -> list[tuple]:
    chosen = []
    for group in sorted(groups):
        rows = groups[group]
        chosen += [(group, row) for row in rng.sample(rows, min(per_group, len(rows)))]
    rng.shuffle(chosen)  # mixed buckets: a run of one bucket anchors a reviewer's judgement
    return chosen


def sample_items(curated: list[dict], per_bucket: int, seed: int) -> list[dict]:
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for row in curated:
        groups[((row.get("meta") or {}).get("bucket") or "_none",)].append(row)
    return [
        {
            "id": f"s-{i:04d}",
            "kind": "sample",
            "bucket": group[0],
            "row_id": row["id"],
            "messages": row["messages"],
        }
        for i, (group, row) in enumerate(_stratified(groups, per_bucket, random.Random(seed)))
    ]


def data_items(curated: list[dict], rows: int, seed: int) -> list[dict]:
    """`rows` curated rows for a data-only check before training: buckets in turn, and within each
    bucket its knowledge points in turn (a point with 3 rows is read as surely as one with 300),
    each row once, in seeded order."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for row in curated:
        meta = row.get("meta") or {}
        groups[(meta.get("bucket") or "_none", meta.get("knowledge_point") or "_none")].append(row)
    rng = random.Random(seed)
    # Buckets take turns, and within a bucket its knowledge points: a bucket with many points does
    # not crowd out another one.
    buckets: dict[str, list[list[dict]]] = defaultdict(list)
    for bucket, point in sorted(groups):
        buckets[bucket].append(rng.sample(groups[(bucket, point)], len(groups[(bucket, point)])))
    turn = dict.fromkeys(buckets, 0)
    chosen: list[dict] = []
    while len(chosen) < rows and any(any(q) for q in buckets.values()):
        for bucket, queues in buckets.items():
            live = [q for q in queues if q]
            if live and len(chosen) < rows:
                chosen.append(live[turn[bucket] % len(live)].pop())
                turn[bucket] += 1
    rng.shuffle(chosen)
    return [
        {
            "id": f"d-{i:04d}",
            "kind": "sample",
            "bucket": (row.get("meta") or {}).get("bucket") or "_none",
            "knowledge_point": (row.get("meta") or {}).get("knowledge_point") or "_none",
            "row_id": row["id"],
            "row_sha256": fingerprint(row["messages"]),
            "messages": row["messages"],
        }
        for i, row in enumerate(chosen)
    ]


def ab_items(
    predictions: list[dict], sets: list[str], per_bucket: int, seed: int
) -> tuple[list[dict], dict, int]:
    """(sheet items, key: item id -> which model wrote A and B, identical pairs left out)."""
    answers: dict[tuple, dict[str, dict]] = defaultdict(dict)
    for p in predictions:
        if p["set"] in sets:
            answers[(p["set"], p["id"])][p["model"]] = p
    groups: dict[tuple, list[dict]] = defaultdict(list)
    identical = 0
    for (eval_set, _), pair in sorted(answers.items()):
        if {"base", "finetuned"} <= set(pair):
            if pair["base"]["prediction"].strip() == pair["finetuned"]["prediction"].strip():
                identical += 1
            else:
                groups[(eval_set, pair["finetuned"]["bucket"] or "_none")].append(pair)
    rng = random.Random(seed)
    items, key = [], {}
    for i, ((eval_set, bucket), pair) in enumerate(_stratified(groups, per_bucket, rng)):
        order = ["base", "finetuned"] if rng.random() < 0.5 else ["finetuned", "base"]
        tuned = pair["finetuned"]
        item_id = f"ab-{i:04d}"
        items.append(
            {
                "id": item_id,
                "kind": "ab",
                "set": eval_set,
                "bucket": bucket,
                "request": tuned["request"],
                "reference": tuned["reference"],
                "a": pair[order[0]]["prediction"],
                "b": pair[order[1]]["prediction"],
            }
        )
        key[item_id] = {"a": order[0], "b": order[1], "set": eval_set, "eval_id": tuned["id"]}
    return items, key, identical
