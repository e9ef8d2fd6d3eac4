"""Human review: export a blind sheet, serve it to reviewers, aggregate their verdicts.

    python -m PACKAGE.review export      # data/review/: sheet.json, key.json, review.html
    python -m PACKAGE.review serve       # http://127.0.0.1:8765: reviewers click through
    python -m PACKAGE.review aggregate   # metrics/review.json
    python -m PACKAGE.review export-data # data/review-data/: the data-only sheet, before training
    python -m PACKAGE.review veto        # rows flagged bad on data/review-data -> data/veto.jsonl

`make review` runs export and serve; `make review-done` runs aggregate and puts data/review
under DVC. The sheet holds `review.per_bucket` curated rows per bucket (is this a good training
example?) and `review.ab_per_bucket` items per eval set and bucket where the base and the
fine-tuned model answered differently, as answers A and B in a seeded random order; which
model wrote which is in `key.json`, which the page never receives. Verdicts are appended to
`data/review/verdicts.jsonl` by the server; `review.html` also works opened as a file, without
a server, and then downloads `verdicts-<name>.jsonl`, which aggregate reads too. Aggregate
writes the fine-tuned model's win rate per bucket and set, the data-check results with the rows
reviewers flagged, and inter-reviewer agreement. The sheet records the sha256 of the
predictions it came from, so release accepts a review only of the model it releases.

The data-only sheet (`make review-data`, right after `dvc repro curate`) needs no model: it holds
`review.data_rows` curated rows drawn from every bucket and knowledge point in turn, on the same
page and server. `veto` turns the rows flagged bad (on either sheet) into data/veto.jsonl, a small
file in Git that curate honours on the next run: those rows are quarantined as `vetoed`, with the
reviewer's note.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
from pathlib import Path

from .data import veto as veto_mod
from .data.filters import fingerprint
from .data.jsonl import read_json, read_jsonl, read_records, write_json
from .errors import UserError, reported
from .human import agreement, server, sheet
from .params import review as params_mod
from .registry.readiness import predictions_sha256

REVIEW_DIR = Path("data/review")
DATA_REVIEW_DIR = Path("data/review-data")
VETO = Path("data/veto.jsonl")


def export(
    p: params_mod.ReviewParams, curated: Path, predictions: Path, out: Path, force: bool = False
) -> dict:
    if not predictions.exists():
        raise UserError(f"{predictions}: no predictions to review; run `dvc repro` first")
    digest = predictions_sha256(predictions)
    previous = _previous(out, "predictions_sha256", digest, force, "another model's answers", "review-done")
    if previous is not None:
        return previous  # the same model's answers: reviewers carry on where they stopped
    items = sheet.sample_items(list(read_jsonl(curated)), p.per_bucket, p.seed) if curated.exists() else []
    ab, key, identical = sheet.ab_items(list(read_jsonl(predictions)), p.sets, p.ab_per_bucket, p.seed)
    data = {
        "created_at": _now(),
        "predictions_sha256": digest,
        "seed": p.seed,
        "identical_pairs_left_out": identical,
        "items": items + ab,
    }
    return _write(out, data, key, force)


def export_data(p: params_mod.ReviewParams, curated: Path, out: Path, force: bool = False) -> dict:
    """The data-only sheet: curated rows to read before a run is paid for; no model needed."""
    if not curated.exists():
        raise UserError(f"{curated}: no curated rows to review; run `dvc repro curate` first")
    digest = hashlib.sha256(curated.read_bytes()).hexdigest()
    previous = _previous(out, "curated_sha256", digest, force, "other curated data", "review-data-done")
    if previous is not None:
        return previous  # the same data: reviewers carry on where they stopped
    data = {
        "created_at": _now(),
        "curated_sha256": digest,
        "predictions_sha256": None,
        "seed": p.seed,
        "items": sheet.data_items(list(read_jsonl(curated)), p.data_rows, p.seed),
    }
    return _write(out, data, {}, force)


def _previous(out: Path, field: str, digest: str, force: bool, other: str, done: str) -> dict | None:
    """The sheet in `out` if it was made from the same input; verdicts on another input stop a new one."""
    old = out / "sheet.json"
    if not old.exists() or force:
        return None
    previous = read_json(old)
    if previous.get(field) == digest:
        return previous
    if any(out.glob("verdicts*.jsonl")):
        raise UserError(
            f"{out} holds verdicts on {other}: run `make {done}` and commit, "
            "then remove the verdicts*.jsonl files (or pass --force to start a new sheet over them)"
        )
    return None


def _write(out: Path, data: dict, key: dict, force: bool) -> dict:
    """sheet.json, key.json and the page; --force drops the verdicts on the sheet it replaces."""
    if force:
        for stale in out.glob("verdicts*.jsonl"):
            stale.unlink()
    write_json(out / "sheet.json", data)
    write_json(out / "key.json", key)
    (out / "review.html").write_text(server.page(data), encoding="utf-8")
    return data


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def veto(review_dir: Path, veto_file: Path) -> dict:
    """Rows any reviewer's last verdict calls bad, on either sheet, added to the veto list; a reviewer
    whose last verdict on a row is now "ok" is taken off its entry, and an entry nobody holds goes."""
    try:
        data = read_json(review_dir / "sheet.json")
    except FileNotFoundError as e:
        raise UserError(f"{e.filename}: missing; run `make review-data` (review export-data) first") from None
    items = {item["id"]: item for item in data["items"] if item["kind"] == "sample"}
    verdicts = read_verdicts(review_dir, {item["id"]: item for item in data["items"]})
    if not verdicts:
        raise UserError(f"{review_dir}: no verdicts*.jsonl yet; nobody has reviewed this sheet")
    # The last verdict by time, not by file: an offline page's file and the server's are merged.
    last = agreement.latest(sorted(verdicts, key=lambda v: v.get("at") or ""))
    flagged: dict[str, dict] = {}
    cleared: dict[str, set[str]] = {}
    for (reviewer, item_id), v in sorted(last.items()):
        if item_id not in items:
            continue
        item = items[item_id]
        digest = item.get("row_sha256") or fingerprint(item["messages"])
        if v["verdict"] != "bad":
            cleared.setdefault(digest, set()).add(reviewer)
            continue
        entry = flagged.setdefault(
            digest,
            {
                "row_sha256": digest,
                "row_id": item["row_id"],
                "bucket": item["bucket"],
                "knowledge_point": item.get("knowledge_point", ""),
                "reviewers": [],
                "notes": [],
                "at": v.get("at") or "",
            },
        )
        entry["reviewers"].append(reviewer)
        entry["notes"] += [v["note"]] if v.get("note") else []
    added, removed, total = veto_mod.update(veto_file, list(flagged.values()), cleared)
    reviewed = {item_id for _, item_id in last if item_id in items}
    return {
        "rows_reviewed": len(reviewed),
        "flagged": len(flagged),
        "added": added,
        "removed": removed,
        "veto_total": total,
    }


def read_verdicts(review_dir: Path, items: dict[str, dict]) -> list[dict]:
    """Every verdicts*.jsonl: the server's file and pages downloaded by offline reviewers.

    Each line is checked as the server checks a post (a downloaded file is anyone's text): a verdict
    that is not one of the item's choices, such as "finetuned", would skip the blinding. Any bad
    line stops aggregate, naming file:line, since a win rate over the rest would hide it.
    """
    verdicts, problems = [], []
    for file in sorted(review_dir.glob("verdicts*.jsonl")):
        for where, row in read_records(file):
            _, problem = server.check_verdict(row, items)
            if problem:
                problems.append(f"{where}: {problem}")
            else:
                verdicts.append({**row, "reviewer": row["reviewer"].strip()})
    if problems:
        shown = "\n  ".join(problems[:10]) + (
            f"\n  ... and {len(problems) - 10} more" if len(problems) > 10 else ""
        )
        raise UserError(f"{len(problems)} verdict line(s) are not valid; fix or remove them:\n  {shown}")
    return verdicts


def aggregate(review_dir: Path, metrics: Path) -> dict:
    try:
        data = read_json(review_dir / "sheet.json")
        key = read_json(review_dir / "key.json")
    except FileNotFoundError as e:
        raise UserError(f"{e.filename}: missing; run `make review` (review export) first") from None
    verdicts = read_verdicts(review_dir, {item["id"]: item for item in data["items"]})
    if not verdicts:
        raise UserError(f"{review_dir}: no verdicts*.jsonl yet; nobody has reviewed this sheet")
    report = agreement.aggregate(data, key, verdicts)
    write_json(metrics, report)
    return report


def serve(review_dir: Path, port: int) -> None:
    if not (review_dir / "sheet.json").exists():
        raise UserError(f"{review_dir / 'sheet.json'}: missing; run `make review` (review export) first")
    httpd = server.make_server(review_dir, port=port)
    print(f"review: open http://127.0.0.1:{httpd.server_address[1]}/ (Ctrl+C when done)", flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        print("review: stopped; run `make review-done` to aggregate and version the verdicts")
    finally:
        httpd.server_close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Blind human review of data and answers.")
    parser.add_argument("action", choices=["export", "serve", "aggregate", "export-data", "veto"])
    parser.add_argument(
        "--dir", type=Path, help=f"default: {REVIEW_DIR}; {DATA_REVIEW_DIR} for export-data and veto"
    )
    parser.add_argument("--veto", type=Path, default=VETO, help="the veto list that curate honours")
    parser.add_argument("--curated", type=Path, default=Path("data/curated/curated.jsonl"))
    parser.add_argument("--predictions", type=Path, default=Path("reports/evaluate/predictions.jsonl"))
    parser.add_argument("--metrics", type=Path, default=Path("metrics/review.json"))
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--port", type=int, help="default: review.port")
    parser.add_argument("--force", action="store_true", help="export a new sheet even over existing verdicts")
    args = parser.parse_args()
    with reported("review"):
        p = params_mod.load(args.params)
        args.dir = args.dir or (DATA_REVIEW_DIR if args.action in ("export-data", "veto") else REVIEW_DIR)
        if args.action == "export-data":
            s = export_data(p, args.curated, args.dir, args.force)
            groups = {(i["bucket"], i["knowledge_point"]) for i in s["items"]}
            print(f"review: {len(s['items'])} curated rows from {len(groups)} knowledge points in {args.dir}")
        elif args.action == "veto":
            r = veto(args.dir, args.veto)
            print(
                f"review: {r['flagged']} of {r['rows_reviewed']} reviewed rows flagged bad, {r['added']} new "
                f"and {r['removed']} cleared in {args.veto} ({r['veto_total']} in all); commit it, then "
                "`dvc repro` quarantines them"
            )
        elif args.action == "export":
            s = export(p, args.curated, args.predictions, args.dir, args.force)
            kinds = [i["kind"] for i in s["items"]]
            print(
                f"review: {kinds.count('sample')} data checks and {kinds.count('ab')} A/B items in {args.dir}"
            )
        elif args.action == "serve":
            serve(args.dir, args.port if args.port is not None else p.port)
        else:
            r = aggregate(args.dir, args.metrics)
            print(f"review: {len(r['reviewers'])} reviewer(s), fine-tuned win rate {r['ab']['win_rate']}")
