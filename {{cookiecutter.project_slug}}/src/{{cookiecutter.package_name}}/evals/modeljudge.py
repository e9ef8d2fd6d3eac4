"""Optional pairwise model judge: which answer is better, the base model's or the fine-tuned one's?

Off by default (`evaluate.judge.enabled`). It speaks the OpenAI-compatible chat completions
protocol to `evaluate.judge.base_url`, with the key read from the environment variable named in
`evaluate.judge.api_key_env`, so any hosted or local server works. Answer order alternates
between items to cancel the judge's position bias.
"""

from __future__ import annotations

import json
import os
import re
import urllib.request
from collections import Counter, defaultdict

from .. import params as params_mod

PROMPT = """You compare two answers to the same request. Reply with exactly one of: A, B, TIE.

Request:
{request}

Reference answer:
{reference}

Answer A:
{a}

Answer B:
{b}"""


def ask(jp: params_mod.JudgeParams, content: str) -> str:
    body = {"model": jp.model, "temperature": 0, "messages": [{"role": "user", "content": content}]}
    request = urllib.request.Request(
        jp.base_url.rstrip("/") + "/chat/completions",
        data=json.dumps(body).encode(),
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {os.environ.get(jp.api_key_env, '')}",
        },
    )
    with urllib.request.urlopen(request, timeout=jp.timeout_s) as response:
        return json.load(response)["choices"][0]["message"]["content"]


def verdict(reply: str) -> str:
    match = re.search(r"\b(TIE|A|B)\b", reply.upper())
    return match.group(1) if match else "INVALID"


def pairwise(predictions: list[dict], jp: params_mod.JudgeParams) -> dict:
    """Win/tie/loss of the fine-tuned model against the base, overall and per bucket."""
    by_key = {(p["model"], p["set"], p["id"]): p for p in predictions}
    outcomes: dict[str, Counter] = defaultdict(Counter)
    tuned_items = [p for p in predictions if p["model"] == "finetuned" and p["set"] in jp.sets]
    for i, tuned in enumerate(tuned_items):
        base = by_key[("base", tuned["set"], tuned["id"])]
        tuned_first = i % 2 == 0
        a, b = (tuned, base) if tuned_first else (base, tuned)
        request = tuned.get("request", "")
        reply = verdict(
            ask(
                jp,
                PROMPT.format(
                    request=request, reference=tuned["reference"], a=a["prediction"], b=b["prediction"]
                ),
            )
        )
        outcome = {"TIE": "tie", "INVALID": "invalid"}.get(reply) or (
            "win" if (reply == "A") == tuned_first else "loss"
        )
        for key in ("all", tuned["bucket"] or "_none"):
            outcomes[key][outcome] += 1
    return {
        key: {**dict(c), "n": sum(c.values()), "win_rate": round(c["win"] / max(1, sum(c.values())), 4)}
        for key, c in sorted(outcomes.items())
    }
