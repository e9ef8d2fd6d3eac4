"""Eval prompts and training rows that copy them in disguise, for measuring decontamination.

    evals, rows = contamination_set(seed=1, per_kind=60)

Eval prompts are built like benchmark items: sentence frames shared by many items ("Which of
the following…", "Read the passage and answer…") with distinctive slot fillers, numbers, and
passages of several clauses. Each row is {"kind", "eval", "messages"}: a copy of one eval prompt
under one disguise kind (DISGUISES), or a clean row that must be kept: "lookalike" (the same
frame, other fillers) and "boilerplate" (the shared instruction with another passage). Every
seed gives other words, other frames and other disguises, so a test can hold out what a bench
was tuned on.
"""

from __future__ import annotations

import random
import re

SYLLABLES = "ka lo mi ne ru sa te vo zi pa da fe go hu ji ku le mo ni po qua re si tu va we xi yo ze".split()
COMMON = (
    "the a of to and in that is for it as with was on be by this are from at or an which have not "
    "were has but had they their one all there been more when will would who so if out up its them "
    "than can only other new some could these two may then do first any my now such like our over"
).split()
NUMBERS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen".split()
)
NUMBERS += "sixteen seventeen eighteen nineteen".split()
TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
FRAMES = [
    "Which of the following best describes {x} in {y}?",
    "What is the {x} of {y} when {z}?",
    "Explain why {x} matters for {y}, given that {z}.",
    "A {x} has {n} {y}. If {z}, how many remain?",
    "Summarise the argument that {x} causes {y}.",
]
INSTRUCTION = "Read the following passage carefully and then answer the question that follows it."
HOMOGLYPHS = {  # Cyrillic, Greek, Armenian and Latin-extension look-alikes
    "a": "аɑα",
    "c": "сϲ",
    "e": "еҽ",
    "i": "іɩ",
    "j": "ј",
    "o": "оοօσ",
    "p": "рρ",
    "s": "ѕ",
    "x": "хχ",
    "y": "уγ",
    "h": "һ",
    "d": "ԁ",
    "n": "ո",
    "u": "ս",
    "v": "ν",
    "w": "ԝ",
    "k": "κ",
    "B": "ВΒ",
    "H": "НΗ",
    "T": "ТΤ",
    "M": "МΜ",
    "K": "КΚ",
    "P": "РΡ",
    "C": "СϹ",
    "O": "ОΟ",
    "E": "ЕΕ",
    "A": "АΑ",
    "X": "ХΧ",
}
IGNORABLE = [
    "\u200b",
    "\u200c",
    "\u200d",
    "\u2060",
    "\ufeff",
    "\u180e",
    "\u2061",
    "\ufe0f",
    "\u034f",
    "\U000e0041",
]
MARKS = ["\u0301", "\u0300", "\u0308", "\u0327", "\u0323", "\u0302", "\u030c", "\u0303", "\u0331", "\u0306"]
DISGUISES = [
    "case_punctuation", "reflow", "word_replaced", "clauses_reordered", "split_turns", "long_answer",
    "few_shot", "wide_letters", "ignorables", "soft_hyphens", "homoglyphs", "combining_marks",
    "number_words", "passage_only",
]  # fmt: skip


