"""Optional pairwise model judge: which answer is better, the base model's or the fine-tuned one's?

Off by default (`evaluate.judge.enabled`). It talks to any OpenAI-compatible chat completions
endpoint (`evaluate.judge.base_url`: a hosted API, vLLM, llama.cpp, Ollama) through the official
`openai` client, an optional extra: `pip install -e '.[judge]'`. The key is read from the
environment variable named in `evaluate.judge.api_key_env`, never from a file. Timeouts, 429
and 5xx answers are retried with exponential backoff (`max_retries`, `timeout_s`); a judge
that still fails ends the judging, not the evaluation: what was judged so far is kept and the
error goes to `judge.error` in the metrics and the report. Answer order alternates between
items to cancel the judge's position bias.
"""

from __future__ import annotations

import os
import re
from collections import Counter, defaultdict

from ..errors import UserError
from ..params import evaluate as params_mod

PROMPT = """You compare two answers to the same request. Reply with exactly one of: A, B, TIE.

Request:
{request}

Reference answer:
{reference}

Answer A:
{a}

Answer B:
{b}"""
NO_KEY = "not-set"  # local servers take any key; a hosted one answers 401, which is reported


def client(jp: params_mod.JudgeParams):
    """The openai client for the judge endpoint, or a UserError saying how to install it."""
    try:
        import openai
    except ImportError:
        raise UserError("evaluate.judge.enabled needs the openai client: pip install -e '.[judge]'") from None
    return openai.OpenAI(
        base_url=jp.base_url,
        api_key=os.environ.get(jp.api_key_env) or NO_KEY,
        timeout=jp.timeout_s,
        max_retries=jp.max_retries,
    )


def verdict(reply: str) -> str:
    """A, B or TIE when that is the whole reply (case, markdown, quotes and a final period aside,
    or "Answer A"); anything else is INVALID: in "It is a tie; B is slightly better" the first
    A-like word is the article, and a judge that argues both ways has given no verdict."""
    text = re.sub(r"[\s*_`'\".:!()\[\]]+", " ", reply).strip().upper()
    text = re.sub(r"^(ANSWER|VERDICT) ", "", text)
    return text if text in ("A", "B", "TIE") else "INVALID"


def _ask(judge, jp: params_mod.JudgeParams, content: str) -> str:
    response = judge.chat.completions.create(
        model=jp.model, temperature=0, messages=[{"role": "user", "content": content}]
    )
    return response.choices[0].message.content or ""


def pairwise(predictions: list[dict], jp: params_mod.JudgeParams) -> dict:
    """Win/tie/loss of the fine-tuned model against the base, overall and per bucket.

    `{"all": {...}, bucket: {...}}` with `win`, `tie`, `loss`, `invalid`, `n`, `win_rate`; when the
    endpoint fails, also `error` (what failed, after retries) and `judged` (items done before it).
    """
    judge = client(jp)
    by_key = {(p["model"], p["set"], p["id"]): p for p in predictions}
    tuned_items = [p for p in predictions if p["model"] == "finetuned" and p["set"] in jp.sets]
    outcomes: dict[str, Counter] = defaultdict(Counter)
    error = None
    for i, tuned in enumerate(tuned_items):
        base = by_key[("base", tuned["set"], tuned["id"])]
        tuned_first = i % 2 == 0
        a, b = (tuned, base) if tuned_first else (base, tuned)
        content = PROMPT.format(
            request=tuned.get("request", ""),
            reference=tuned["reference"],
            a=a["prediction"],
            b=b["prediction"],
        )
        try:
            reply = verdict(_ask(judge, jp, content))
        except Exception as e:  # outage, timeout, 4xx/5xx after retries, a malformed reply
            has_key = "set" if os.environ.get(jp.api_key_env) else "not set"
            error = (
                f"{type(e).__name__} from {jp.base_url} at item {i + 1} of {len(tuned_items)}: {e} "
                f"(key from ${jp.api_key_env}: {has_key})"
            )
            break
        outcome = {"TIE": "tie", "INVALID": "invalid"}.get(reply) or (
            "win" if (reply == "A") == tuned_first else "loss"
        )
        for key in ("all", tuned["bucket"] or "_none"):
            outcomes[key][outcome] += 1
    result = {
        key: {**dict(c), "n": sum(c.values()), "win_rate": round(c["win"] / max(1, sum(c.values())), 4)}
        for key, c in sorted(outcomes.items())
    }
    if error is not None:
        result |= {"error": error[:500], "judged": sum(outcomes["all"].values())}
    return result
