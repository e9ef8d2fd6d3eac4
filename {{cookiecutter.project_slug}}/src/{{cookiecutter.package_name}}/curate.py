"""Curate stage: validate, convert, normalise, scan for PII and de-duplicate raw conversations.

    python -m PACKAGE.curate data/raw --base models/base --out data/curated \
        --reports reports/curate --metrics metrics/curate.json

Per line: decode (UTF-8, BOM tolerated) -> parse JSON -> convert (alpaca, sharegpt -> messages)
-> validate roles, content and turn order -> normalise text -> length in tokens through the base
model's chat template -> PII policy -> exact duplicate -> near duplicate (MinHash + LSH).
Nothing is lost: every rejected line goes to `quarantine.jsonl` with file:line, a reason code
and a message, and `rows_in == kept + quarantined` is written to the metrics. Kept rows carry
`cluster`, the id of their near-duplicate cluster, which split keeps within one split.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

from . import params as params_mod
from .data.chat import check_conversation, normalize_content
from .data.coverage import Coverage, coverage_markdown
from .data.formats import detect, to_messages
from .data.jsonl import JsonlWriter, read_lines, write_json
from .data.neardup import NearDupIndex
from .data.pii import apply_policy
from .lineage import resolve

Problem = tuple[str, str]
TokenCounter = Callable[[list[dict]], int]


def parse_line(line: bytes, p: params_mod.CurateParams) -> tuple[dict | None, str | None, Problem | None]:
    """(row in messages format, the format it came in, None) or (None, None, problem)."""
    if len(line) > p.max_line_bytes:
        return None, None, ("line_too_long", f"{len(line)} bytes; the limit is curate.max_line_bytes")
    try:
        text = line.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as e:
        return None, None, ("invalid_utf8", f"not UTF-8 at byte {e.start}")
    try:
        row = json.loads(text)
    except json.JSONDecodeError as e:
        return None, None, ("invalid_json", f"{e.msg} at column {e.colno}")
    if not isinstance(row, dict):
        return None, None, ("not_object", f"expected a JSON object, got {type(row).__name__}")
    try:  # a "\\ud800" escape parses, but is no text: it cannot be written as UTF-8
        json.dumps(row, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as e:
        return None, None, ("invalid_unicode", f"a lone surrogate escape ({e.reason}) in the JSON text")
    fmt = detect(row) if p.format == "auto" else p.format
    row, problem = to_messages(row, p.format)
    if problem:
        return None, None, problem
    problem = check_conversation(row, final_assistant=p.final_assistant)
    if problem:
        return None, None, problem
    for message in row["messages"]:
        message["content"] = normalize_content(message["content"])
    return row, fmt, None


def content_key(row: dict) -> str:
    canonical = json.dumps([[m["role"], m["content"]] for m in row["messages"]], ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def dedup_text(row: dict) -> str:
    return "\n".join(m["content"] for m in row["messages"] if m["role"] != "system")


def process(
    lines,
    p: params_mod.CurateParams,
    counts: Counter,
    count_tokens: TokenCounter | None = None,
    max_tokens: int = 0,
) -> Iterator[tuple[dict | None, dict | None]]:
    """(kept row, None) or (None, quarantine record) per input line, streaming: what stays in
    memory is one hash per kept row (exact and near-duplicate indexes), not the rows."""
    seen: dict[str, str] = {}
    ids: set[str] = set()
    near = NearDupIndex(p.near_dup)
    for file, number, line in lines:
        row, fmt, problem = parse_line(line, p)
        if row is not None:
            row.setdefault("id", f"{Path(file).stem}:{number}")
            row["id"] = str(row["id"])
            counts[f"format:{fmt}"] += 1
            problem = _admit(row, p, count_tokens, max_tokens, seen, ids, near, counts)
            if problem is None:
                row["cluster"] = near.cluster_of(row["id"])  # the first kept member's id: final already
                yield row, None
                continue
        code, message = problem
        raw = line.decode("utf-8", errors="replace")
        yield None, {"file": file, "line": number, "reason": code, "message": message, "raw": raw}


def curate(lines, p: params_mod.CurateParams, count_tokens: TokenCounter | None = None, max_tokens: int = 0):
    """(kept rows, quarantined records, counters) for an iterable of (file, line, bytes), in memory."""
    counts: Counter = Counter()
    kept, quarantined = [], []
    for row, record in process(lines, p, counts, count_tokens, max_tokens):
        (kept if row is not None else quarantined).append(row if row is not None else record)
    return kept, quarantined, counts


def _admit(row, p, count_tokens, max_tokens, seen, ids, near, counts) -> Problem | None:
    """The row-level filters after parsing, in order; the first that rejects wins."""
    chars = len(dedup_text(row))
    if chars > p.max_chars:
        return "too_long", f"{chars} characters; the limit is curate.max_chars={p.max_chars}"
    if count_tokens and max_tokens:
        n = count_tokens(row["messages"])
        if n > max_tokens:
            return "too_long", f"{n} tokens with the chat template; train.sft.max_length is {max_tokens}"
    redacted, found = apply_policy(row, p.pii.policy, p.pii.types)
    counts.update({f"pii:{k}": v for k, v in found.items()})
    if redacted is None:
        return "pii", "contains " + ", ".join(sorted(found)) + " (curate.pii.policy=drop)"
    row["messages"] = redacted["messages"]
    key = content_key(row)
    if key in seen:
        return "duplicate", f"same messages as kept row {seen[key]!r}"
    if row["id"] in ids:
        return "duplicate_id", f"id {row['id']!r} is already used by a kept row; ids must be unique"
    original = near.add(row["id"], dedup_text(row))
    if original is not None and p.near_dup.action != "keep":
        return "near_duplicate", f"near-duplicate of kept row {original!r}"
    seen[key] = row["id"]  # only kept rows: a duplicate always points at a row that is in the output
    ids.add(row["id"])
    return None


def token_counter(base_dir: Path) -> TokenCounter:
    from transformers import AutoTokenizer

    name, revision = resolve(base_dir)
    tokenizer = AutoTokenizer.from_pretrained(name, revision=revision)
    return lambda messages: len(tokenizer.apply_chat_template(messages, tokenize=True, return_dict=False))


def main(
    p: params_mod.CurateParams,
    raw: Path,
    out: Path,
    reports: Path,
    metrics: Path,
    count_tokens: TokenCounter | None = None,
    max_tokens: int = 0,
) -> dict:
    start = time.time()
    counts: Counter = Counter()
    reasons: Counter = Counter()
    buckets: Counter = Counter()
    cover = Coverage()
    with (
        JsonlWriter(out / "curated.jsonl") as kept_file,
        JsonlWriter(out / "quarantine.jsonl") as quarantine_file,
    ):
        for row, record in process(read_lines(raw, counts), p, counts, count_tokens, max_tokens):
            if row is not None:
                kept_file.write(row)
                buckets[(row.get("meta") or {}).get("bucket", "_none")] += 1
                cover.kept(row)
            else:
                quarantine_file.write(record)
                reasons[record["reason"]] += 1
                cover.quarantined(record)
    kept, quarantined = sum(buckets.values()), sum(reasons.values())
    rows_in = kept + quarantined
    points = cover.rows(p.min_cards_per_point)
    reports.mkdir(parents=True, exist_ok=True)
    (reports / "coverage.md").write_text(coverage_markdown(points), encoding="utf-8")
    report = {
        "rows_in": rows_in,
        "kept": kept,
        "quarantined": quarantined,
        "quarantined_by_reason": dict(sorted(reasons.items())),
        "blank_lines": counts["blank_lines"],
        "rows_by_format": {
            k.split(":", 1)[1]: v for k, v in sorted(counts.items()) if k.startswith("format:")
        },
        "pii_found_by_type": {
            k.split(":", 1)[1]: v for k, v in sorted(counts.items()) if k.startswith("pii:")
        },
        "kept_by_bucket": dict(sorted(buckets.items())),
        "coverage_flagged": [f"{c['bucket']}/{c['knowledge_point']}" for c in points if c["flagged"]],
        "seconds": round(time.time() - start, 3),
    }
    write_json(metrics, report)
    share = quarantined / rows_in if rows_in else 1.0
    if share > p.max_quarantine_share:
        top = ", ".join(f"{code} ({n})" for code, n in reasons.most_common(3)) or "no rows at all"
        raise SystemExit(
            f"curate: {share:.0%} of {rows_in} rows quarantined, above curate.max_quarantine_share="
            f"{p.max_quarantine_share}; top reasons: {top}; see {out / 'quarantine.jsonl'}"
        )
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Validate, normalise and de-duplicate raw data.")
    parser.add_argument("raw", type=Path, help="a .jsonl file or a directory of them")
    parser.add_argument("--base", type=Path, help="base model dir, to measure length in tokens")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--reports", type=Path, required=True)
    parser.add_argument("--metrics", type=Path, required=True)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    args = parser.parse_args()
    try:
        params = params_mod.load(args.params)
        counter = token_counter(args.base) if args.base else None
        max_tokens = int(params.train.sft.get("max_length", 1024))
        r = main(params.curate, args.raw, args.out, args.reports, args.metrics, counter, max_tokens)
    except (params_mod.ParamsError, FileNotFoundError) as e:
        sys.exit(f"curate: {e}")
    formats = ", ".join(f"{n} {fmt}" for fmt, n in r["rows_by_format"].items())
    print(f"curate: {r['rows_in']} in ({formats}), {r['kept']} kept, {r['quarantined']} quarantined")
    for point in r["coverage_flagged"]:
        print(f"curate: knowledge point {point} has too few cards (curate.min_cards_per_point)")
