"""Normalised word n-grams and an index of eval items to test training rows against.

Normalisation lowercases, folds Unicode (NFKC), turns punctuation into spaces and collapses
whitespace, so case, punctuation and spacing changes do not hide a copy. Each message is
n-grammed on its own, so reordering turns does not hide one either. Lookups are hash-set
membership tests: linear in the data, no pairwise comparison.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field

_PUNCT = re.compile(r"[^\w\s]|_")


def words(text: str) -> list[str]:
    return _PUNCT.sub(" ", unicodedata.normalize("NFKC", text).lower()).split()


def grams(tokens: list[str], n: int) -> set[int]:
    return {hash(tuple(tokens[i : i + n])) for i in range(len(tokens) - n + 1)}


def message_texts(row: dict) -> list[str]:
    """The text a conversation contributes: every non-system message (the system prompt is shared)."""
    return [m["content"] for m in row.get("messages", []) if m.get("role") != "system"]


@dataclass
class EvalIndex:
    """Eval messages hashed into n-grams; messages shorter than n are one gram of their own length."""

    n: int
    min_words: int
    owners: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    sizes: list[int] = field(default_factory=list)
    items: list[tuple[str, str]] = field(default_factory=list)  # (eval set, item id)
    lengths: set[int] = field(default_factory=set)
    skipped_short: int = 0

    def add(self, eval_set: str, item_id: str, texts: list[str]) -> None:
        for text in texts:
            tokens = words(text)
            if len(tokens) < self.min_words:
                self.skipped_short += 1
                continue
            size = min(len(tokens), self.n)
            hashes = grams(tokens, size)
            key = len(self.sizes)
            self.items.append((eval_set, item_id))
            self.sizes.append(len(hashes))
            self.lengths.add(size)
            for h in hashes:
                self.owners[h].add(key)

    def matches(self, texts: list[str], threshold: float) -> list[tuple[str, str, float]]:
        """(eval set, item id, overlap) for every eval message whose n-gram overlap >= threshold."""
        found: set[int] = set()
        for text in texts:
            tokens = words(text)
            for size in self.lengths:
                found |= grams(tokens, size) & self.owners.keys()
        hits: dict[int, int] = defaultdict(int)
        for h in found:
            for key in self.owners[h]:
                hits[key] += 1
        out = {}
        for key, count in hits.items():
            score = count / self.sizes[key]
            if score >= threshold:
                eval_set, item_id = self.items[key]
                out[(eval_set, item_id)] = max(score, out.get((eval_set, item_id), 0.0))
        return sorted((s, i, round(v, 3)) for (s, i), v in out.items())
