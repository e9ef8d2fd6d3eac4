"""General-skill probes: eval set `general`, to see what fine-tuning made the model forget.

Fine-tuning on one narrow task can wipe out skills the base model had. Evaluate answers these
probes with the base and the fine-tuned model, and the gate holds each `general_<skill>` bucket
to `gate.max_regression_vs_base`. They are generated here, deterministically and offline (no
benchmark download), in a neutral context (a generic system prompt, not the task's):

    copy          "Repeat exactly: file server 42"        the answer ends with the text
    next_number   "What comes after 41?"                  the last number in the answer is 42
    compare       "Which is larger, 17 or 64?"            the last number is 64
    first_word    "First word of: water call port"        the answer ends with "water"
    greeting      "Hi, I am Maria."                       a greeting that uses the name
    arithmetic    "What is 12 + 30?"                      the last number is 42
    capital       "What is the capital of Japan?"         the answer names Tokyo

The checks accept a sentence around the answer, so an instruct model that explains is not
marked wrong for its style. The embedded demo model was pre-trained on the first five skills;
it knows no arithmetic or capitals, so those two only tell on a real model. Probe python:
`python -c "from PACKAGE.evals.general import probes; print(probes(['copy'], 3, 0))"`.
"""

from __future__ import annotations

import random
import re

SYSTEM = "You are a helpful assistant."
WORDS = (
    "the one time water number sound people side day part place year name line word house point "
    "world hand home page country file host server report level scan value email network ticket "
    "data answer call port light picture animal mother father earth head air play land"
).split()
NAMES = "Maria Omar Priya Chen Lucas Amara Sofia Ivan Noor Diego Hana Kofi Elena Yusuf Mei Tom".split()
CAPITALS = {
    "France": "Paris", "Japan": "Tokyo", "Italy": "Rome", "Spain": "Madrid", "Germany": "Berlin",
    "Egypt": "Cairo", "Canada": "Ottawa", "Kenya": "Nairobi", "Peru": "Lima", "Norway": "Oslo",
    "Greece": "Athens", "Chile": "Santiago", "Poland": "Warsaw", "Ireland": "Dublin",
    "Portugal": "Lisbon", "Austria": "Vienna", "Thailand": "Bangkok", "Cuba": "Havana",
}  # fmt: skip


def _last_number(n: int) -> dict:
    return {"type": "regex", "pattern": rf"(?<![\d.]){n}(?!\d)\D*$"}


def _copy(rng: random.Random) -> tuple[str, str, dict]:
    parts = [
        rng.choice(WORDS) if rng.random() < 0.7 else str(rng.randint(0, 999))
        for _ in range(rng.randint(2, 4))
    ]
    text = " ".join(parts)
    prompt = rng.choice(["Repeat exactly: {}", "Say back: {}", "Echo {}"]).format(text)
    # ends with the text: "Sure: <text>" passes, a continuation of the prompt ("<text> is a...") does not
    return prompt, text, {"type": "regex", "pattern": rf"{re.escape(text)}\W*$"}


def _next_number(rng: random.Random) -> tuple[str, str, dict]:
    n = rng.randint(0, 998)
    prompt = rng.choice(["What comes after {}?", "Next number after {}"]).format(n)
    return prompt, str(n + 1), _last_number(n + 1)


def _compare(rng: random.Random) -> tuple[str, str, dict]:
    a, b = rng.sample(range(100), 2)
    return f"Which is larger, {a} or {b}?", str(max(a, b)), _last_number(max(a, b))


def _first_word(rng: random.Random) -> tuple[str, str, dict]:
    words = rng.sample(WORDS, rng.randint(3, 5))
    pattern = rf"(?i)(?<![a-z]){words[0]}\W*$"
    return "First word of: " + " ".join(words), words[0], {"type": "regex", "pattern": pattern}


def _greeting(rng: random.Random) -> tuple[str, str, dict]:
    name = rng.choice(NAMES)
    prompt = rng.choice(["Hi, I am {}.", "Hello! My name is {}."]).format(name)
    return prompt, f"Hello {name}!", {"type": "regex", "pattern": rf"(?is)^\W*(hello|hi|hey)\b.*\b{name}\b"}


def _arithmetic(rng: random.Random) -> tuple[str, str, dict]:
    a, b = rng.randint(1, 50), rng.randint(1, 50)
    if rng.random() < 0.5:
        return f"What is {a} + {b}?", str(a + b), _last_number(a + b)
    a, b = max(a, b), min(a, b)
    return f"What is {a} - {b}?", str(a - b), _last_number(a - b)


def _capital(rng: random.Random) -> tuple[str, str, dict]:
    country = rng.choice(sorted(CAPITALS))
    city = CAPITALS[country]
    return f"What is the capital of {country}?", city, {"type": "regex", "pattern": rf"\b{re.escape(city)}\b"}


SKILLS = {
    "copy": _copy,
    "next_number": _next_number,
    "compare": _compare,
    "first_word": _first_word,
    "greeting": _greeting,
    "arithmetic": _arithmetic,
    "capital": _capital,
}


def probes(skills: list[str], per_skill: int, seed: int) -> list[dict]:
    """Eval items (with parsed checks, as items.load_items returns them), `per_skill` per skill.

    Each skill draws from its own seeded generator, so adding a skill leaves the others' probes
    unchanged; the same prompt is not asked twice within a skill.
    """
    items = []
    for skill in skills:
        rng, seen = random.Random(f"{seed}-{skill}"), set()
        for _ in range(per_skill * 20):  # retries for repeats; small pools (capitals) may run short
            if len(seen) == per_skill:
                break
            prompt, reference, check = SKILLS[skill](rng)
            if prompt in seen:
                continue
            seen.add(prompt)
            items.append(
                {
                    "id": f"general-{skill}-{len(seen):03d}",
                    "messages": [
                        {"role": "system", "content": SYSTEM},
                        {"role": "user", "content": prompt},
                        {"role": "assistant", "content": reference},
                    ],
                    "meta": {"bucket": f"general_{skill}", "risk": "low", "source": "evals/general.py"},
                    "check": check,
                    "where": f"evals/general.py:{skill}",
                }
            )
    return items
