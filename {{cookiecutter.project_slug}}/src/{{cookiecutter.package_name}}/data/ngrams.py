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

The rows a first pass finds are scored again with each word also weighted by how often the
training data uses it (`match_all`; the stage's two passes): template-made data shares frames
with its own test split by construction, and "Please help. What is the capital of Nepal?" is no
copy of "Please help. What is the capital of Peru?" although it holds 7 of its 8 words. Only the
filler is rare, so only the filler counts, and the same prompt under another opener still does.

Speed comes from doing the work in numpy over a batch of rows at once: words are hashed without
a Python loop (wordhash.py), each n-gram hash is a wrapping dot product of its word hashes with
fixed random odd weights, and a bitmap of the eval n-gram hashes rejects almost every training
n-gram before any Python-level lookup. Memory grows with the number of eval n-grams, not with
the training data. Eval texts shorter than n words are matched on their whole folded text:
found through their rarest word trigram, then confirmed by a substring test.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from functools import lru_cache

import numpy as np

from .fold import SCALE, VALUE, fold
from .wordhash import blobs, word_hashes

ANCHOR = 3  # trigram anchors for eval texts shorter than n
BITMAP_BITS = 23  # 8 MiB of flags: ~2% false candidates at 200k eval n-grams, all re-checked exactly
SPAN_WORDS = 60  # removed.jsonl shows at most this many words of the matched span


def words(text: str) -> list[str]:
    return fold(text).decode().split()


def refold(
    texts: list[str], blob: bytes, h: np.ndarray, first: np.ndarray, count: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Word hashes of fold(text) for every text, from the hashes of its cheap normalised form.

    The two are the same words for most texts: only a text with non-ASCII characters, a number
    word or a digit group ("1,000" is "1 000" once normalised) can fold differently, and those
    are found without a Python loop (a byte pattern, a hash lookup), folded one by one and
    hashed again. A test holds this to fold() itself on every kind of disguise.
    """
    data = np.frombuffer(blob, dtype=np.uint8)
    newlines = np.flatnonzero(data == 10)
    digit = (data >= 48) & (data <= 57)
    m = max(len(data) - 4, 0)  # a digit, one space, three digits: a group fold may join
    group = digit[:m] & (data[1 : m + 1] == 32) & digit[2 : m + 2] & digit[3 : m + 3] & digit[4 : m + 4]
    groups = set((np.searchsorted(newlines, np.flatnonzero(group), side="right") - 1).tolist())
    number = np.flatnonzero(np.isin(h, _number_word_hashes()) if len(h) > 256 else _is_number_word(h))
    number_words = set((np.searchsorted(first, number, side="right") - 1).tolist())
    order = sorted(groups | number_words | {i for i, text in enumerate(texts) if not text.isascii()})
    if not order:
        return h, first, count
    folded = (fold(texts[i], i in groups, i in number_words) for i in order)
    again, _, again_count = word_hashes(b"\n".join([b"", *folded, b""]))
    pieces, done, at = [], 0, 0  # done: words of h already placed; at: of `again`
    count = count.copy()
    for i, n in zip(order, again_count.tolist(), strict=True):
        pieces += [h[done : first[i]], again[at : at + n]]
        done, at, count[i] = first[i] + count[i], at + n, n
    pieces.append(h[done:])
    first = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(first.dtype) if len(count) else first
    return np.concatenate(pieces), first, count


@lru_cache(maxsize=1)
def _number_word_hashes() -> np.ndarray:
    """Hashes of the number words fold() turns into digits ("and" only joins them)."""
    return word_hashes(b"\n" + " ".join([*VALUE, *SCALE]).encode() + b"\n")[0]


def _is_number_word(h: np.ndarray) -> np.ndarray:
    """np.isin(h, _number_word_hashes()) without its sorting, for a few words (an eval text)."""
    numbers = _number_word_set()
    return np.fromiter((x in numbers for x in h.tolist()), dtype=bool, count=len(h))


@lru_cache(maxsize=1)
def _number_word_set() -> frozenset[int]:
    return frozenset(_number_word_hashes().tolist())


class WordTable:
    """Word hash -> its position in a sorted vocabulary, for a whole array of hashes at once.

    An open-addressing table at most a quarter full: a lookup is one or two vectorised gathers,
    where np.searchsorted over every word of a batch cost more than all the matching."""

    def __init__(self, vocab: np.ndarray):
        bits = max(10, (4 * len(vocab)).bit_length())
        self.mask = (1 << bits) - 1
        self.keys = np.zeros(1 << bits, dtype=np.uint64)
        self.ids = np.full(1 << bits, -1, dtype=np.int64)
        self.probes = 1  # the longest run a lookup may walk
        for i, h in enumerate(vocab.tolist()):  # the hashes are mixed: their low bits are a slot
            slot, run = h & self.mask, 1
            while self.ids[slot] >= 0:
                slot, run = (slot + 1) & self.mask, run + 1
            self.keys[slot], self.ids[slot] = h, i
            self.probes = max(self.probes, run)

    def find(self, hashes: np.ndarray) -> np.ndarray:
        """The vocabulary position of each hash, or -1."""
        found = np.full(len(hashes), -1, dtype=np.int64)
        pending = np.arange(len(hashes))
        slots = (hashes & np.uint64(self.mask)).astype(np.int64)
        for probe in range(self.probes):
            at = (slots[pending] + probe) & self.mask
            ids = self.ids[at]
            hit = (ids >= 0) & (self.keys[at] == hashes[pending])
            found[pending[hit]] = ids[hit]
            pending = pending[(ids >= 0) & ~hit]  # a slot held by another word: look further
            if not len(pending):
                break
        return found


class Segments:
    """The word hashes of many texts in one array, with where each text starts and ends."""

    def __init__(self, texts: list[str]):
        self.texts = texts
        hashes, starts, counts, offset = [], [], [], 0
        for lo, hi, blob in blobs(texts):
            h, first, count = refold(texts[lo:hi], blob, *word_hashes(blob))
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
        self._short: list[tuple[int, str]] = []  # (key, text as given): Segments folds it
        self.text_words: dict[int, np.ndarray] = {}  # key -> its word hashes in text order
        self.vocab = np.zeros(0, dtype=np.uint64)  # every word of the long texts, sorted
        self._vocab_table = WordTable(self.vocab)
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
                self._short.append((key, text))
            else:
                segments = Segments([text])  # folds it: once only
                grams = segments.grams(self.weights, self.n)[1]
                self.grams[key], self.text_words[key] = grams, segments.hashes
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
        if self.text_words:
            self.vocab = np.unique(np.concatenate(list(self.text_words.values())))
        self._vocab_table = WordTable(self.vocab)
        for key, grams in self.grams.items():
            if key in self._totals:
                continue
            self._position_weights[key] = self._word_weights(grams)
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

    def _word_weights(self, grams: np.ndarray) -> np.ndarray:
        """The weight of each word of an eval text, from the n-grams (in text order) it is part of.

        A word weighs as little as the most shared n-gram it is part of: the words of a frame
        many prompts share ("… from this morning's scan. Is it safe?") weigh little even beside
        a filler, so a look-alike with the same frame scores low.
        """
        w = np.array([self.gram_weight(h) for h in grams.tolist()])
        padded = np.concatenate([np.full(self.n - 1, np.inf), w, np.full(self.n - 1, np.inf)])
        return np.lib.stride_tricks.sliding_window_view(padded, self.n).min(axis=1)

    def _candidates(self, segments: Segments, k: int, bitmap: np.ndarray):
        positions, hashes = segments.grams(self.weights, k)
        keep = bitmap[hashes & np.uint64(len(bitmap) - 1)]
        return zip(
            segments.segment_of[positions[keep]].tolist(),
            (positions[keep] - segments.starts[segments.segment_of[positions[keep]]]).tolist(),
            hashes[keep].tolist(),
            strict=True,
        )

    def word_counter(self) -> np.ndarray:
        """Zero uses of every word of the long eval texts: `match_rows(count_into=)` fills it."""
        self._bitmaps or self._finalize()
        return np.zeros(len(self.vocab), dtype=np.int64)

    def match_rows(
        self,
        rows: list[list[str]],
        threshold: float,
        count_into: np.ndarray | None = None,
        word_uses: np.ndarray | None = None,
    ) -> list[list[tuple[str, str, float, str]]]:
        """For each row (its message texts): (eval set, item id, score, matched span) of the eval
        texts it contains, the span being the row's folded words from the first shared n-gram
        with that text to the last.

        `count_into` (from word_counter) gets how often these rows use each word of the eval
        texts. With `word_uses`, such counts over all training rows, each word of an eval text
        also weighs 1/(1+u), u being its uses in rows other than this one: the words a
        template-made training set repeats ("Please help. What is the capital of …") weigh
        little beside its filler ("Peru"), so a row that shares only the frame is not a copy,
        while a copy under another opener still is. `match_all` runs the two passes.
        """
        grams_bitmap, anchor_bitmap = self._bitmaps or self._finalize()
        row_of = [r for r, texts in enumerate(rows) for _ in texts]
        segments = Segments([t for texts in rows for t in texts])
        if count_into is not None and len(self.vocab):
            at = self._vocab_table.find(segments.hashes)
            count_into += np.bincount(at[at >= 0], minlength=len(self.vocab))
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
        own: dict[int, Counter] = {}  # row -> its words, to leave out of word_uses
        for (row, key), hs in shared.items():
            if word_uses is not None and row not in own:
                own[row] = Counter(
                    h
                    for s, r in enumerate(row_of)
                    if r == row
                    for h in segments.hashes[segments.starts[s] : segments.ends[s]].tolist()
                )
            score = self._score(key, hs, word_uses, own.get(row))
            if score >= threshold:  # rounded only once compared: any_hit's bar is 1e-9
                s, first, last = spans[(row, key)]
                self._add(out[row], key, round(score, 3), words(segments.texts[s])[first : last + self.n])
        for s, _, h in self._candidates(segments, ANCHOR, anchor_bitmap):
            for key in self.anchors.get(h, ()):
                if self.short_text[key] in segments.text(s):
                    self._add(out[row_of[s]], key, 1.0, self.short_text[key].split())
        return [
            sorted((e, i, v, span) for (e, i), (v, span) in found.items()) if found else [] for found in out
        ]

    def _score(
        self, key: int, shared: set[int], word_uses: np.ndarray | None = None, own: Counter | None = None
    ) -> float:
        """Weighted share of the eval text's words inside a shared n-gram (of its best `window`)."""
        grams = self.grams[key]
        position_weights, total = self._position_weights[key], self._totals[key]
        if word_uses is not None:
            text_words = self.text_words[key]
            uses = word_uses[np.searchsorted(self.vocab, text_words)]
            uses = uses - np.array([(own or {}).get(h, 0) for h in text_words.tolist()])
            position_weights = position_weights / (1.0 + np.maximum(uses, 0))
            total = float(position_weights.sum())
        if total == 0.0:
            return 0.0
        hit = np.fromiter((h in shared for h in grams.tolist()), dtype=np.float64, count=len(grams))
        covered = np.convolve(hit, np.ones(self.n))[: len(grams) + self.n - 1] > 0
        weights = position_weights * covered
        if self.window and len(weights) > self.window:  # the best stretch of a long text
            best = np.convolve(weights, np.ones(self.window), mode="valid").max()
            windowed = np.convolve(position_weights, np.ones(self.window), mode="valid").max()
            return float(max(best / windowed, weights.sum() / total))
        return float(weights.sum() / total)

    def _add(self, found: dict, key: int, score: float, span: list[str]) -> None:
        text = " ".join(span[:SPAN_WORDS]) + (" …" if len(span) > SPAN_WORDS else "")
        for item in self.items[key]:
            if score > found.get(item, (-1.0, ""))[0]:
                found[item] = (score, text)

    def matches(self, texts: list[str], threshold: float) -> list[tuple[str, str, float, str]]:
        return self.match_all([texts], threshold)[0]

    def match_all(self, rows: list[list[str]], threshold: float) -> list[list[tuple[str, str, float, str]]]:
        """match_rows as the decontaminate stage runs it, for rows held in memory: every row
        matched and its words counted, then the rows found matched again with the words all
        of them repeat weighing less. A row removed matches both ways."""
        counts = self.word_counter()
        found = self.match_rows(rows, threshold, count_into=counts)
        again = [r for r, matches in enumerate(found) if matches]
        second = self.match_rows([rows[r] for r in again], threshold, word_uses=counts)
        for r, matches in zip(again, second, strict=True):
            found[r] = confirmed(found[r], matches)
        return found


def confirmed(first: list[tuple], second: list[tuple]) -> list[tuple]:
    """The matches of the second pass (word-use weighted) whose eval item the first found too."""
    items = {(eval_set, item) for eval_set, item, _, _ in first}
    return [m for m in second if (m[0], m[1]) in items]
