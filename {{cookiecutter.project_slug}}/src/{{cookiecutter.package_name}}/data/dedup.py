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
Only kept rows are remembered, so every rejection points at a row that is in the output. Memory
is a few hashes per kept row, never the rows.
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

    def prepare(self, rows: list[dict]) -> list[Prepared]:
        return self.near.prepare([text_of(row) for row in rows])

    def admit(self, row: dict, prepared: Prepared) -> Problem | None:
        """None and the row is remembered as kept (with its `cluster`), or why it is not kept."""
        key = content_key(row)
        if key in self.seen:
            return "duplicate", f"same messages as kept row {self.seen[key]!r}"
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
        if original is not None and not self.keep_near:
            return "near_duplicate", f"near-duplicate of kept row {original!r}"
        row["cluster"] = self.near.cluster_of(row["id"])  # the first kept member's id: final already
        self.seen[key] = row["id"]
        self.ids.add(row["id"])
        if labelled is not None:
            self.labels.setdefault(labelled[0], (row["id"], labelled[1]))
        return None
