"""Fold what Unicode says is the same text into one form, for decontamination's n-grams.

    fold("Ｔhe ｆirst 𝐭wenty-three w\u200bords") == b"the first 23 words"

Disguises a copied eval prompt may wear, and how each is undone, in this order:
default-ignorable code points (zero-width spaces and joiners, soft hyphens, variation selectors,
bidi controls, tags) are deleted; NFKD splits letters from their combining marks, which are
dropped; NFKC folds fullwidth and mathematical alphanumerics; case is folded; letters that
Unicode's confusables data lists as look-alikes of an ASCII letter or digit (Cyrillic "а",
Greek "ο", …) become that letter; punctuation and whitespace become one space; digit groups
lose their separators (1,000 and 1000) and runs of number words become digits ("twenty-three"
and "23"). Applied to eval texts and training rows alike, so a fold that merges two genuinely
different words (Greek text read as Latin look-alikes) only ever merges them on both sides.
"""

from __future__ import annotations

import json
import re
import unicodedata
from functools import lru_cache
from importlib import resources

from .wordhash import normalised

# Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt); format characters (Cf) too
_IGNORABLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f"
    "\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0000-\U000e0fff]"
)
_NON_WORD = re.compile(r"[\W_]+")
_DIGIT_GROUP = re.compile(r"(?<=\d)[,.\u00a0\u202f' ](?=\d{3}\b)")  # 1,000 / 1.000 / 1 000 -> 1000
_UNITS = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
_UNITS += "sixteen seventeen eighteen nineteen"
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety"
VALUE = {w: i for i, w in enumerate(_UNITS.split())} | {w: 20 + 10 * i for i, w in enumerate(_TENS.split())}
SCALE = {"hundred": 100, "thousand": 1000, "million": 10**6, "billion": 10**9}
_WORD = "|".join(sorted([*VALUE, *SCALE], key=len, reverse=True))
_NUMBER_RUN = re.compile(rf"\b(?:{_WORD})(?: (?:and )?(?:{_WORD}))*\b")


@lru_cache(maxsize=1)
def skeleton_table() -> dict[int, str]:
    """Non-ASCII letter -> the ASCII letter or digit Unicode's confusables data says it looks like."""
    data = json.loads(
        resources.files("confusable_homoglyphs").joinpath("confusables.json").read_text("utf-8")
    )
    table: dict[int, str] = {}
    for target in "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ":
        for entry in data.get(target, ()):
            glyph = entry["c"]
            if len(glyph) == 1 and not glyph.isascii():
                table.setdefault(ord(glyph.lower()), target.lower())
                table.setdefault(ord(glyph), target.lower())
    return table


def _number(match: re.Match) -> str:
    """'twenty three' -> '23', 'one hundred and five' -> '105', 'two thousand' -> '2000'; words
    that do not make one number stay separate numbers ('one two' -> '1 2')."""
    out: list[int] = []
    total, current, last = 0, 0, ""  # last: the kind of the previous word, "" at a number's start
    for w in match.group().split():
        v = VALUE.get(w)
        if w == "and":
            continue
        if v is not None and v >= 20:
            fits, kind = last in ("", "hundred", "scale"), "tens"
        elif v is not None:
            fits, kind = last in ("", "hundred", "scale") or (last == "tens" and 0 < v < 10), "unit"
        elif w == "hundred":
            fits, kind = last in ("", "unit"), "hundred"
        else:
            fits, kind = last != "", "scale"
        if not fits:
            if last:  # a number ends here; a run may also start with a scale word ("thousand")
                out.append(total + current)
            total, current = 0, 0
        if v is not None:
            current += v
        elif w == "hundred":
            current = (current or 1) * 100
        else:
            total, current = total + (current or 1) * SCALE[w], 0
        last = kind
    out.append(total + current)
    return " ".join(str(n) for n in out)


def numbers(text: str) -> str:
    """Runs of (lowercased) number words as digits."""
    return _NUMBER_RUN.sub(_number, text)


def fold(text: str, groups: bool = True, number_words: bool = True) -> bytes:
    """UTF-8 of the folded text: words separated by single spaces (see the module docstring).

    An ASCII text known to hold no digit group (`groups=False`) or no number word
    (`number_words=False`) skips that step, which then changes nothing: ngrams.refold knows."""
    if text.isascii():
        text = normalised(_DIGIT_GROUP.sub("", text) if groups else text).decode("ascii")
        return (numbers(text) if number_words else text).encode()
    text = _IGNORABLE.sub("", text)
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    text = unicodedata.normalize("NFKC", text).lower().translate(skeleton_table())
    return numbers(_NON_WORD.sub(" ", _DIGIT_GROUP.sub("", text))).encode()
