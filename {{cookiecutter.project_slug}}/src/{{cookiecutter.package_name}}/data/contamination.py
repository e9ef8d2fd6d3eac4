"""Eval sets for decontamination: every record of every source read, indexed, or reported.

    with JsonlWriter(out / "rejected.jsonl") as rejected:
        index, counts = build_index(params, [Path("data/split/test.jsonl"), Path("data/golden")], rejected)

Sources are read like curate's input (data/sources.py), plus `.txt` files with one eval text per
line. A record that cannot be read is written to `rejected` with its file:line (or row), reason
and message, never skipped silently; a source with no readable record stops the stage, and so
does any unreadable record unless `decontaminate.bad_eval_items` is `warn`.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import UserError
from ..params.decontaminate import DecontaminateParams
from .jsonl import JsonlError, JsonlWriter, parse
from .ngrams import EvalIndex
from .sources import Item, Tally, read_items, rejected_record, where
from .texts import TextError, eval_texts

TEXT = (".txt",)  # benchmarks as plain text, one eval text per line
Problem = tuple[str, str]


def problem_of(e: Exception) -> Problem:
    """Why a record cannot be read, as a reason code and a message."""
    if isinstance(e, JsonlError):
        return "invalid_json", str(e)
    if isinstance(e, TextError):
        return "bad_item", str(e)
    if isinstance(e, UnicodeDecodeError):
        return "invalid_utf8", f"not UTF-8 at byte {e.start}"
    return "row_error", f"{type(e).__name__}: {str(e)[:200]}"


def eval_records(item: Item) -> tuple[str, list[str]]:
    """(item id, texts) of one eval record; a .txt line is its own text."""
    at = where(item)
    file, _, number, raw = item
    if file.lower().endswith(TEXT):
        return f"{Path(file).name}:{number}", [raw.decode("utf-8")]
    row = parse(at, raw)
    return str(row.get("id", at)), eval_texts(row)


def build_index(p: DecontaminateParams, against: list[Path], rejected: JsonlWriter) -> tuple[EvalIndex, dict]:
    """The index of every eval text and per-set counts; unreadable eval records go to `rejected`.

    Stops the stage when a source has no readable item (it would be "decontaminated against
    nothing"), and, with bad_eval_items=fail, when any item could not be read.
    """
    index = EvalIndex(n=p.ngram, min_words=p.min_words, boilerplate=p.boilerplate, window=p.window)
    sets: dict[str, dict] = {}
    first_bad = ""
    for path in against:
        name = path.stem if path.is_file() else path.name
        counts = sets.setdefault(name, {"items": 0, "rejected": 0, "texts_indexed": 0, "too_short": 0})
        indexed, short, items, bad = (
            index.indexed,
            index.skipped_short,
            counts["items"],
            counts["rejected"],
        )
        for item in read_items(path, Tally(), also=TEXT):
            try:
                item_id, texts = eval_records(item)
            except Exception as e:  # noqa: BLE001 - reported with its file:line, never silent
                problem = problem_of(e)
                rejected.write(rejected_record(item, name, problem))
                counts["rejected"] += 1
                first_bad = first_bad or f"{where(item)}: {problem[1]}"
                continue
            index.add(name, item_id, texts)
            counts["items"] += 1
        counts["texts_indexed"] += index.indexed - indexed
        counts["too_short"] += index.skipped_short - short
        if counts["items"] == items:
            unreadable = counts["rejected"] - bad
            listed = f" ({unreadable} unreadable, listed in {rejected.path})" if unreadable else ""
            raise UserError(
                f"{path}: no {'readable ' if unreadable else ''}eval items, so nothing would be checked "
                f"against it{listed}; fill it, or take it out of the decontaminate stage (--against in "
                "dvc.yaml, or decontaminate.benchmarks)"
            )
    n_bad = sum(c["rejected"] for c in sets.values())
    if n_bad and p.bad_eval_items == "fail":
        raise UserError(
            f"{n_bad} eval item(s) could not be read, so training rows were not checked against them "
            f"(first: {first_bad}); they are listed in {rejected.path} (decontaminate.bad_eval_items=fail)"
        )
    return index, sets
