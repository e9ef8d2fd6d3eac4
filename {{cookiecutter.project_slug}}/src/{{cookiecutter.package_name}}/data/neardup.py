"""Near-duplicate detection with MinHash signatures and LSH banding, for the curate stage.

A text becomes the set of its word shingles: k consecutive normalised words; a text shorter than
k words is one shingle of its own, and every text without a word has the same fixed shingle.
`signature` summarises that set in `num_perm` 32-bit minimums whose agreement rate estimates the
Jaccard similarity of two texts. `NearDupIndex` streams texts in: LSH bands the signature so that
only items sharing a band are compared, then verifies each candidate on the full signature, so
the work is linear in the input and the memory grows with the number of kept signatures, not with
the text. `NearDupIndex.add_many` hashes texts in batches (about twice the throughput of `add`,
one text at a time) and still yields each answer in input order, so the curate stage can stream
rows through it.

Everything is computed with fixed constants and wrapping integer arithmetic in numpy (never
Python's salted `hash()`), so a signature is the same in every process and on every machine for
a given seed, and can be cached or computed in worker processes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from functools import lru_cache
from itertools import islice

import numpy as np

from ..params.curate import NearDupParams
from .wordhash import blobs, mix, word_hashes

_U64 = np.uint64
_MASK64 = (1 << 64) - 1
_SHINGLE_BASE = 0xC2B2AE3D27D4EB4F
_EMPTY = 0x27BB2EE687B0B0FD  # the one shingle of a text with no words at all
# Every LSH candidate is verified on its whole signature, so a false candidate costs one comparison
# while a missed one is a duplicate kept: weigh misses 9:1. At threshold 0.8 and 128 permutations
# this gives 14 bands of 9 rows, which makes 87% of pairs at exactly 0.8 candidates (and 97% at
# 0.85), where datasketch's equal weights (9 bands of 13 rows) make 40% (and 69%).
FALSE_NEGATIVE_WEIGHT = 0.9
_COLUMNS_PER_BLOCK = 2048  # shingles hashed per block: 128 x 2048 x 4 bytes stays in L2 cache
Prepared = tuple[np.ndarray, list[int]]  # a text's signature and its band keys (`NearDupIndex.prepare`)


@lru_cache(maxsize=64)
def lsh_params(threshold: float, num_perm: int, false_negative_weight: float = 0.5) -> tuple[int, int]:
    """(bands, rows) with bands * rows <= num_perm that minimise the LSH error around the threshold.

    A pair of similarity s shares a band with probability 1 - (1 - s**rows)**bands. The error is
    the area under that curve below the threshold (false candidates) plus the area above it that
    it misses (false negatives); with false_negative_weight 0.5 this is datasketch's `_optimal_param`
    (and gives the same answers). `NearDupIndex` uses FALSE_NEGATIVE_WEIGHT. Products
    below num_perm are allowed because num_perm's divisors alone (powers of two for 128) fit
    thresholds poorly; the unused tail of the signature still counts in the verification.
    """
    grid = 2001  # Simpson's rule on a fixed grid: deterministic, no scipy
    below = np.linspace(0.0, threshold, grid)
    above = np.linspace(threshold, 1.0, grid)
    weights = np.ones(grid)
    weights[1:-1:2], weights[2:-1:2] = 4.0, 2.0
    best, best_error = (1, num_perm), math.inf
    for bands in range(1, num_perm + 1):
        for rows in range(1, num_perm // bands + 1):
            fp = 1.0 - (1.0 - below**rows) ** bands
            fn = (1.0 - above**rows) ** bands
            error = (1.0 - false_negative_weight) * (fp @ weights) * threshold / (3 * (grid - 1))
            error += false_negative_weight * (fn @ weights) * (1.0 - threshold) / (3 * (grid - 1))
            if error < best_error:
                best, best_error = (bands, rows), error
    return best


def _splitmix64(state: int, count: int) -> list[int]:
    """`count` well-mixed 64-bit integers from a seed, in plain Python: stable on every platform."""
    out = []
    for _ in range(count):
        state = (state + 0x9E3779B97F4A7C15) & _MASK64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
        out.append(z ^ (z >> 31))
    return out


@lru_cache(maxsize=16)
def _permutations(seed: int, num_perm: int) -> tuple[np.ndarray, np.ndarray]:
    """Multipliers (odd) and offsets of the num_perm hash functions h(x) = a*x + b mod 2**32.

    Derived with splitmix64 rather than numpy's Generator, whose streams may change between
    numpy versions; a changed permutation would silently invalidate stored signatures.
    """
    values = _splitmix64(seed & _MASK64, 2 * num_perm)
    a = np.array([v & 0xFFFFFFFF | 1 for v in values[:num_perm]], dtype=np.uint32)
    b = np.array([v >> 32 for v in values[num_perm:]], dtype=np.uint32)
    a.flags.writeable = b.flags.writeable = False
    return a[:, None], b[:, None]  # columns: one row of the hash block per permutation


def _shingle_hashes(
    words: np.ndarray, first: np.ndarray, count: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """64-bit hashes of every k-word shingle, grouped by text, and how many each text has.

    A text of fewer than k words (but at least one) is one shingle of all its words.
    """
    per_text = np.where(count >= k, count - k + 1, np.minimum(count, 1))
    offset = np.cumsum(per_text) - per_text  # each text's first shingle
    padded = np.concatenate([words, np.zeros(k - 1, dtype=np.uint64)])
    window = padded[: len(words)].copy()
    for j in range(1, k):  # an ordered polynomial over the k words from every position
        window *= _U64(_SHINGLE_BASE)
        window += padded[j : j + len(words)]
    # keep the windows that start a shingle: all but each text's last k - 1 positions
    out = window[np.arange(per_text.sum()) + np.repeat(first - offset, per_text)]
    short = np.flatnonzero((count > 0) & (count < k))
    if len(short):  # the same polynomial with the missing words as zeros, not the next text's
        h = padded[first[short]]
        for j in range(1, k):
            h *= _U64(_SHINGLE_BASE)
            h += np.where(count[short] > j, padded[first[short] + j], _U64(0))
        out[offset[short]] = h
    return mix(out), per_text


def _minhash(shingles: np.ndarray, per_text: np.ndarray, p: NearDupParams) -> np.ndarray:
    """The [n, num_perm] signatures of texts whose shingle hashes are `shingles`, `per_text` each."""
    a, b = _permutations(p.seed, p.num_perm)
    out = np.empty((len(per_text), p.num_perm), dtype=np.uint32)
    live = np.flatnonzero(per_text)  # texts with no word at all get the one fixed shingle
    if len(live) < len(per_text):
        out[per_text == 0] = (a * np.uint32(_EMPTY >> 32) + b)[:, 0]
    live_start = (np.cumsum(per_text) - per_text)[live]
    # 32-bit arithmetic: numpy multiplies uint32 in SIMD, about twice as fast as uint64. The inputs
    # are well-mixed 64-bit hashes, so their top 32 bits under a*x + b mod 2**32 behave as random
    # permutations (estimates measured unbiased, with binomial variance).
    x = (shingles >> _U64(32)).astype(np.uint32)
    block = np.empty((p.num_perm, _COLUMNS_PER_BLOCK), dtype=np.uint32)
    for lo in range(0, len(x), _COLUMNS_PER_BLOCK):
        hi = min(lo + _COLUMNS_PER_BLOCK, len(x))
        # a short tail gets its own contiguous array: a strided view of `block` is twice as slow
        part = block if hi - lo == _COLUMNS_PER_BLOCK else np.empty((p.num_perm, hi - lo), dtype=np.uint32)
        np.multiply(a, x[lo:hi], out=part)
        part += b
        # one segment per text in the block; a text cut by the block's edge is finished in the next
        first = int(np.searchsorted(live_start, lo, "right")) - 1
        seg = live_start[first : int(np.searchsorted(live_start, hi, "left"))] - lo
        carried = seg[0] < 0
        seg[0] = 0
        mins = np.minimum.reduceat(part, seg, axis=1).T
        rows = live[first : first + len(seg)]
        if carried:
            np.minimum(mins[0], out[rows[0]], out=mins[0])
        out[rows] = mins
    return out


def signatures(texts: list[str], p: NearDupParams) -> np.ndarray:
    """MinHash signatures of many texts at once, a uint32 array of shape [len(texts), num_perm]."""
    out = np.empty((len(texts), p.num_perm), dtype=np.uint32)
    for lo, hi, blob in blobs(texts):
        shingles, per_text = _shingle_hashes(*word_hashes(blob), p.shingle_size)
        out[lo:hi] = _minhash(shingles, per_text, p)
    return out


def signature(text: str, p: NearDupParams) -> np.ndarray:
    """The MinHash signature of one text: uint32, shape [num_perm]."""
    return signatures([text], p)[0]


def jaccard_estimate(a: np.ndarray, b: np.ndarray) -> float:
    """The share of positions where two signatures agree: an unbiased estimate of their Jaccard."""
    if a.shape != b.shape:
        raise ValueError(f"signatures differ in shape: {a.shape} vs {b.shape}")
    return float(np.count_nonzero(a == b)) / a.shape[-1]


def _band_keys(sigs: np.ndarray, bands: int, rows: int) -> list[list[int]]:
    """One 64-bit key per band per signature; equal bands give equal keys.

    A random linear combination is enough: the keys only feed dicts, and two different bands that
    collide (odds about 2**-64) just make one more candidate for the verification to reject.
    """
    cut = sigs[:, : bands * rows].reshape(len(sigs), bands, rows).astype(np.uint64)
    return (cut * _band_weights(rows)).sum(axis=2, dtype=np.uint64).tolist()


@lru_cache(maxsize=8)
def _band_weights(rows: int) -> np.ndarray:
    return np.array(_splitmix64(0x5EED, rows), dtype=np.uint64) | _U64(1)


class NearDupIndex:
    """Kept texts' signatures, banded for lookup; `add` says whether a new text near-duplicates one.

    Only kept items are indexed: a duplicate is reported against a kept item (its cluster's first
    member), never against another duplicate, so a cluster cannot drift away from its first text
    by a chain of small edits.
    """

    def __init__(self, p: NearDupParams) -> None:
        self.params = p
        self._bands, self._rows = lsh_params(p.threshold, p.num_perm, FALSE_NEGATIVE_WEIGHT)
        # band key -> kept slot, or a list of slots once a second item shares the band: most buckets
        # hold one item, and a bare int saves a list per band per item (about a third of the memory)
        self._tables: list[dict[int, int | list[int]]] = [{} for _ in range(self._bands)]
        self._sigs = np.empty((256, p.num_perm), dtype=np.uint32)  # kept signatures, grown by doubling
        self._kept: list[str] = []
        self._cluster: dict[str, str] = {}
        self._need = p.threshold * p.num_perm  # agreeing positions for estimated Jaccard >= threshold

    def __len__(self) -> int:
        """How many keys were added, duplicates included."""
        return len(self._cluster)

    @property
    def kept(self) -> int:
        """How many added items were kept (not near-duplicates)."""
        return len(self._kept)

    def add(self, key: str, text: str) -> str | None:
        """The key of the kept item this text near-duplicates, or None (then it is kept).

        Near-duplicate: estimated Jaccard >= threshold on the whole signature; of several such kept
        items, the most similar, then the earliest. Raises ValueError for a key already added.
        """
        return self.add_signature(key, signature(text, self.params))

    def add_signature(self, key: str, sig: np.ndarray) -> str | None:
        """`add` for a signature computed elsewhere, e.g. by `signatures` in a worker process."""
        if sig.shape != (self.params.num_perm,):
            raise ValueError(f"expected a signature of shape ({self.params.num_perm},), got {sig.shape}")
        return self._insert(key, sig, _band_keys(sig[None], self._bands, self._rows)[0])

    def add_many(
        self, items: Iterable[tuple[str, str]], batch_size: int = 1024
    ) -> Iterator[tuple[str, str | None]]:
        """(key, match) for each (key, text), in order: `add` one by one, with signatures in batches."""
        it = iter(items)
        while batch := list(islice(it, batch_size)):
            for (key, _), prepared in zip(batch, self.prepare([text for _, text in batch]), strict=True):
                yield key, self.add_prepared(key, prepared)

    def prepare(self, texts: list[str]) -> list[Prepared]:
        """Signatures and band keys of many texts in one numpy pass, for `add_prepared` later.

        The batched half of `add_many`, for a caller that decides per item, in order, whether
        to add it at all (curate skips exact duplicates before they reach this index).
        """
        sigs = signatures(texts, self.params)
        return list(zip(sigs, _band_keys(sigs, self._bands, self._rows), strict=True))

    def add_prepared(self, key: str, prepared: Prepared) -> str | None:
        """`add` for an item of `prepare`: the same answer, the same state afterwards."""
        return self._insert(key, *prepared)

    def cluster_of(self, key: str) -> str:
        """The cluster id of an added key: the key of its cluster's first kept member."""
        return self._cluster[key]

    def _insert(self, key: str, sig: np.ndarray, bands: list[int]) -> str | None:
        if key in self._cluster:
            raise ValueError(f"key {key!r} was already added")
        candidates: set[int] = set()
        for table, band in zip(self._tables, bands, strict=True):
            hit = table.get(band)
            if hit is None:
                continue
            if type(hit) is int:
                candidates.add(hit)
            else:
                candidates.update(hit)
        if candidates:
            # a shared band is only a hint: verify on the whole signature, best match first
            order = np.fromiter(sorted(candidates), dtype=np.intp, count=len(candidates))
            agree = np.count_nonzero(self._sigs[order] == sig, axis=1)
            best = int(np.argmax(agree))  # ties go to the earliest kept item
            if agree[best] >= self._need:
                match = self._kept[order[best]]
                self._cluster[key] = match
                return match
        slot = len(self._kept)
        if slot == len(self._sigs):
            self._sigs = np.concatenate([self._sigs, np.empty_like(self._sigs)])
        self._sigs[slot] = sig
        self._kept.append(key)
        self._cluster[key] = key
        for table, band in zip(self._tables, bands, strict=True):
            hit = table.get(band)
            if hit is None:
                table[band] = slot
            elif type(hit) is int:
                table[band] = [hit, slot]
            else:
                hit.append(slot)
        return None
