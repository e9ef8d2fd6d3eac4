"""Curate's per-record pipeline and what it remembers: filters in order, dedup, counters.

    curator = Curator(params, tokenizer)
    for row, record in curator.run(read_items(Path("data/raw"), Tally())):
        ...   # (kept row, None) or (the row if it parsed, quarantine record), in input order

Per record: filters.read_record (bytes -> normalised conversation) -> the stateless filters
(length in characters, control tokens of the base tokenizer, length in tokens, PII policy) ->
dedup.Dedup (exact, id, label conflict, near-duplicate) -> the reviewers' veto list, last, on the
row as curated: a vetoed row's duplicates and near-duplicates stay out with it. Near-duplicate
signatures are computed for a batch of records in one numpy pass, and every decision is still taken
record by record in input order, so the batch size changes nothing but speed. Any exception inside one record
quarantines that record as `row_error`: one record never stops the stage.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from ..params.curate import CurateParams
from .dedup import Dedup
from .filters import MaxChars, MaxTokens, Pii, Problem, SpecialTokens, Veto, read_record
from .sources import Item

BATCH = 1024  # records per near-duplicate signature batch: one numpy pass instead of 1024


@dataclass(frozen=True)
class BaseTokenizer:
    """What curate needs from the base model's tokenizer."""

    count: Callable[[list[dict]], int]  # tokens of a conversation through the chat template
    max_tokens: int
    special: tuple[str, ...] = ()


class Curator:
    """The per-record pipeline and what it remembers: filters in order, dedup, counters."""

    def __init__(
        self,
        p: CurateParams,
        tokenizer: BaseTokenizer | None = None,
        pii_key: bytes = b"",
        veto: Veto | None = None,
    ) -> None:
        self.p = p
        self.special = SpecialTokens(tokenizer.special if tokenizer else (), p.special_tokens)
        self.pii = Pii(p.pii.policy, p.pii.types, pii_key)
        self.veto = veto or Veto({})
        tokens = (
            [MaxTokens(tokenizer.count, tokenizer.max_tokens)] if tokenizer and tokenizer.max_tokens else []
        )
        self.filters = [MaxChars(p.max_chars), self.special, *tokens, self.pii]
        self.dedup = Dedup(p.near_dup, p.label_conflict)
        self.formats: Counter = Counter()

    def run(self, items: Iterable[Item]) -> Iterator[tuple[dict | None, dict | None]]:
        """(kept row, None) or (the row if it parsed, quarantine record) per record, in input order."""
        items = iter(items)
        while batch := list(islice(items, BATCH)):
            screened = [self.screen(item) for item in batch]
            prepared = iter(self.prepare([row for row, problem in screened if problem is None]))
            for item, (row, problem) in zip(batch, screened, strict=True):
                if problem is None:
                    problem = self.admit(row, next(prepared))
                yield (row, None) if problem is None else (row, quarantine_record(item, problem))

    def screen(self, item: Item) -> tuple[dict | None, Problem | None]:
        """One record read and through the stateless filters; the first that rejects it wins.

        Any exception inside is this record's problem (`row_error`): one record never stops curate.
        """
        row = None
        try:
            row, fmt, problem = read_record(
                item[3], self.p.format, self.p.max_line_bytes, self.p.final_assistant
            )
            if row is None:
                return None, problem
            self.formats[fmt] += 1
            if row.get("id") is None:
                row["id"] = default_id(item)
            row["id"] = str(row["id"])
            for check in self.filters:
                if problem := check(row):
                    return row, problem
            return row, None
        except Exception as e:  # noqa: BLE001 - counted and kept in quarantine, never silent
            return row, crashed(e)

    def prepare(self, rows: list[dict]) -> list:
        """Near-duplicate signatures for a batch; should one row break the batch, each on its own."""
        try:
            return self.dedup.prepare(rows)
        except Exception:  # noqa: BLE001 - find the row at fault instead of losing the batch
            return [self._prepare_one(row) for row in rows]

    def _prepare_one(self, row: dict):
        try:
            return self.dedup.prepare([row])[0]
        except Exception as e:  # noqa: BLE001
            return e

    def admit(self, row: dict, prepared) -> Problem | None:
        """Dedup, then the veto list: a vetoed row's duplicates stay out with it (dedup remembers it),
        while its answer binds no label, so a corrected row with the same prompt is kept."""
        if isinstance(prepared, Exception):
            return crashed(prepared)
        try:
            problem = self.dedup.admit(row, prepared)
            if problem is None and (problem := self.veto(row)):
                self.dedup.veto(row)
            return problem
        except Exception as e:  # noqa: BLE001
            return crashed(e)


def default_id(item: Item) -> str:
    """A record without an id: its file stem and line (or #row), stable as long as the file is."""
    file, unit, number, _ = item
    return f"{Path(file).name.split('.')[0]}{':' if unit == 'line' else '#'}{number}"


def crashed(e: Exception) -> Problem:
    return "row_error", f"{type(e).__name__}: {str(e)[:200]}"


def quarantine_record(item: Item, problem: Problem) -> dict:
    file, unit, number, raw = item
    code, message = problem
    return {
        "file": file,
        unit: number,
        "reason": code,
        "message": message,
        "raw": raw.decode("utf-8", "replace"),
    }


def curate(
    items: Iterable[Item],
    p: CurateParams,
    tokenizer: BaseTokenizer | None = None,
    pii_key: bytes = b"",
    veto: Veto | None = None,
):
    """(kept rows, quarantine records, the Curator with its counters), in memory: for tests and notebooks."""
    curator = Curator(p, tokenizer, pii_key, veto)
    kept, quarantined = [], []
    for row, record in curator.run(items):
        (kept if record is None else quarantined).append(row if record is None else record)
    return kept, quarantined, curator
