"""Curate stage: validate raw conversations, normalise them, drop exact duplicates.

    python -m PACKAGE.curate data/raw --out data/curated --metrics metrics/curate.json

Nothing is lost: every rejected line goes to `quarantine.jsonl` with its file:line, a reason
code and a message, and `rows_in == kept + quarantined` is written to the metrics.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from . import params as params_mod
from .chat import check_conversation, normalize_content
from .jsonl import input_files, write_json, write_jsonl


def raw_lines(path: Path) -> Iterator[tuple[str, int, bytes]]:
    """(file, line number, raw bytes) for every non-blank line of every input file."""
    for file in input_files(path):
        with file.open("rb") as f:
            for number, line in enumerate(f, start=1):
                if line.strip():
                    yield str(file), number, line.rstrip(b"\r\n")


def parse_line(line: bytes, p: params_mod.CurateParams) -> tuple[dict | None, tuple[str, str] | None]:
    """A row that passed every check, or the first problem found."""
    try:
        text = line.decode("utf-8").lstrip("\ufeff")
    except UnicodeDecodeError as e:
        return None, ("invalid_utf8", f"not UTF-8 at byte {e.start}")
    if len(text) > p.max_chars:
        return None, ("too_long", f"{len(text)} characters; the limit is curate.max_chars={p.max_chars}")
    try:
        row = json.loads(text)
    except json.JSONDecodeError as e:
        return None, ("invalid_json", f"{e.msg} at column {e.colno}")
    problem = check_conversation(row, final_assistant=p.final_assistant)
    if problem:
        return None, problem
    for message in row["messages"]:
        message["content"] = normalize_content(message["content"])
    return row, None


def content_key(row: dict) -> str:
    canonical = json.dumps([[m["role"], m["content"]] for m in row["messages"]], ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def curate(lines, p: params_mod.CurateParams) -> tuple[list[dict], list[dict]]:
    kept, quarantined, seen = [], [], {}
    for file, number, line in lines:
        row, problem = parse_line(line, p)
        if row is not None:
            row.setdefault("id", f"{Path(file).stem}:{number}")
            key = content_key(row)
            if key in seen:
                problem = ("duplicate", f"same messages as kept row {seen[key]!r}")
            else:
                seen[key] = row["id"]
                kept.append(row)
                continue
        code, message = problem
        raw = line.decode("utf-8", errors="replace")
        quarantined.append({"file": file, "line": number, "reason": code, "message": message, "raw": raw})
    return kept, quarantined


def main(p: params_mod.CurateParams, raw: Path, out: Path, metrics: Path) -> dict:
    start = time.time()
    kept, quarantined = curate(raw_lines(raw), p)
    write_jsonl(out / "curated.jsonl", kept)
    write_jsonl(out / "quarantine.jsonl", quarantined)
    reasons = Counter(q["reason"] for q in quarantined)
    rows_in = len(kept) + len(quarantined)
    report = {
        "rows_in": rows_in,
        "kept": len(kept),
        "quarantined": len(quarantined),
        "quarantined_by_reason": dict(sorted(reasons.items())),
        "kept_by_bucket": dict(
            sorted(Counter(r.get("meta", {}).get("bucket", "_none") for r in kept).items())
        ),
        "seconds": round(time.time() - start, 3),
    }
    write_json(metrics, report)
    share = len(quarantined) / rows_in if rows_in else 1.0
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
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--metrics", type=Path, required=True)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    args = parser.parse_args()
    try:
        result = main(params_mod.load(args.params).curate, args.raw, args.out, args.metrics)
    except (params_mod.ParamsError, FileNotFoundError) as e:
        sys.exit(f"curate: {e}")
    print(f"curate: {result['rows_in']} in, {result['kept']} kept, {result['quarantined']} quarantined")
