"""Words to 64-bit hashes, for a whole batch of texts at once, in numpy.

Texts are normalised (lowercase, NFKC, punctuation and whitespace as one space), joined into a
"blob", and every word hashed without a Python loop per word: the shared first step of
near-duplicate detection (neardup.py) and decontamination (ngrams.py). The hashes are fixed
constants and wrapping uint64 arithmetic, never Python's salted `hash()`, so they are the same
in every process and on every machine.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from functools import lru_cache

import numpy as np

_U64 = np.uint64
_NON_WORD = re.compile(r"[\W_]+")  # punctuation and whitespace runs: both become one space
_MASK64 = (1 << 64) - 1
_BYTE_BASE = 0x9E3779B97F4A7C15  # odd, so invertible mod 2**64 (see word_hashes)
_BYTE_BASE_INV = pow(_BYTE_BASE, -1, 1 << 64)
BLOB_BYTES = 1 << 20  # normalised bytes hashed at once: bounds `signatures`' temporary arrays
# ASCII fast path of the normalisation: letters lowercased, digits kept, every other byte a space
_ASCII_TABLE = bytes(ord(chr(c).lower()) if chr(c).isalnum() and c < 128 else 32 for c in range(256))


def mix(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser on a uint64 array (in place): spreads every input bit to every output bit."""
    x ^= x >> _U64(30)
    x *= _U64(0xBF58476D1CE4E5B9)
    x ^= x >> _U64(27)
    x *= _U64(0x94D049BB133111EB)
    x ^= x >> _U64(31)
    return x


@lru_cache(maxsize=4)
def _power_table(base: int, n: int) -> np.ndarray:
    """base**i mod 2**64 for i < n, read-only."""
    out = np.full(n, base, dtype=np.uint64)
    out[0] = 1
    np.multiply.accumulate(out, out=out)
    out.flags.writeable = False
    return out


def powers(base: int, n: int) -> np.ndarray:
    """base**i mod 2**64 for i < n: one cached table serves every blob of the usual size."""
    return _power_table(base, BLOB_BYTES)[:n] if n <= BLOB_BYTES else _power_table.__wrapped__(base, n)


def word_hashes(blob: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """64-bit hashes of the words in a blob of normalised texts, and where each text's words are.

    The blob is "\\n" + texts joined by "\\n" + "\\n", each text being words separated by spaces,
    so the only bytes <= 32 are separators. A word hashes as the polynomial sum(byte_i * B**i):
    one prefix sum over the whole blob gives every word's sum(byte_j * B**j) over its global
    positions j, and multiplying by B**-start (B is odd, so invertible) makes it independent of
    where the word sits. No Python loop touches a word. Returns (hashes, first word of each text,
    word count of each text).
    """
    data = np.frombuffer(blob, dtype=np.uint8)
    word = data > 32
    edges = np.flatnonzero(word[1:] != word[:-1])
    starts, ends = edges[0::2] + 1, edges[1::2] + 1  # separators pad both ends, so edges alternate
    prefix = np.cumsum(data * powers(_BYTE_BASE, len(data)), dtype=np.uint64)
    hashes = (prefix[ends - 1] - prefix[starts - 1]) * powers(_BYTE_BASE_INV, len(data))[starts]
    newlines = np.flatnonzero(data == 10)
    bounds = np.searchsorted(starts, newlines)
    return mix(hashes), bounds[:-1], bounds[1:] - bounds[:-1]


def normalised(text: str) -> bytes:
    """UTF-8 of the lowercased NFKC text with punctuation and whitespace as spaces.

    Case, punctuation and spacing then do not count: `word_hashes` reads any run of spaces as
    one separator. ASCII text, the common case, takes a byte table lookup that gives the same
    result about 30 times faster than the regular expression.
    """
    if text.isascii():
        return text.encode("ascii").translate(_ASCII_TABLE)
    return _NON_WORD.sub(" ", unicodedata.normalize("NFKC", text).lower()).encode()


def blobs(texts: list[str]) -> Iterator[tuple[int, int, bytes]]:
    """(lo, hi, blob) for consecutive runs of texts[lo:hi], each blob about BLOB_BYTES at most."""
    lo, parts, size = 0, [b""], 1  # size: the blob's length so far, separators included
    for i, text in enumerate(texts):
        part = normalised(text)
        if i > lo and size + len(part) + 1 > BLOB_BYTES:
            yield lo, i, b"\n".join([*parts, b""])
            lo, parts, size = i, [b""], 1
        parts.append(part)
        size += len(part) + 1
    if texts:
        yield lo, len(texts), b"\n".join([*parts, b""])
