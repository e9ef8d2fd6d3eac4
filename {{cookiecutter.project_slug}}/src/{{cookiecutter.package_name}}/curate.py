"""Curate stage: validate, convert, normalise, scan for PII and de-duplicate raw conversations.

    python -m PACKAGE.curate data/raw --preferences data/preferences --veto data/veto.jsonl \
        --base models/base --knowledge-points data/knowledge_points.yaml --out data/curated \
        --reports reports/curate --metrics metrics/curate.json

Records come from data/sources.py (JSON Lines, JSON arrays, gzip, Parquet) and go through
data/records.py (read, normalise, filter, de-duplicate; one record never stops the stage). Nothing
is lost: every rejected record goes to `quarantine.jsonl` with its file, line (or row), a reason
code and a message; the readers count what they read, and the stage fails unless that equals
kept + quarantined. Then coverage per knowledge point against the manifest, metrics, and the
checks that stop the stage (`check`). DPO preference pairs pass the same per-record filters
(data/pairs.py) into `preferences.jsonl`, their rejects into `preferences_quarantine.jsonl`,
counted under `preferences` in the metrics and held to the same checks. Rows reviewers flagged
bad on the data sheet (data/veto.jsonl, data/veto.py) are quarantined as `vetoed` with their note.
"""

from __future__ import annotations

import argparse
import os
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from .data import veto as veto_mod
from .data.coverage import Coverage, coverage_markdown, load_manifest
from .data.filters import Veto, special_tokens
from .data.jsonl import JsonlWriter, write_json
from .data.pairs import PairCurator
from .data.records import BaseTokenizer, Curator
from .data.sources import Tally, count_items, read_items
from .errors import UserError, reported
from .lineage import resolve
from .params import curate as params_mod
from .progress import Progress


def load_tokenizer(base_dir: Path, max_tokens: int) -> BaseTokenizer:
    from transformers import AutoTokenizer

    name, revision = resolve(base_dir)
    tok = AutoTokenizer.from_pretrained(name, revision=revision)
    count = lambda messages: len(tok.apply_chat_template(messages, tokenize=True, return_dict=False))  # noqa: E731
    return BaseTokenizer(count, max_tokens, tuple(special_tokens(tok)))


def token_counter(base_dir: Path) -> Callable[[list[dict]], int]:
    """Tokens of a conversation through the base model's chat template."""
    return load_tokenizer(base_dir, max_tokens=0).count


def main(
    p: params_mod.CurateParams,
    raw: Path,
    out: Path,
    reports: Path,
    metrics: Path,
    tokenizer: BaseTokenizer | None = None,
    manifest: dict | None = None,
    preferences: Path | None = None,
    veto: Path | None = None,
) -> dict:
    start = time.time()
    pii_key = os.environ.get(p.pii.id_key_env, "")
    vetoes = Veto(veto_mod.load(veto), str(veto)) if veto is not None else None
    tally, curator, cover = Tally(), Curator(p, tokenizer, pii_key.encode(), vetoes), Coverage()
    reasons: Counter = Counter()
    buckets: Counter = Counter()
    progress = Progress("curate", total=count_items(raw))
    with (
        JsonlWriter(out / "curated.jsonl") as kept_file,
        JsonlWriter(out / "quarantine.jsonl") as quarantine_file,
    ):
        for row, record in curator.run(read_items(raw, tally)):
            progress.update()
            if record is None:
                kept_file.write(row)
                buckets[(row.get("meta") or {}).get("bucket", "_none")] += 1
                cover.kept(row)
            else:
                quarantine_file.write(record)
                reasons[record["reason"]] += 1
                cover.quarantined(row, record["reason"])
    progress.finish()
    points = cover.rows(p.min_cards_per_point, manifest)
    reports.mkdir(parents=True, exist_ok=True)
    (reports / "coverage.md").write_text(coverage_markdown(points), encoding="utf-8")
    report = {
        "rows_in": tally.records,  # counted by the readers, not derived from the outcome
        "kept": kept_file.rows,
        "quarantined": quarantine_file.rows,
        "quarantined_by_reason": dict(sorted(reasons.items())),
        "blank_lines": tally.blank_lines,
        "files_read": len(tally.files),
        "files_ignored": tally.ignored,
        "rows_by_format": dict(sorted(curator.formats.items())),
        "pii_found_by_type": dict(sorted(curator.pii.by_type.items())),
        "pii_found_by_field": dict(sorted(curator.pii.by_field.items())),
        "pii_id_key": f"${p.pii.id_key_env}" if pii_key else "unset: ids hashed without a secret",
        "special_tokens_escaped": curator.special.escaped,
        "veto_entries": len(curator.veto.entries),
        "veto_unmatched": len(curator.veto.entries) - len(curator.veto.matched),
        "kept_by_bucket": dict(sorted(buckets.items())),
        "coverage_flagged": [f"{c['bucket']}/{c['knowledge_point']}" for c in points if c["flag"]],
        "required_points_flagged": [
            f"{c['bucket']}/{c['knowledge_point']} ({c['cards']} cards, {c['distinct_prompts']} distinct, "
            f"min {c['min_cards']})"
            for c in points
            if c["required"] and c["flag"]
        ],
    }
    if preferences is not None:
        report["preferences"] = curate_preferences(p, preferences, out, tokenizer, pii_key.encode())
    report["seconds"] = round(time.time() - start, 3)
    write_json(metrics, report)
    check(report, p, raw, out)
    if preferences is not None:
        check_counts(report["preferences"], p, preferences, out / "preferences_quarantine.jsonl", "pairs")
    return report