def spelled(n: int) -> str:
    """23 -> 'twenty-three', 4051 -> 'four thousand fifty-one' (below a million)."""
    if n < 20:
        return NUMBERS[n]
    if n < 100:
        return TENS[n // 10 - 2] + ("" if n % 10 == 0 else "-" + NUMBERS[n % 10])
    if n < 1000:
        rest = n % 100
        return NUMBERS[n // 100] + " hundred" + ("" if rest == 0 else " and " + spelled(rest))
    rest = n % 1000
    return spelled(n // 1000) + " thousand" + ("" if rest == 0 else " " + spelled(rest))


class Writer:
    def __init__(self, rng: random.Random):
        self.rng = rng
        self.vocab = ["".join(rng.choices(SYLLABLES, k=rng.randint(2, 4))) for _ in range(3000)]

    def word(self) -> str:
        return self.rng.choice(COMMON) if self.rng.random() < 0.4 else self.rng.choice(self.vocab)

    def phrase(self, k: int) -> str:
        return " ".join(self.word() for _ in range(k))

    def clause(self) -> str:
        words = [self.word() for _ in range(self.rng.randint(6, 11))]
        if self.rng.random() < 0.5:
            words.insert(
                self.rng.randrange(len(words)), str(self.rng.choice([3, 7, 12, 25, 48, 130, 365, 2024]))
            )
        return " ".join(words)

    def passage(self) -> str:
        sentences = []
        for _ in range(self.rng.randint(3, 5)):
            text = ", ".join(self.clause() for _ in range(self.rng.randint(1, 2)))
            sentences.append(text[0].upper() + text[1:] + ".")
        return " ".join(sentences)

    def framed(self, frame: str) -> str:
        return (
            frame.format(x=self.phrase(3), y=self.phrase(3), z=self.clause(), n=self.rng.randint(3, 999))
            + " "
            + self.passage()
        )


def _words_edit(text: str, rng: random.Random, change) -> str:
    return "".join(change(w) if w.strip() and rng.random() < 0.5 else w for w in re.split(r"(\s+)", text))


def disguise(kind: str, prompt: str, w: Writer) -> list[dict]:
    rng = w.rng
    user = [{"role": "user", "content": prompt}]
    if kind == "case_punctuation":
        text = "".join(c.upper() if rng.random() < 0.3 else c for c in prompt.lower())
        text = re.sub(r"[.,?]", lambda m: rng.choice([";", " -", "!", "...", ":", ""]), text)
        user = [{"role": "user", "content": text}]
    elif kind == "reflow":
        user = [
            {
                "role": "user",
                "content": re.sub(" ", lambda m: rng.choice([" ", "  ", "\n", "\n\n", "\t"]), prompt),
            }
        ]
    elif kind == "word_replaced":
        words = prompt.split()
        for i in rng.sample(range(len(words)), max(1, len(words) // 10)):
            words[i] = w.rng.choice(w.vocab)
        user = [{"role": "user", "content": " ".join(words)}]
    elif kind == "clauses_reordered":
        clauses = [c for c in re.split(r"(?<=[.,?])\s+", prompt) if c]
        while len(clauses) > 1 and clauses == sorted(clauses, key=clauses.index):
            rng.shuffle(clauses)
            break
        user = [{"role": "user", "content": " ".join(clauses)}]
    elif kind == "split_turns":
        words = prompt.split()
        cut = rng.randint(len(words) // 3, 2 * len(words) // 3)
        user = [
            {"role": "user", "content": " ".join(words[:cut])},
            {"role": "assistant", "content": "Go on."},
            {"role": "user", "content": " ".join(words[cut:])},
        ]
    elif kind == "long_answer":
        return [
            {"role": "user", "content": "Give me an example of a hard question."},
            {
                "role": "assistant",
                "content": f"{w.passage()} {w.passage()} For example: {prompt} {w.passage()}",
            },
        ]
    elif kind == "few_shot":
        shots = [f"Q: {w.framed(rng.choice(FRAMES))}\nA: {w.phrase(3)}" for _ in range(3)]
        shots.insert(rng.randrange(4), f"Q: {prompt}\nA: {w.phrase(3)}")
        user = [{"role": "user", "content": "\n\n".join(shots)}]
    elif kind == "wide_letters":
        base = rng.choice([0xFEE0, None])

        def wide(c: str) -> str:
            if base and "!" <= c <= "~":
                return chr(ord(c) + base)
            if c.isascii() and c.isalpha():
                return chr((0x1D41A + ord(c) - 97) if c.islower() else (0x1D400 + ord(c) - 65))
            return c

        user = [{"role": "user", "content": "".join(wide(c) for c in prompt)}]
    elif kind in ("ignorables", "soft_hyphens", "combining_marks", "homoglyphs"):

        def change(word: str) -> str:
            if kind == "homoglyphs":
                return "".join(
                    rng.choice(HOMOGLYPHS[c]) if c in HOMOGLYPHS and rng.random() < 0.6 else c for c in word
                )
            if kind == "combining_marks":
                return "".join(
                    c + rng.choice(MARKS) if c.isalpha() and rng.random() < 0.4 else c for c in word
                )
            mark = "\u00ad" if kind == "soft_hyphens" else rng.choice(IGNORABLE)
            i = rng.randint(1, max(1, len(word) - 1))
            return word[:i] + mark + word[i:]

        user = [{"role": "user", "content": _words_edit(prompt, rng, change)}]
    elif kind == "passage_only":
        user = [{"role": "user", "content": prompt}]
    elif kind == "number_words":
        user = [
            {"role": "user", "content": re.sub(r"\b\d{1,5}\b", lambda m: spelled(int(m.group())), prompt)}
        ]
    return [*user, {"role": "assistant", "content": w.phrase(4)}]


def contamination_set(
    seed: int, per_kind: int = 60, kinds: list[str] | None = None
) -> tuple[list[dict], list[dict]]:
    """(eval items, rows): per kind, `per_kind` disguised copies of distinct eval prompts, and as
    many clean look-alikes and instruction-only rows."""
    rng = random.Random(seed)
    w = Writer(rng)
    frames = [f.replace("following", rng.choice(["following", "options below", "choices"])) for f in FRAMES]
    evals = []
    for i in range(per_kind * 3):
        if i % 3 == 0:  # a passage under a shared instruction
            text = f"{INSTRUCTION} {w.passage()} Question: {w.clause()}?"
        else:
            text = w.framed(frames[i % len(frames)])
        evals.append(
            {
                "id": f"e{i}",
                "messages": [{"role": "user", "content": text}, {"role": "assistant", "content": "x"}],
            }
        )
    rows = []
    for kind in kinds or DISGUISES:
        pool = [e for e in evals if kind != "number_words" or re.search(r"\d", e["messages"][0]["content"])]
        if kind == "passage_only":
            pool = [e for e in evals if e["messages"][0]["content"].startswith(INSTRUCTION)]
        for e in rng.sample(pool, min(per_kind, len(pool))):
            prompt = e["messages"][0]["content"]
            if kind == "passage_only":
                prompt = prompt[len(INSTRUCTION) :].rsplit(" Question: ", 1)[0].strip()
            rows.append({"kind": kind, "eval": e["id"], "messages": disguise(kind, prompt, w)})
    for i in range(per_kind):
        text = w.framed(frames[i % len(frames)])
        rows.append({"kind": "lookalike", "eval": None, "messages": [{"role": "user", "content": text}]})
        text = f"{INSTRUCTION} {w.passage()} Question: {w.clause()}?"
        rows.append({"kind": "boilerplate", "eval": None, "messages": [{"role": "user", "content": text}]})
    return evals, rows
