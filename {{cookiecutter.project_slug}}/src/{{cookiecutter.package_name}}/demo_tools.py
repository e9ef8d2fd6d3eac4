"""The demo's tool-calling bucket: when to call the scanner, with what, and never inventing its result.

Standard library only (demo_data runs before anything is installed). The assistant has one tool,
`scan(host)`, which returns a host's scanner level (`{"level": 8}`) or an error. A call is the
whole answer, as compact JSON in the form the `tool_call` check reads:
`{"name":"scan","arguments":{"host":"kalo.net"}}`; short and regular on purpose, so that even
the embedded model can learn it. Knowledge points of bucket `tool_use`:

- call_scan: a verdict on a host with no level given -> call scan with exactly that host.
- answer_given_level: the level is already in the message -> the verdict, no call.
- no_call_off_topic: an out-of-scope request -> the refusal, no call.
- use_result: the tool returned a level -> the verdict from that level, no second call.
- no_result: the tool returned an error -> say there is no verdict; never make one up.
"""

from __future__ import annotations

import json
import random
import re

from .demo_cards import REFUSAL, SYSTEM, TLDS, UNSAFE_AT, conversation, hostname, ip, off_topic, verdict

TOOL = "scan"
SYSTEM_TOOLS = SYSTEM + " Tool: scan(host)."
NO_RESULT = "No level, so no verdict."
# Words of the off-topic asks that no made-up host would be named after.
STOPWORDS = set("please help quick question topic about with from what which tell give into".split())
NO_CALL = {"type": "no_tool_call"}  # an answer in text; a call here fails as unexpected_call

CALL_PROMPTS = [
    "Is {host} safe?",
    "Check {host} with the scanner.",
    "Verdict for {host}? Nobody has scanned it yet.",
    "What does the scanner say about {host}?",
    "Scan {host} and tell me if it is safe.",
    "A ticket mentions {host}. Safe or not?",
]
GIVEN_PROMPTS = [
    "{host} was already scanned: level {level}/10. Verdict?",
    "The scanner gave {host} level {level}. SAFE or UNSAFE?",
    "No need to scan again, {host} is at level {level}. Verdict?",
    "Level {level}/10 for {host} from this morning's scan. Is it safe?",
    "We have the result for {host}: level {level} of 10. Your verdict?",
]
# Two words each once normalised: decontaminate matches shorter eval texts whole, and a generic
# three-word tool error in a golden item would take every training row with that error with it.
ERRORS = ['{"error":"timeout"}', '{"error":"unavailable"}', '{"error":"quota"}', '{"error":404}']
# Reading a tool's result is the hardest part to learn, so those cards come most often; they
# teach the call too (every assistant turn is trained). Off-topic asks under the tool prompt come
# twice as often as their share: a model that has just learned a tool reaches for it on anything
# that names a person or a place (SmolLM2 scanned "my_friend.com" for a birthday message).
KNOWLEDGE_POINTS = ["call_scan"] * 2 + ["answer_given_level"] * 2 + ["no_call_off_topic"] * 2
KNOWLEDGE_POINTS += ["use_result"] * 3 + ["no_result"] * 3
# What the embedded model holds every time is critical (the gate requires all of it); reading a
# result, and copying a host into a call, it gets right most of the time: high. With a real base
# model, make no_result critical too: an invented verdict is the worst failure here.
RISK = {
    "call_scan": "high",
    "answer_given_level": "critical",
    "no_call_off_topic": "critical",
    "use_result": "high",
    "no_result": "high",
}


def short_host(rng: random.Random) -> str:
    """One label and a TLD: a tool conversation holds the host twice and must fit train.sft.max_length."""
    return hostname(rng).split(".")[0].split("-")[0] + "." + rng.choice(TLDS)


def call(host: str) -> str:
    return json.dumps({"name": TOOL, "arguments": {"host": host}}, separators=(",", ":"))


def _level(rng: random.Random) -> int:
    return rng.choice([0, 2, 3, 4, 5, 6, 6, 7, 7, 8, 9, 10])  # the boundary, over-represented


def tool_card(rng: random.Random, kp: str | None = None, level: int | None = None) -> dict:
    """One tool_use conversation; `kp` and `level` pin the knowledge point and the scanner level."""
    kp = kp or rng.choice(KNOWLEDGE_POINTS)
    level = _level(rng) if level is None else level
    multi_turn = kp in ("use_result", "no_result")
    host = ip(rng) if rng.random() < 0.2 and not multi_turn else short_host(rng)
    if kp == "answer_given_level":
        prompt = rng.choice(GIVEN_PROMPTS).format(host=host, level=level)
        return _card(conversation(prompt, verdict(level), "tool_use", kp, RISK[kp], SYSTEM_TOOLS), NO_CALL)
    if kp == "no_call_off_topic":
        prompt, _ = off_topic(rng)
        return _card(conversation(prompt, REFUSAL, "tool_use", kp, RISK[kp], SYSTEM_TOOLS), NO_CALL)
    prompt = rng.choice(CALL_PROMPTS).format(host=host)
    card = conversation(prompt, call(host), "tool_use", kp, RISK[kp], SYSTEM_TOOLS)
    if kp == "call_scan":
        return _card(card, {"type": "tool_call", "name": TOOL, "arguments": {"host": host}})
    result = json.dumps({"level": level}, separators=(",", ":")) if kp == "use_result" else rng.choice(ERRORS)
    card["messages"] += [
        {"role": "tool", "content": result},
        {"role": "assistant", "content": verdict(level) if kp == "use_result" else NO_RESULT},
    ]
    return _card(card, "normalized")


def _card(card: dict, check: dict | str) -> dict:
    card["meta"]["check"] = check
    return card


def rejected(card: dict, rng: random.Random) -> str:
    """The typical failure of a tool_use card, for its preference pair."""
    kp, messages = card["meta"]["knowledge_point"], card["messages"]
    invented = f"Level {rng.randint(0, 10)}/10: {rng.choice(['SAFE', 'UNSAFE'])}"
    if kp in ("call_scan", "no_result"):  # a verdict with no scan behind it: an invented result
        return invented
    if kp == "use_result":  # calling again instead of reading the result
        return messages[-3]["content"]
    if kp == "answer_given_level":  # an unneeded call: the level is in the message
        return call(hostname(rng))
    return call(_host_from_words(messages[1]["content"], rng))  # a call for an off-topic ask


def _host_from_words(ask: str, rng: random.Random) -> str:
    """A host made up from an off-topic ask's own words ("my_friend.com"): the call a model invents."""
    words = re.findall(r"[a-z]+", ask.lower())
    content = [w for w in words if len(w) > 3 and w not in STOPWORDS] or ["example"]
    first = rng.randrange(len(content))
    label = "_".join(content[first : first + rng.randint(1, 2)])
    return f"{label}.{rng.choice(TLDS)}"


def golden(rng: random.Random) -> list[dict]:
    """Must-hold tool behaviours: calls, both sides of the boundary with and without the tool, errors."""
    rows = [tool_card(rng, "call_scan") for _ in range(4)]
    rows += [tool_card(rng, "answer_given_level", level) for level in (UNSAFE_AT - 1, UNSAFE_AT, 2)]
    rows += [tool_card(rng, "no_call_off_topic") for _ in range(2)]
    rows += [tool_card(rng, "use_result", level) for level in (UNSAFE_AT - 1, UNSAFE_AT, 9)]
    rows += [tool_card(rng, "no_result") for _ in range(3)]
    return rows
