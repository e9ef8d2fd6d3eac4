"""After launch: production feedback in; golden candidates, preference pairs and alarms out.

    python -m PACKAGE.feedback data/feedback --golden data/golden --out reports/feedback \
        --metrics metrics/feedback.json [--monitoring releases/v1.0.0.monitoring.yaml]

Intake, `data/feedback/` under DVC, read as curate reads data/raw (data/sources.py: JSON Lines, JSON,
gzip, Parquet; any other file stops it), one production exchange per record (docs/releases.md):
`{"id", "at"?, "model_version"?, "messages": [...the prompt...], "answer", "verdict": "good"|"bad",
"correction"?, "meta": {"bucket", "knowledge_point", "risk"}?}`. Each line gets the checks curate
gives training rows: the conversation contract (data/chat.py), normalised text, the PII policy
of `curate.pii` (data/pii.py). Malformed records go to `rejected.jsonl` with file:line and reason.
A bad answer with a correction becomes a golden candidate (prompt + corrected answer) and a
preference pair (chosen: the correction, rejected: the production answer); one without a
correction goes to `to_label.jsonl` for a person to answer. Prompts already in the golden set,
and repeats, are counted and left out; "the same prompt" is what curate means by it
(data/dedup.prompt_key: every message, case, spacing and edge punctuation aside). The golden set
is read as evaluate reads it (evals/items.py): an unreadable golden item is counted in the
metrics, not compared against, and stops nothing. Nothing is written to data/golden or data/preferences:
a person reads the candidates and promotes them. With --monitoring, the release's spec is
applied to its window of feedback; a rollback trigger exits with status 3, for a scheduled job.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import yaml

from .data.chat import check_conversation, normalize_content
from .data.dedup import prompt_key
from .data.jsonl import JsonlError, parse, write_json, write_jsonl
from .data.pii import apply_policy
from .data.sources import Tally, read_items, where
from .errors import UserError, reported
from .evals.items import load_items
from .params import curate as params_mod
from .registry.monitoring import bucket_counts, check, when

VERDICTS = ("good", "bad")
GOLDEN_CHECK = "normalized"  # any valid default: which golden items are readable does not depend on it


def check_record(row: dict) -> tuple[str, str] | None:
    """None for a well-formed feedback line, else (reason code, what was expected)."""
    if not isinstance(row.get("id"), str) or not row["id"]:
        return "bad_id", "field 'id' must be a non-empty string"
    if row.get("verdict") not in VERDICTS:
        return (
            "bad_verdict",
            f"field 'verdict' is {row.get('verdict')!r}; expected one of {', '.join(VERDICTS)}",
        )
    for field in ("answer", "correction"):
        value = row.get(field)
        if (field == "answer" or value is not None) and (not isinstance(value, str) or not value.strip()):
            return f"bad_{field}", f"field {field!r} must be a non-empty string"
    if "at" in row and when(row["at"]) is None:
        return "bad_at", f"field 'at' is {row['at']!r}; expected an ISO 8601 time like 2026-11-02T10:15:00Z"
    messages = row.get("messages")
    if not isinstance(messages, list):
        return "missing_messages", "field 'messages' must be the prompt: a list of messages"
    answered = {
        "messages": [*messages, {"role": "assistant", "content": row["answer"]}],
        "meta": row.get("meta"),
    }
    return check_conversation(answered)


def golden_prompts(golden: Path | None) -> tuple[set[bytes], dict]:
    """Prompt keys of the readable golden items, and how many items were read and rejected."""
    if golden is None or not golden.exists():
        return set(), {"items": 0, "rejected": 0}
    items, rejected = load_items(golden, GOLDEN_CHECK, "golden")
    keys = {  # normalised as feedback rows are, before the key compares them
        prompt_key([{**m, "content": normalize_content(m["content"])} for m in item["messages"][:-1]])
        for item in items
    }
    return keys, {"items": len(items), "rejected": len(rejected)}


def _clean(row: dict, pii: params_mod.PiiParams) -> tuple[dict | None, Counter]:
    """The row with normalised, PII-treated texts (prompt, answer, correction), or None to reject."""
    texts = [*row["messages"], {"role": "assistant", "content": row["answer"]}]
    if "correction" in row:
        texts.append({"role": "assistant", "content": row["correction"]})
    texts = [{**m, "content": normalize_content(m["content"])} for m in texts]
    clean, found = apply_policy({"messages": texts}, pii.policy, pii.types)
    if clean is None:
        return None, found
    n = len(row["messages"])
    out = {**row, "messages": clean["messages"][:n], "answer": clean["messages"][n]["content"]}
    if "correction" in row:
        out["correction"] = clean["messages"][n + 1]["content"]
    return out, found


def read_feedback(
    path: Path, pii: params_mod.PiiParams, tally: Tally | None = None
) -> tuple[list[dict], list[dict], Counter]:
    """(good rows, rejected records with file:line and reason, PII findings by type)."""
    rows, rejected, ids, found = [], [], set(), Counter()
    for item in read_items(path, tally if tally is not None else Tally()):
        file, unit, number, raw = item
        try:
            row = parse(where(item), raw)
            problem = check_record(row)
        except JsonlError as e:
            row, problem = None, ("invalid_json", str(e).removeprefix(f"{where(item)}: "))
        if problem is None and row["id"] in ids:
            problem = ("duplicate_id", f"id {row['id']!r} is used by an earlier line")
        if problem is None:
            row, pii_found = _clean(row, pii)
            found.update(pii_found)
            if row is None:
                problem = ("pii", "contains " + ", ".join(sorted(pii_found)) + " (curate.pii.policy=drop)")
        if problem:
            text = raw.decode("utf-8", "replace")
            rejected.append(
                {"file": file, unit: number, "reason": problem[0], "message": problem[1], "raw": text}
            )
            continue
        ids.add(row["id"])
        rows.append(row)
    return rows, rejected, found


def _meta(row: dict) -> dict:
    return {k: v for k, v in (row.get("meta") or {}).items() if k in ("bucket", "knowledge_point", "risk")}


def candidates(rows: list[dict], known: set[bytes]) -> tuple[dict[str, list[dict]], Counter]:
    """Bad answers as golden candidates and pairs (with a correction) or rows to label (without)."""
    out: dict[str, list[dict]] = {"golden_candidates": [], "preference_candidates": [], "to_label": []}
    left_out, seen = Counter(), set()
    for row in (r for r in rows if r["verdict"] == "bad"):
        key = prompt_key(row["messages"])
        if key in known or key in seen:
            left_out["in_golden" if key in known else "repeated"] += 1
            continue
        seen.add(key)
        item = {
            "id": row["id"] if str(row["id"]).startswith("fb-") else f"fb-{row['id']}",  # never fb-fb-
            "meta": _meta(row) | {"source": "feedback", "feedback_id": row["id"]},
        }
        item["meta"]["model_version"] = row.get("model_version")
        answer = {"role": "assistant", "content": row["answer"]}
        if "correction" not in row:
            out["to_label"].append({**item, "messages": row["messages"], "answer": row["answer"]})
            continue
        fixed = {"role": "assistant", "content": row["correction"]}
        out["golden_candidates"].append({**item, "messages": [*row["messages"], fixed]})
        out["preference_candidates"].append(
            {**item, "prompt": row["messages"], "chosen": [fixed], "rejected": [answer]}
        )
    return out, left_out


def main(
    pii: params_mod.PiiParams,
    feedback: Path,
    golden: Path | None,
    out: Path,
    metrics: Path,
    spec: dict | None,
) -> dict:
    known, golden_counts = golden_prompts(golden)
    tally = Tally()
    rows, rejected, pii_found = read_feedback(feedback, pii, tally)
    made, left_out = candidates(rows, known)
    for name, data in [*made.items(), ("rejected", rejected)]:
        write_jsonl(out / f"{name}.jsonl", data)
    report = {
        "files": tally.files,
        "files_ignored": tally.ignored,
        "rows_in": len(rows) + len(rejected),
        "rejected_by_reason": dict(sorted(Counter(r["reason"] for r in rejected).items())),
        "pii_found_by_type": dict(sorted(pii_found.items())),
        "by_bucket": {
            b: {**c, "bad_rate": round(c["bad"] / c["verdicts"], 4)}
            for b, c in sorted(bucket_counts(rows).items())
        },
        **{name: len(data) for name, data in made.items()},
        "left_out": {"in_golden": left_out["in_golden"], "repeated": left_out["repeated"]},
        "golden": golden_counts,
    }
    if spec is not None:
        report["monitoring"] = check(spec, rows)
    write_json(metrics, report)
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description="Production feedback to golden candidates, pairs and alarms."
    )
    parser.add_argument("feedback", type=Path, nargs="?", default=Path("data/feedback"))
    parser.add_argument("--golden", type=Path, default=Path("data/golden"))
    parser.add_argument("--out", type=Path, default=Path("reports/feedback"))
    parser.add_argument("--metrics", type=Path, default=Path("metrics/feedback.json"))
    parser.add_argument("--monitoring", type=Path, help="a release's monitoring spec: check its signals")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    args = parser.parse_args()
    with reported("feedback"):
        if not args.feedback.exists():
            raise UserError(
                f"{args.feedback}: no feedback yet; export production exchanges there (docs/releases.md)"
            )
        spec = yaml.safe_load(args.monitoring.read_text(encoding="utf-8")) if args.monitoring else None
        pii = params_mod.load(args.params).pii
        r = main(pii, args.feedback, args.golden, args.out, args.metrics, spec)
        made = f"{r['golden_candidates']} golden candidates, {r['to_label']} to label"
        print(f"feedback: {r['rows_in']} in, {sum(r['rejected_by_reason'].values())} rejected; {made}")
        if r["golden"]["rejected"]:
            print(
                f"feedback: warning: {r['golden']['rejected']} unreadable golden item(s) in {args.golden} "
                "were not compared against (evaluate rejects them too, see its rejected.jsonl)",
                file=sys.stderr,
            )
        watched = r.get("monitoring") or {}
        alarms = watched.get("triggered", [])
        for reason in alarms:
            print(f"feedback: ROLLBACK TRIGGER: {reason}", file=sys.stderr)
        if alarms and (command := r["monitoring"]["rollback"]["command"]):
            # Commit the evidence first: rollback refuses a tree that this command just changed.
            evidence = f"git add data/.gitignore data/feedback.dvc {args.metrics}"
            commit = f"git commit -m 'Feedback on {watched['version']}: rollback trigger'"
            print(f'feedback: {evidence} && {commit} && {command} REASON="{alarms[0]}"', file=sys.stderr)
        elif alarms:
            print("feedback: no earlier release to roll back to", file=sys.stderr)
        elif watched:  # silence would read as "all is well" even when no feedback arrives
            n, days, version = watched["verdicts_in_window"], spec["window_days"], watched["version"]
            print(
                f"feedback: {version}: {n} verdicts in its last {days} days, no signal over its threshold"
                if n
                else f"feedback: {version}: no verdicts on it in {args.feedback}: nothing to check "
                "(is the export running?)"
            )
        sys.exit(3 if alarms else 0)
