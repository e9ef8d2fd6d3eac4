"""Folded word n-grams and an index of eval texts to test training rows against.

Texts are folded first (fold.py: Unicode compatibility forms, default-ignorable code points,
combining marks, confusable look-alikes, case, punctuation, spacing and number words), so a
copy in disguise hashes like the original. Each message is n-grammed on its own, so reordering
turns does not hide a copy, and a row's messages count together, so splitting one does not.

A row's score against an eval text is local containment: the share of the eval text's words
that lie inside some n-gram the row shares with it, each word weighted by how distinctive its
n-grams are. An n-gram found in `boilerplate` or more distinct eval texts (a shared instruction,
"Read the passage and answer…") weighs nothing, one in k texts weighs 1/k², so rows that share
only instructions score zero while a copied passage scores as if the instruction were absent.
Words covered rather than n-grams shared: replacing one word in ten or reordering clauses breaks
the n-grams across the change, yet most words stay inside an intact one. Long eval texts are
scored on their best `window` weighted words, so a row that copies part of a long passage counts.

Speed comes from doing the work in numpy over a batch of rows at once: words are hashed without
a Python loop (wordhash.py), each n-gram hash is a wrapping dot product of its word hashes with
fixed random odd weights, and a bitmap of the eval n-gram hashes rejects almost every training
n-gram before any Python-level lookup. Memory grows with the number of eval n-grams, not with
the training data. Eval texts shorter than n words are matched on their whole folded text:
found through their rarest word trigram, then confirmed by a substring test.
"""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np

from .fold import fold
from .wordhash import blobs, word_hashes

ANCHOR = 3  # trigram anchors for eval texts shorter than n
BITMAP_BITS = 23  # 8 MiB of flags: ~2% false candidates at 200k eval n-grams, all re-checked exactly
SPAN_WORDS = 60  # removed.jsonl shows at most this many words of the matched span


def words(text: str) -> list[str]:
    return fold(text).decode().split()


