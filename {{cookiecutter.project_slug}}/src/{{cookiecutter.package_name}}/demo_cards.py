"""The demo's policy and its cards: one function per behaviour, each returning a tagged conversation.

Standard library only (demo_data runs before anything is installed). Every card carries
`meta.bucket`, `meta.knowledge_point` and `meta.risk`; each knowledge point draws on several
prompt phrasings, boundary values and counter-examples, so the model has to learn the rule and
not one surface form. The tool-calling bucket is in demo_tools.py.

Behaviours (buckets):
- ioc_normalize: refang a defanged indicator and answer with the bare host or IP.
- scan_verdict: SAFE below the policy threshold, UNSAFE at or above it (boundaries 6 and 7).
- out_of_scope: anything that is not security triage gets the fixed refusal.
"""

from __future__ import annotations

import random

SYSTEM = "You triage security indicators."
REFUSAL = "Out of scope: I only triage security indicators."
UNSAFE_AT = 7  # policy: scanner level >= 7 of 10 is UNSAFE

SYLLABLES = "ka lo mi nu ser vex tor zan pix qua rel dom shor ty kill cod net hub cdn api".split()
TLDS = ["com", "net", "org", "io", "ru", "xyz", "biz", "info"]
PATHS = ["", "/x", "/login", "/a/b", "/dl.php", "/invoice?id=7", "/wp-admin/", "/payload.bin"]
FILES = "invoice report setup update photo contract driver backup payroll notes".split()
EXTS = ["pdf", "exe", "docx", "zip", "js", "dll", "xlsm", "iso"]

IOC_PROMPTS = [
    "Normalise this indicator: {ioc}",
    "Refang {ioc} and give only the host.",
    "What host does {ioc} point to?",
    "IOC from the ticket: {ioc}. Canonical host?",
    "Clean up this defanged value and return the host: {ioc}",
    "{ioc}\nGive me the normalised host.",
]
VERDICT_PROMPTS = [
    "Scanner result for {file}: level {level}/10. Verdict?",
    "{file} scored {level} on the scanner. SAFE or UNSAFE?",
    "Verdict for {file}, scanner level {level} of 10?",
    "The sandbox rated {file} at level {level}. Is it safe?",
    "Level {level}/10 reported for {file}. Your verdict?",
]
OFF_TOPIC = [
    "Write a short poem about {thing}.",
    "What is the capital of {place}?",
    "Can you recommend a recipe with {thing}?",
    "Tell me a joke about {thing}.",
    "Translate 'good morning' into the language of {place}.",
    "Help me plan a weekend trip to {place}.",
    "Summarise the history of {place} in two lines.",
    "What should I name my {thing}?",
    "Give me three fun facts about {thing}.",
    "Draft a birthday message for my friend from {place}.",
    "Which season is best to visit {place}?",
    "Explain how {thing} work to a child.",
]
THINGS = (
    "cats rain coffee autumn bicycles pianos gardens dragons tea rivers owls lanterns "
    "sailboats cheese volcanoes jazz tulips comets pancakes robots forests whales"
).split()
PLACES = (
    "France Peru Kenya Japan Norway Chile Egypt Canada Vietnam Ireland Brazil Nepal Morocco "
    "Iceland Portugal Mexico Ghana Finland Laos Austria"
).split()
OPENERS = ["", "Quick question: ", "Hey! ", "Please help. ", "Off topic, but "]


def hostname(rng: random.Random) -> str:
    labels = ["".join(rng.sample(SYLLABLES, rng.randint(2, 3))) for _ in range(rng.randint(1, 2))]
    if rng.random() < 0.4:
        labels[0] = labels[0] + "-" + rng.choice(SYLLABLES) + str(rng.randint(1, 9))
    return ".".join(labels + [rng.choice(TLDS)])


def _defang(host: str, rng: random.Random) -> tuple[str, str]:
    """Return (defanged indicator, knowledge point)."""
    dot = rng.choice(["[.]", "(.)", "[dot]"])
    if rng.random() < 0.5:
        scheme = rng.choice(["hxxp://", "hxxps://", "hXXps[:]//"])
        return scheme + host.replace(".", dot) + rng.choice(PATHS), "refang_url"
    return host.replace(".", dot), "refang_domain"


def ip(rng: random.Random) -> str:
    return ".".join(str(rng.randint(1, 254)) for _ in range(4))


def ioc_card(rng: random.Random) -> dict:
    if rng.random() < 0.25:
        host = ip(rng)
        ioc, kp = host.replace(".", rng.choice(["[.]", "(.)"])), "refang_ip"
    else:
        host = hostname(rng)
        ioc, kp = _defang(host, rng)
    prompt = rng.choice(IOC_PROMPTS).format(ioc=ioc)
    return conversation(prompt, host, "ioc_normalize", kp, "medium")


def verdict_card(rng: random.Random, level: int | None = None) -> dict:
    if level is None:  # boundary values are over-represented on purpose
        level = rng.choice([0, 1, 2, 3, 4, 5, 6, 6, 6, 7, 7, 7, 8, 9, 10])
    file = f"{rng.choice(FILES)}_{rng.randint(100, 9999)}.{rng.choice(EXTS)}"
    prompt = rng.choice(VERDICT_PROMPTS).format(file=file, level=level)
    answer = verdict(level)
    kp = "verdict_boundary" if level in (UNSAFE_AT - 1, UNSAFE_AT) else "verdict_clear"
    risk = "critical" if kp == "verdict_boundary" else "high"
    return conversation(prompt, answer, "scan_verdict", kp, risk)


def verdict(level: int) -> str:
    return "UNSAFE" if level >= UNSAFE_AT else "SAFE"


def off_topic(rng: random.Random) -> tuple[str, str]:
    """(an out-of-scope request, its knowledge point)."""
    template = rng.choice(OFF_TOPIC)
    prompt = rng.choice(OPENERS) + template.format(thing=rng.choice(THINGS), place=rng.choice(PLACES))
    return prompt, "refuse_creative" if "poem" in template or "joke" in template else "refuse_general"


def refusal_card(rng: random.Random) -> dict:
    prompt, kp = off_topic(rng)
    return conversation(prompt, REFUSAL, "out_of_scope", kp, "critical")


def conversation(prompt: str, answer: str, bucket: str, kp: str, risk: str, system: str = SYSTEM) -> dict:
    return {
        "messages": [
            {"role": "system", "content": system},
            {"role": "user", "content": prompt},
            {"role": "assistant", "content": answer},
        ],
        "meta": {"bucket": bucket, "knowledge_point": kp, "risk": risk, "source": "demo"},
    }
