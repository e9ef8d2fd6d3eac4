"""From reviewers' verdicts to metrics: win rates per bucket, data-check results, agreement.

A/B verdicts are unblinded with the key: "a"/"b" become the model that wrote that answer, "tie"
and "both_bad" stay. The fine-tuned model's win rate is (wins + half the ties) / votes, where
"both_bad" counts as a tie. When several reviewers judged the same items, agreement is the share
of shared items on which a pair of reviewers gave the same verdict, and Cohen's kappa per pair
(agreement beyond what their verdict frequencies give by chance), averaged over pairs (Light's
kappa). A reviewer's last verdict on an item is the one that counts.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict


def latest(verdicts: list[dict]) -> dict[tuple[str, str], dict]:
    """(reviewer, item) -> the last verdict given, in file order."""
    return {(v["reviewer"], v["item"]): v for v in verdicts}


def _outcome(verdict: str, sides: dict) -> str:
    return sides[verdict] if verdict in ("a", "b") else verdict


def win_stats(outcomes: list[str]) -> dict:
    counts = Counter(outcomes)
    votes = len(outcomes)
    ties = counts["tie"] + counts["both_bad"]
    return {
        "votes": votes,
        "finetuned": counts["finetuned"],
        "base": counts["base"],
        "tie": counts["tie"],
        "both_bad": counts["both_bad"],
        "win_rate": round((counts["finetuned"] + ties / 2) / votes, 4) if votes else None,
    }


def cohen_kappa(pairs: list[tuple[str, str]]) -> float | None:
    """Kappa of two raters over (rater 1, rater 2) labels; None when chance agreement is total."""
    n = len(pairs)
    observed = sum(a == b for a, b in pairs) / n
    first, second = Counter(a for a, _ in pairs), Counter(b for _, b in pairs)
    expected = sum(first[k] * second[k] for k in first) / (n * n)
    return None if expected == 1 else round((observed - expected) / (1 - expected), 4)


def agreement(labels: dict[tuple[str, str], str]) -> dict | None:
    """Over items judged by two or more reviewers; `labels` maps (reviewer, item) -> label."""
    by_reviewer: dict[str, dict[str, str]] = defaultdict(dict)
    for (reviewer, item), label in labels.items():
        by_reviewer[reviewer][item] = label
    pairs_stats, shared_items = [], set()
    for r1, r2 in itertools.combinations(sorted(by_reviewer), 2):
        shared = sorted(set(by_reviewer[r1]) & set(by_reviewer[r2]))
        if shared:
            shared_items.update(shared)
            pairs = [(by_reviewer[r1][i], by_reviewer[r2][i]) for i in shared]
            pairs_stats.append((sum(a == b for a, b in pairs) / len(pairs), cohen_kappa(pairs), len(pairs)))
    if not pairs_stats:
        return None
    kappas = [k for _, k, _ in pairs_stats if k is not None]
    return {
        "reviewer_pairs": len(pairs_stats),
        "shared_items": len(shared_items),
        "raw": round(sum(a for a, _, _ in pairs_stats) / len(pairs_stats), 4),
        "kappa": round(sum(kappas) / len(kappas), 4) if kappas else None,
    }


def aggregate(sheet: dict, key: dict, verdicts: list[dict]) -> dict:
    items = {item["id"]: item for item in sheet["items"]}
    final = latest(v for v in verdicts if v["item"] in items)
    ab_labels = {
        k: _outcome(v["verdict"], key[v["item"]])
        for k, v in final.items()
        if items[v["item"]]["kind"] == "ab"
    }
    sample_labels = {k: v["verdict"] for k, v in final.items() if items[v["item"]]["kind"] == "sample"}
    by_bucket: dict[str, list[str]] = defaultdict(list)
    by_set: dict[str, list[str]] = defaultdict(list)
    for (_, item_id), outcome in ab_labels.items():
        by_bucket[items[item_id]["bucket"]].append(outcome)
        by_set[items[item_id]["set"]].append(outcome)
    data_checks: dict[str, Counter] = defaultdict(Counter)
    for (_, item_id), label in sample_labels.items():
        data_checks[items[item_id]["bucket"]][label] += 1
    ab_ids = [i for i, item in items.items() if item["kind"] == "ab"]
    return {
        "sheet": {k: sheet[k] for k in ("created_at", "predictions_sha256", "seed")},
        "reviewers": sorted({reviewer for reviewer, _ in final}),
        "ab": {
            **win_stats(list(ab_labels.values())),
            "coverage": round(len({i for _, i in ab_labels}) / len(ab_ids), 4) if ab_ids else None,
            "by_bucket": {b: win_stats(o) for b, o in sorted(by_bucket.items())},
            "by_set": {s: win_stats(o) for s, o in sorted(by_set.items())},
        },
        "sample": {
            "verdicts": len(sample_labels),
            "by_bucket": {b: dict(sorted(c.items())) for b, c in sorted(data_checks.items())},
            "flagged": [
                {"row_id": items[i]["row_id"], "reviewer": r, "note": final[(r, i)].get("note", "")}
                for (r, i), label in sorted(sample_labels.items())
                if label == "bad"
            ],
        },
        "agreement": {"ab": agreement(ab_labels), "sample": agreement(sample_labels)},
    }
