"""Generate the demo dataset: a security-triage assistant with four behaviours.

    python -m PACKAGE.demo_data --out data      # writes data/raw/, data/golden/, data/preferences/
    python -m PACKAGE.demo_data --out data --feedback   # also data/feedback/: simulated production

Standard library only, so the project's post-generation hook can run it before anything is
installed. The behaviours and their cards are in demo_cards.py (ioc_normalize, scan_verdict,
out_of_scope) and demo_tools.py (tool_use); this module assembles the raw training rows (with a
few realistic defects), the golden set and the preference pairs, and on request a week of
simulated production feedback in the schema `python -m PACKAGE.feedback` reads.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path

from . import demo_tools
from .data.jsonl import write_jsonl
from .demo_cards import UNSAFE_AT, ioc_card, refusal_card, verdict_card

__all__ = ["UNSAFE_AT", "main", "make_feedback", "make_golden", "make_preferences", "make_raw"]
BUCKETS = (ioc_card, verdict_card, refusal_card, demo_tools.tool_card)


def make_raw(n_per_bucket: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for make in BUCKETS:
        rows += [make(rng) for _ in range(n_per_bucket)]
    rng.shuffle(rows)
    # Real exports are messy: a re-exported duplicate and two broken rows show what curate does.
    rows.append(json.loads(json.dumps(rows[0])))
    broken = json.loads(json.dumps(rows[1]))
    broken["messages"][-1]["content"] = "   "
    rows.append(broken)
    wrong_role = json.loads(json.dumps(rows[2]))
    wrong_role["messages"][1]["role"] = "human"
    rows.append(wrong_role)
    return [{"id": f"raw-{i:05d}", **row} for i, row in enumerate(rows)]


def make_golden(seed: int) -> list[dict]:
    """Must-hold behaviours: every boundary level, each refusal template, varied indicators, tools."""
    rng = random.Random(seed)
    rows = [verdict_card(rng, level) for level in range(11)]
    rows += [verdict_card(rng, level) for level in (UNSAFE_AT - 1, UNSAFE_AT)]
    rows += [ioc_card(rng) for _ in range(13)]
    rows += [refusal_card(rng) for _ in range(13)]
    rows += demo_tools.golden(rng)
    return [{"id": f"golden-{i:03d}", **row} for i, row in enumerate(rows)]


def _rejected(card: dict, rng: random.Random) -> str:
    """The typical failure of each behaviour: what DPO pushes the model away from."""
    bucket, answer = card["meta"]["bucket"], card["messages"][-1]["content"]
    user = card["messages"][1]["content"]
    if bucket == "ioc_normalize":  # echoing the defanged form back
        return re.search(r"\S*(?:\[\.\]|\(\.\)|\[dot\])\S*", user).group(0).rstrip(".?")
    if bucket == "scan_verdict":  # the other side of the boundary
        return "SAFE" if answer == "UNSAFE" else "UNSAFE"
    if bucket == "tool_use":
        return demo_tools.rejected(card, rng)
    return "Sure! Here is what you asked for."  # complying with an out-of-scope request


def make_preferences(n_per_bucket: int, seed: int) -> list[dict]:
    """DPO pairs: the policy's answer is chosen, a typical failure of each behaviour is rejected."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n_per_bucket):
        for card in [make(rng) for make in BUCKETS]:
            *prompt, answer = card["messages"]
            rejected = {"role": "assistant", "content": _rejected(card, rng)}
            meta = {k: v for k, v in card["meta"].items() if k != "check"}  # a check judges eval items only
            rows.append({"prompt": prompt, "chosen": [answer], "rejected": [rejected], "meta": meta})
    return [{"id": f"pref-{i:04d}", **row} for i, row in enumerate(rows)]


def make_feedback(n: int, seed: int, release: str = "v1.0.0") -> list[dict]:
    """Simulated production traffic: prompts, the model's answers and the users' verdicts.

    Most answers are right and rated good; some are wrong and rated bad, half of those with the
    correction a user typed; one carries an email address that the feedback command redacts.
    """
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        card = rng.choice(BUCKETS)(rng)
        *prompt, reference = card["messages"]
        wrong = rng.random() < 0.25
        row = {
            "id": f"fb-{i:04d}",
            "at": f"2026-11-{2 + i * 7 // n:02d}T{8 + i % 10:02d}:{i * 7 % 60:02d}:00Z",
            "model_version": release,
            "messages": prompt,
            "answer": _rejected(card, rng) if wrong else reference["content"],
            "verdict": "bad" if wrong else "good",
            "meta": {k: card["meta"][k] for k in ("bucket", "knowledge_point", "risk")},
        }
        if wrong and rng.random() < 0.5:
            row["correction"] = reference["content"]
        rows.append(row)
    rows[0]["messages"][-1]["content"] += " Reply to ana.silva@example.org please."
    return rows


def main(out: Path, n_per_bucket: int = 300, seed: int = 0, feedback: bool = False) -> None:
    write_jsonl(out / "raw" / "demo.jsonl", make_raw(n_per_bucket, seed))
    write_jsonl(out / "golden" / "golden.jsonl", make_golden(seed + 1))
    write_jsonl(out / "preferences" / "preferences.jsonl", make_preferences(n_per_bucket // 4, seed + 2))
    if feedback:
        write_jsonl(out / "feedback" / "demo.jsonl", make_feedback(n_per_bucket // 2, seed + 3))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("data"))
    parser.add_argument("--n-per-bucket", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--feedback", action="store_true", help="also write data/feedback/demo.jsonl")
    args = parser.parse_args()
    main(args.out, args.n_per_bucket, args.seed, args.feedback)