class Segments:
    """The word hashes of many texts in one array, with where each text starts and ends."""

    def __init__(self, texts: list[str]):
        self.texts = texts
        hashes, starts, counts, offset = [], [], [], 0
        for _, _, blob in blobs(texts, fold):
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
    """Eval texts by n-gram hash (long texts) or anchor trigram (texts shorter than n).

    Identical folded texts share one key; `items[key]` lists every (eval set, item id) that has it.
    """

    def __init__(self, n: int, min_words: int, seed: int = 0, boilerplate: int = 10, window: int = 0):
        if min_words < ANCHOR:
            raise ValueError(f"decontaminate.min_words is {min_words}; it must be at least {ANCHOR}")
        self.n, self.min_words, self.boilerplate, self.window = n, min_words, boilerplate, window
        rng = np.random.default_rng(seed)
        self.weights = rng.integers(1, 2**63, size=max(n, ANCHOR), dtype=np.uint64) | np.uint64(1)
        self.owners: dict[int, list[int]] = defaultdict(list)  # n-gram hash -> keys of long texts
        self.anchors: dict[int, list[int]] = defaultdict(list)  # trigram hash -> keys of short texts
        self.grams: dict[int, np.ndarray] = {}  # key -> its n-gram hashes in text order
        self.items: list[list[tuple[str, str]]] = []  # (eval set, item id) of every text with the key
        self.short_text: dict[int, str] = {}
        self.skipped_short = 0
        self.indexed = 0  # eval texts indexed, duplicates included
        self.boilerplate_only = 0  # texts made only of n-grams (or short texts) shared by many
        self._keys: dict[str, int] = {}
        self._short: list[tuple[int, str]] = []
        self._position_weights: dict[int, np.ndarray] = {}
        self._totals: dict[int, float] = {}
        self._bitmaps: tuple[np.ndarray, np.ndarray] | None = None

    def add(self, eval_set: str, item_id: str, texts: list[str]) -> None:
        for text in texts:
            tokens = words(text)
            if len(tokens) < self.min_words:
                self.skipped_short += 1
                continue
            self.indexed += 1
            folded = " ".join(tokens)
            key = self._keys.get(folded)
            if key is not None:
                if (eval_set, item_id) not in self.items[key]:
                    self.items[key].append((eval_set, item_id))
                continue
            key = self._keys[folded] = len(self.items)
            self.items.append([(eval_set, item_id)])
            if len(tokens) < self.n:
                self.short_text[key] = f" {folded} "
                self._short.append((key, folded))
            else:
                grams = Segments([folded]).grams(self.weights, self.n)[1]
                self.grams[key] = grams
                for h in set(grams.tolist()):
                    self.owners[h].append(key)
        self._bitmaps = None

    def gram_weight(self, h: int) -> float:
        """1/k² for an n-gram in k distinct eval texts; nothing once k reaches `boilerplate`.

        Squared: a frame two or three prompts share ("Clean up this defanged value…") must weigh
        well below the few words that fill it, or a row with the same frame and other fillers
        would count as a copy."""
        k = len(self.owners.get(h, ()))
        return 0.0 if k == 0 or k >= self.boilerplate else 1.0 / (k * k)

    def _finalize(self) -> tuple[np.ndarray, np.ndarray]:
        if self._short:  # anchor each short text on its rarest trigram to keep candidate lists short
            trigrams = {k: set(Segments([t]).grams(self.weights, ANCHOR)[1].tolist()) for k, t in self._short}
            frequency = Counter(h for hs in trigrams.values() for h in hs)
            for key, hs in trigrams.items():
                if len(self.items[key]) >= self.boilerplate:  # one instruction message in many items
                    self.boilerplate_only += 1
                    continue
                self.anchors[min(hs, key=lambda h: (frequency[h], h))].append(key)
            self._short.clear()
        for key, grams in self.grams.items():
            if key in self._totals:
                continue
            w = np.array([self.gram_weight(h) for h in grams.tolist()])
            # a word weighs as little as the most shared n-gram it is part of: the words of a
            # frame many prompts share ("… from this morning's scan. Is it safe?") weigh little
            # even beside a filler, so a look-alike with the same frame scores low
            padded = np.concatenate([np.full(self.n - 1, np.inf), w, np.full(self.n - 1, np.inf)])
            windows = np.lib.stride_tricks.sliding_window_view(padded, self.n)
            self._position_weights[key] = windows.min(axis=1)
            total = float(self._position_weights[key].sum())
            self._totals[key] = total
            self.boilerplate_only += total == 0.0
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
        return zip(
            segments.segment_of[positions[keep]].tolist(),
            (positions[keep] - segments.starts[segments.segment_of[positions[keep]]]).tolist(),
            hashes[keep].tolist(),
            strict=True,
        )

    def match_rows(self, rows: list[list[str]], threshold: float) -> list[list[tuple[str, str, float, str]]]:
        """For each row (its message texts): (eval set, item id, score, matched span) of the eval
        texts it contains, the span being the row's folded words from the first shared n-gram
        with that text to the last."""
        grams_bitmap, anchor_bitmap = self._bitmaps or self._finalize()
        row_of = [r for r, texts in enumerate(rows) for _ in texts]
        segments = Segments([t for texts in rows for t in texts])
        shared: dict[tuple[int, int], set[int]] = defaultdict(set)  # (row, key) -> shared n-grams
        spans: dict[tuple[int, int], list[int]] = {}  # (row, key) -> [segment, first, last word]
        for s, at, h in self._candidates(segments, self.n, grams_bitmap):
            owners = self.owners.get(h)
            if not owners or len(owners) >= self.boilerplate:
                continue
            for key in owners:
                pair = (row_of[s], key)
                shared[pair].add(h)
                span = spans.setdefault(pair, [s, at, at])
                if span[0] == s:
                    span[2] = at
        out: list[dict] = [{} for _ in rows]
        for (row, key), hs in shared.items():
            score = self._score(key, hs)
            if score >= threshold:
                s, first, last = spans[(row, key)]
                self._add(out[row], key, score, words(segments.texts[s])[first : last + self.n])
        for s, _, h in self._candidates(segments, ANCHOR, anchor_bitmap):
            for key in self.anchors.get(h, ()):
                if self.short_text[key] in segments.text(s):
                    self._add(out[row_of[s]], key, 1.0, self.short_text[key].split())
        return [sorted((e, i, v, span) for (e, i), (v, span) in found.items()) for found in out]

    def _score(self, key: int, shared: set[int]) -> float:
        """Weighted share of the eval text's words inside a shared n-gram (of its best `window`)."""
        total = self._totals[key]
        if total == 0.0:
            return 0.0
        grams = self.grams[key]
        hit = np.fromiter((h in shared for h in grams.tolist()), dtype=np.float64, count=len(grams))
        covered = np.convolve(hit, np.ones(self.n))[: len(grams) + self.n - 1] > 0
        weights = self._position_weights[key] * covered
        if self.window and len(weights) > self.window:  # the best stretch of a long text
            best = np.convolve(weights, np.ones(self.window), mode="valid").max()
            windowed = np.convolve(self._position_weights[key], np.ones(self.window), mode="valid").max()
            return round(float(max(best / windowed, weights.sum() / total)), 3)
        return round(float(weights.sum() / total), 3)

    def _add(self, found: dict, key: int, score: float, span: list[str]) -> None:
        text = " ".join(span[:SPAN_WORDS]) + (" …" if len(span) > SPAN_WORDS else "")
        for item in self.items[key]:
            if score > found.get(item, (-1.0, ""))[0]:
                found[item] = (score, text)

    def matches(self, texts: list[str], threshold: float) -> list[tuple[str, str, float, str]]:
        return self.match_rows([texts], threshold)[0]
