"""Everything curate remembers about the rows it kept: content hashes, ids, labels, MinHash bands.

    dedup = Dedup(p.near_dup)
    prepared = dedup.prepare(rows)                 # near-duplicate signatures, one numpy pass
    problem = dedup.admit(row, prepared[i])        # per row, in input order

`admit` is a filter like those in filters.py, checked in this order:
- duplicate: the same messages (after normalisation) as a kept row;
- duplicate_id: an id a kept row already has;
- label_conflict: the same prompt (every message before the last, compared like answers are:
  case, spacing and edge punctuation aside) as a kept row, but another answer. The first row
  seen is kept, so the outcome does not depend on rows that come later; each later one is
  quarantined naming the kept row and its answer (`curate.label_conflict: keep` turns this off,
  for data with several good answers per prompt);
- near_duplicate: estimated Jaccard >= curate.near_dup.threshold with a kept row (`keep` mode
  admits it into that row's cluster instead).
Only kept rows are remembered (and rows a reviewer vetoed once admitted, named as vetoed), so every
rejection points at a row that is in the output or in the veto list. Memory is a few hashes per
kept row, never the rows.
"""

from __future__ import annotations

import hashlib
import json

from ..params.curate import CurateNearDupParams
from .filters import Problem, text_of
from .neardup import NearDupIndex, Prepared
from .texts import normalize_answer


def _digest(value: object) -> bytes:
    return hashlib.blake2b(json.dumps(value, ensure_ascii=False).encode(), digest_size=16).digest()


def content_key(row: dict) -> bytes:
    return _digest([[m["role"], m["content"]] for m in row["messages"]])


def prompt_key(prompt: list[dict]) -> bytes:
    """What makes two prompts "the same prompt": every message, system included, with its role,
    its text compared like answers are (case, spacing and edge punctuation aside)."""
    return _digest([[m["role"], normalize_answer(m["content"])] for m in prompt])


def prompt_and_answer(row: dict) -> tuple[bytes, str] | None:
    """(prompt key, answer) of a row that ends with an assistant turn, else None."""
    *prompt, last = row["messages"]
    if last["role"] != "assistant" or not prompt:
        return None
    return prompt_key(prompt), last["content"]


class Dedup:
    def __init__(self, near: CurateNearDupParams, label_conflict: str = "quarantine") -> None:
        self.near = NearDupIndex(near)
        self.keep_near = near.action == "keep"
        self.check_labels = label_conflict == "quarantine"
        self.seen: dict[bytes, str] = {}  # content hash -> kept id
        self.ids: set[str] = set()
        self.labels: dict[bytes, tuple[str, str]] = {}  # prompt hash -> (kept id, its answer)
        self.vetoed: dict[str, str] = {}  # admitted, then vetoed by a reviewer: id -> its answer

    def prepare(self, rows: list[dict]) -> list[Prepared]:
        return self.near.prepare([text_of(row) for row in rows])

    def admit(self, row: dict, prepared: Prepared) -> Problem | None:
        """None and the row is remembered as kept (with its `cluster`), or why it is not kept."""
        key = content_key(row)
        if key in self.seen:
            return "duplicate", f"same messages as {self._row(self.seen[key])}"
        if row["id"] in self.ids:
            return "duplicate_id", f"id {row['id']!r} is already used by a kept row; ids must be unique"
        labelled = prompt_and_answer(row) if self.check_labels else None
        if labelled is not None and labelled[0] in self.labels:
            kept, answer = self.labels[labelled[0]]
            if normalize_answer(answer) != normalize_answer(labelled[1]):
                return "label_conflict", (
                    f"same prompt as kept row {kept!r}, which answers {answer[:80]!r}, not "
                    f"{labelled[1][:80]!r}; the first row is kept (curate.label_conflict)"
                )
        original = self.near.add_prepared(row["id"], prepared)
        if original is not None and not self.keep_near and not self._corrects(original, labelled):
            return "near_duplicate", f"near-duplicate of {self._row(original)}"
        row["cluster"] = self.near.cluster_of(row["id"])  # the first kept member's id: final already
        self.seen[key] = row["id"]
        self.ids.add(row["id"])
        if labelled is not None:
            self.labels.setdefault(labelled[0], (row["id"], labelled[1]))
        return None

    def veto(self, row: dict) -> None:
        """A row admitted here that a reviewer vetoed: its duplicates and near-duplicates stay out with
        it, but its answer is no label, so a corrected row (the same prompt, or nearly, with another
        answer) is kept."""
        labelled = prompt_and_answer(row)
        self.vetoed[row["id"]] = labelled[1] if labelled else ""
        if labelled is not None and self.labels.get(labelled[0], ("",))[0] == row["id"]:
            del self.labels[labelled[0]]

    def _corrects(self, original: str, labelled: tuple[bytes, str] | None) -> bool:
        """A near-duplicate of a vetoed row with another answer is its correction, not its copy."""
        if original not in self.vetoed or labelled is None:
            return False
        return normalize_answer(labelled[1]) != normalize_answer(self.vetoed[original])

    def _row(self, row_id: str) -> str:
        return f"{'vetoed' if row_id in self.vetoed else 'kept'} row {row_id!r}"