def curate_preferences(
    p: params_mod.CurateParams, preferences: Path, out: Path, tokenizer: BaseTokenizer | None, pii_key: bytes
) -> dict:
    """DPO pairs through the same per-record filters: kept ones to preferences.jsonl, the rest quarantined."""
    tally, curator, reasons = Tally(), PairCurator(p, tokenizer, pii_key), Counter()
    progress = Progress("curate preferences", total=count_items(preferences) if preferences.exists() else 0)
    with (
        JsonlWriter(out / "preferences.jsonl") as kept_file,
        JsonlWriter(out / "preferences_quarantine.jsonl") as quarantine_file,
    ):
        if preferences.exists():  # a project without pairs trains SFT only
            for row, record in curator.run(read_items(preferences, tally)):
                progress.update()
                if record is None:
                    kept_file.write(row)
                else:
                    quarantine_file.write(record)
                    reasons[record["reason"]] += 1
    progress.finish()
    return {
        "rows_in": tally.records,
        "kept": kept_file.rows,
        "quarantined": quarantine_file.rows,
        "quarantined_by_reason": dict(sorted(reasons.items())),
        "files_read": len(tally.files),
        "pii_found_by_type": dict(sorted(curator.pii.by_type.items())),
        "special_tokens_escaped": curator.special.escaped,
    }


def check(report: dict, p: params_mod.CurateParams, raw: Path, out: Path) -> None:
    """Stop the stage (UserError: one line) when its output should not be trained on."""
    if report["rows_in"] == 0:
        found = f"{report['files_read']} data file(s), all empty" if report["files_read"] else "no data files"
        raise UserError(f"no input rows in {raw}: {found} ({report['blank_lines']} blank lines)")
    check_counts(report, p, raw, out / "quarantine.jsonl", "rows")
    if report["veto_unmatched"] and p.stale_veto == "fail":
        raise UserError(
            f"{report['veto_unmatched']} of {report['veto_entries']} rows in the veto list match no curated "
            "row: remove their lines if those rows left the data; if curate now changes them differently "
            "(PII, control tokens), review them again (curate.stale_veto=warn to go on)"
        )
    if report["required_points_flagged"] and p.required_points == "fail":
        raise UserError(
            f"required knowledge points below their minimum: {'; '.join(report['required_points_flagged'])} "
            "(curate.required_points=fail; see reports/curate/coverage.md)"
        )


def check_counts(counts: dict, p: params_mod.CurateParams, source: Path, quarantine: Path, what: str) -> None:
    """Every record read is kept or quarantined, and not too many are quarantined."""
    rows_in, kept, quarantined = counts["rows_in"], counts["kept"], counts["quarantined"]
    if rows_in != kept + quarantined:
        raise UserError(
            f"read {rows_in} {what} from {source} but wrote {kept} kept + {quarantined} quarantined = "
            f"{kept + quarantined}: {what} were lost or invented, which is a bug in curate"
        )
    if rows_in and quarantined / rows_in > p.max_quarantine_share:
        top = ", ".join(
            f"{code} ({n})" for code, n in Counter(counts["quarantined_by_reason"]).most_common(3)
        )
        raise UserError(
            f"{quarantined / rows_in:.0%} of {rows_in} {what} in {source} quarantined, above "
            f"curate.max_quarantine_share={p.max_quarantine_share}; top reasons: {top}; see {quarantine}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Validate, normalise and de-duplicate raw data.")
    parser.add_argument("raw", type=Path, help="a data file or a directory of them")
    parser.add_argument(
        "--preferences", type=Path, help="DPO preference pairs (file or dir) to filter as well"
    )
    parser.add_argument("--veto", type=Path, help="rows reviewers flagged bad (review veto): quarantined")
    parser.add_argument("--base", type=Path, help="base model dir: length in tokens, control tokens")
    parser.add_argument("--knowledge-points", type=Path, help="manifest of required knowledge points")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--reports", type=Path, required=True)
    parser.add_argument("--metrics", type=Path, required=True)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    args = parser.parse_args()
    with reported("curate"):
        params = params_mod.load(args.params)
        max_tokens = params_mod.max_length(args.params)
        tokenizer = load_tokenizer(args.base, max_tokens) if args.base else None
        manifest = load_manifest(args.knowledge_points) if args.knowledge_points else None
        r = main(
            params,
            args.raw,
            args.out,
            args.reports,
            args.metrics,
            tokenizer,
            manifest,
            args.preferences,
            args.veto,
        )
    formats = ", ".join(f"{n} {fmt}" for fmt, n in r["rows_by_format"].items())
    print(f"curate: {r['rows_in']} in ({formats}), {r['kept']} kept, {r['quarantined']} quarantined")
    if pairs := r.get("preferences"):
        print(
            f"curate: {pairs['rows_in']} preference pairs in, {pairs['kept']} kept, "
            f"{pairs['quarantined']} quarantined"
        )
    if r["veto_unmatched"]:
        print(
            f"curate: warning: {r['veto_unmatched']} of {r['veto_entries']} vetoed rows match no row any more"
        )
    for point in r["required_points_flagged"]:
        print(f"curate: warning: required knowledge point {point} (curate.min_cards_per_point)")
