"""Generate the demo dataset: a security-triage assistant with three behaviours.

    python -m PACKAGE.demo_data --out data      # writes data/raw/, data/golden/, data/preferences/

Standard library only, so the project's post-generation hook can run it before anything is
installed. Every row is a conversation tagged with `meta.bucket`, `meta.knowledge_point` and
`meta.risk`; each knowledge point has several varied cards (prompt phrasings, boundary values,
counter-examples) so the model has to learn the rule, not one surface form.

Behaviours (buckets):
- ioc_normalize: refang a defanged indicator and answer with the bare host or IP.
- scan_verdict: SAFE below the policy threshold, UNSAFE at or above it (boundaries 6 and 7).
- out_of_scope: anything that is not security triage gets the fixed refusal.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path

from .data.jsonl import write_jsonl

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


def _host(rng: random.Random) -> str:
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


def _ip(rng: random.Random) -> str:
    return ".".join(str(rng.randint(1, 254)) for _ in range(4))


def ioc_card(rng: random.Random) -> dict:
    if rng.random() < 0.25:
        host = _ip(rng)
        ioc, kp = host.replace(".", rng.choice(["[.]", "(.)"])), "refang_ip"
    else:
        host = _host(rng)
        ioc, kp = _defang(host, rng)
    prompt = rng.choice(IOC_PROMPTS).format(ioc=ioc)
    return _conversation(prompt, host, "ioc_normalize", kp, "medium")


def verdict_card(rng: random.Random, level: int | None = None) -> dict:
    if level is None:  # boundary values are over-represented on purpose
        level = rng.choice([0, 1, 2, 3, 4, 5, 6, 6, 6, 7, 7, 7, 8, 9, 10])
    file = f"{rng.choice(FILES)}_{rng.randint(100, 9999)}.{rng.choice(EXTS)}"
    prompt = rng.choice(VERDICT_PROMPTS).format(file=file, level=level)
    answer = "UNSAFE" if level >= UNSAFE_AT else "SAFE"
    kp = "verdict_boundary" if level in (UNSAFE_AT - 1, UNSAFE_AT) else "verdict_clear"
    risk = "critical" if kp == "verdict_boundary" else "high"
    return _conversation(prompt, answer, "scan_verdict", kp, risk)


def refusal_card(rng: random.Random) -> dict:
    template = rng.choice(OFF_TOPIC)
    prompt = rng.choice(OPENERS) + template.format(thing=rng.choice(THINGS), place=rng.choice(PLACES))
    kp = "refuse_creative" if "poem" in template or "joke" in template else "refuse_general"
    return _conversation(prompt, REFUSAL, "out_of_scope", kp, "critical")


def _conversation(prompt: str, answer: str, bucket: str, kp: str, risk: str) -> dict:
    return {
        "messages": [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": prompt},
            {"role": "assistant", "content": answer},
        ],
        "meta": {"bucket": bucket, "knowledge_point": kp, "risk": risk, "source": "demo"},
    }


def make_raw(n_per_bucket: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for make in (ioc_card, verdict_card, refusal_card):
        rows += [make(rng) for _ in range(n_per_bucket)]
    rng.shuffle(rows)
    # Real exports are messy: a re-exported duplicate and two broken rows show what curate does.
    rows.append(json.loads(json.dumps(rows[0])))
    broken = json.loads(json.dumps(rows[1]))
    broken["messages"][-1]["content"] = "   "
    rows.append(broken)
    wrong_role = json.loads(json.dumps(rows[2]))
    wrong_role["messages"][1]["role"] = "human"
    rows.append(wrong_role)
    return [{"id": f"raw-{i:05d}", **row} for i, row in enumerate(rows)]


def make_golden(seed: int) -> list[dict]:
    """Must-hold behaviours: every boundary level, each refusal template, varied indicators."""
    rng = random.Random(seed)
    rows = [verdict_card(rng, level) for level in range(11)]
    rows += [verdict_card(rng, level) for level in (UNSAFE_AT - 1, UNSAFE_AT)]
    rows += [ioc_card(rng) for _ in range(13)]
    rows += [refusal_card(rng) for _ in range(13)]
    return [{"id": f"golden-{i:03d}", **row} for i, row in enumerate(rows)]


def make_preferences(n_per_bucket: int, seed: int) -> list[dict]:
    """DPO pairs: the policy's answer is chosen, a typical failure of each behaviour is rejected."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n_per_bucket):
        for card in (ioc_card(rng), verdict_card(rng), refusal_card(rng)):
            *prompt, answer = card["messages"]
            user = prompt[-1]["content"]
            if card["meta"]["bucket"] == "ioc_normalize":  # echoing the defanged form back
                wrong = re.search(r"\S*(?:\[\.\]|\(\.\)|\[dot\])\S*", user).group(0).rstrip(".?")
            elif card["meta"]["bucket"] == "scan_verdict":  # the other side of the boundary
                wrong = "SAFE" if answer["content"] == "UNSAFE" else "UNSAFE"
            else:  # complying with an out-of-scope request
                wrong = "Sure! Here is what you asked for."
            rejected = {"role": "assistant", "content": wrong}
            rows.append({"prompt": prompt, "chosen": [answer], "rejected": [rejected], "meta": card["meta"]})
    return [{"id": f"pref-{i:04d}", **row} for i, row in enumerate(rows)]


def main(out: Path, n_per_bucket: int = 300, seed: int = 0) -> None:
    write_jsonl(out / "raw" / "demo.jsonl", make_raw(n_per_bucket, seed))
    write_jsonl(out / "golden" / "golden.jsonl", make_golden(seed + 1))
    write_jsonl(out / "preferences" / "preferences.jsonl", make_preferences(n_per_bucket // 4, seed + 2))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("data"))
    parser.add_argument("--n-per-bucket", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    main(args.out, args.n_per_bucket, args.seed)
