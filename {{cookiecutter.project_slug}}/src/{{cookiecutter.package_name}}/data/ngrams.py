"""Normalised word n-grams and an index of eval texts to test training rows against.

Normalisation lowercases, folds Unicode (NFKC), turns punctuation into spaces and collapses
whitespace (wordhash.py), so case, punctuation and spacing changes do not hide a copy. Each
message is n-grammed on its own, so reordering turns does not hide one either.

Speed comes from doing the work in numpy over a batch of rows at once: words are hashed without
a Python loop (wordhash.py), each n-gram hash is a wrapping dot product of its word hashes with
fixed random odd weights, and a bitmap of the eval n-gram hashes rejects almost every training
n-gram before any Python-level lookup. Memory grows with the number of eval n-grams, not with
the training data. Eval texts shorter than n words are matched on their whole normalised text:
found through their rarest word trigram, then confirmed by a substring test.
"""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np

from .wordhash import blobs, normalised, word_hashes

ANCHOR = 3  # trigram anchors for eval texts shorter than n
BITMAP_BITS = 23  # 8 MiB of flags: ~2% false candidates at 200k eval n-grams, all re-checked exactly


def words(text: str) -> list[str]:
    return normalised(text).decode().split()


class Segments:
    """The word hashes of many texts in one array, with where each text starts and ends."""

    def __init__(self, texts: list[str]):
        self.texts = texts
        hashes, starts, counts, offset = [], [], [], 0
        for _, _, blob in blobs(texts):
            h, first, count = word_hashes(blob)
            hashes.append(h)
            starts.append(first + offset)
            counts.append(count)
            offset += len(h)
        self.hashes = np.concatenate(hashes) if hashes else np.zeros(0, dtype=np.uint64)
        counts = np.concatenate(counts) if counts else np.zeros(0, dtype=np.int64)
        self.starts = np.concatenate(starts) if starts else np.zeros(0, dtype=np.int64)
        self.ends = self.starts + counts
        self.segment_of = np.repeat(np.arange(len(counts)), counts)

    def grams(self, weights: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(positions, hashes) of every k-word window that lies inside one text."""
        m = len(self.hashes) - k + 1
        if m <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint64)
        g = self.hashes[:m] * weights[0]
        for j in range(1, k):
            g += self.hashes[j : j + m] * weights[j]  # uint64 arithmetic wraps: a hash, not a sum
        positions = np.arange(m)
        inside = positions + k <= self.ends[self.segment_of[:m]]
        return positions[inside], g[inside]

    def text(self, s: int) -> str:
        return " " + " ".join(words(self.texts[s])) + " "


class EvalIndex:
    """Eval texts by n-gram hash (long texts) or anchor trigram (texts shorter than n)."""

    def __init__(self, n: int, min_words: int, seed: int = 0):
        if min_words < ANCHOR:
            raise ValueError(f"decontaminate.min_words is {min_words}; it must be at least {ANCHOR}")
        self.n, self.min_words = n, min_words
        rng = np.random.default_rng(seed)
        self.weights = rng.integers(1, 2**63, size=max(n, ANCHOR), dtype=np.uint64) | np.uint64(1)
        self.owners: dict[int, list[int]] = defaultdict(list)  # n-gram hash -> eval keys
        self.anchors: dict[int, list[int]] = defaultdict(list)  # trigram hash -> short eval keys
        self.sizes: list[int] = []  # distinct n-grams per eval text (1 for short texts)
        self.items: list[tuple[str, str]] = []  # (eval set, item id) per key
        self.short_text: dict[int, str] = {}
        self.skipped_short = 0
        self._short: list[tuple[int, str]] = []
        self._bitmaps: tuple[np.ndarray, np.ndarray] | None = None

    def add(self, eval_set: str, item_id: str, texts: list[str]) -> None:
        for text in texts:
            tokens = words(text)
            if len(tokens) < self.min_words:
                self.skipped_short += 1
                continue
            key = len(self.items)
            self.items.append((eval_set, item_id))
            if len(tokens) < self.n:
                self.sizes.append(1)
                self.short_text[key] = " " + " ".join(tokens) + " "
                self._short.append((key, text))
                continue
            grams = set(Segments([text]).grams(self.weights, self.n)[1].tolist())
            self.sizes.append(len(grams))
            for h in grams:
                self.owners[h].append(key)
        self._bitmaps = None

    def _finalize(self) -> tuple[np.ndarray, np.ndarray]:
        if self._short:  # anchor each short text on its rarest trigram to keep candidate lists short
            trigrams = {k: set(Segments([t]).grams(self.weights, ANCHOR)[1].tolist()) for k, t in self._short}
            frequency = Counter(h for hs in trigrams.values() for h in hs)
            for key, hs in trigrams.items():
                self.anchors[min(hs, key=lambda h: (frequency[h], h))].append(key)
            self._short.clear()
        mask = (1 << BITMAP_BITS) - 1
        bitmaps = []
        for table in (self.owners, self.anchors):
            bitmap = np.zeros(1 << BITMAP_BITS, dtype=bool)
            bitmap[np.fromiter(table, dtype=np.uint64, count=len(table)) & np.uint64(mask)] = True
            bitmaps.append(bitmap)
        self._bitmaps = (bitmaps[0], bitmaps[1])
        return self._bitmaps

    def _candidates(self, segments: Segments, k: int, bitmap: np.ndarray):
        positions, hashes = segments.grams(self.weights, k)
        keep = bitmap[hashes & np.uint64(len(bitmap) - 1)]
        return zip(segments.segment_of[positions[keep]].tolist(), hashes[keep].tolist(), strict=True)

    def match_rows(self, rows: list[list[str]], threshold: float) -> list[list[tuple[str, str, float]]]:
        """For each row (its message texts): (eval set, item id, overlap) of eval texts it contains."""
        grams_bitmap, anchor_bitmap = self._bitmaps or self._finalize()
        row_of = [r for r, texts in enumerate(rows) for _ in texts]
        segments = Segments([t for texts in rows for t in texts])
        seen: set[tuple[int, int]] = set()
        hits: list[Counter[int]] = [Counter() for _ in rows]
        for s, h in self._candidates(segments, self.n, grams_bitmap):
            row = row_of[s]
            if h in self.owners and (row, h) not in seen:  # each distinct n-gram counts once per row
                seen.add((row, h))
                hits[row].update(self.owners[h])
        for s, h in self._candidates(segments, ANCHOR, anchor_bitmap):
            for key in self.anchors.get(h, ()):
                if self.short_text[key] in segments.text(s):
                    hits[row_of[s]][key] = 1
        return [self._scores(counter, threshold) for counter in hits]

    def _scores(self, hits: Counter[int], threshold: float) -> list[tuple[str, str, float]]:
        out: dict[tuple[str, str], float] = {}
        for key, count in hits.items():
            score = count / self.sizes[key]
            if score >= threshold:
                item = self.items[key]
                out[item] = max(score, out.get(item, 0.0))
        return sorted((s, i, round(v, 3)) for (s, i), v in out.items())

    def matches(self, texts: list[str], threshold: float) -> list[tuple[str, str, float]]:
        return self.match_rows([texts], threshold)[0]
