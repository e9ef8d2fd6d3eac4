"""The texts decontamination compares: what an eval item must not leak, what a training row holds.

    eval_texts({"messages": [...]})            # the prompts: every non-system message but the last
    row_texts({"prompt": ..., "chosen": ...})  # every non-system message of a row or preference pair

Eval items come from anywhere (the test split, the golden set, benchmark files), so every shape
curate reads is accepted: messages, ShareGPT, Alpaca, preference pairs, and plain `prompt`,
`question` or `text` fields. Anything else raises `TextError` naming the field and what was
expected; the caller reports the item with its file:line and goes on.

    normalize_answer(" 'SAFE.' ")              # "safe": what counts as the same answer

`normalize_answer` is here, below both, because curate (label conflicts, coverage) and evaluate
(the `normalized` check) must agree on it.
"""

from __future__ import annotations

import re

from .formats import detect, to_messages

_EDGE_PUNCT = re.compile(r"^[\s\"'`.,;:!?]+|[\s\"'`.,;:!?]+$")

PLAIN_FIELDS = ("prompt", "question", "text", "input")


def normalize_answer(text: str) -> str:
    """Case, surrounding quotes/punctuation and runs of whitespace do not change an answer."""
    return " ".join(_EDGE_PUNCT.sub("", text).lower().split())


class TextError(ValueError):
    """A row without the text decontamination needs; the message names the field."""


def _contents(parts: object, field: str) -> list[str]:
    """The non-system texts of a list of messages (or of plain strings)."""
    if isinstance(parts, str):
        return [parts]
    if not isinstance(parts, list):
        raise TextError(f"field {field!r} must be a string or a list of messages, got {type(parts).__name__}")
    texts = []
    for i, m in enumerate(parts):
        if isinstance(m, str):
            texts.append(m)
        elif not isinstance(m, dict) or not isinstance(m.get("content"), str):
            got = type(m.get("content") if isinstance(m, dict) else m).__name__
            raise TextError(f"{field}[{i}].content must be a string, got {got}")
        elif m.get("role") != "system":
            texts.append(m["content"])
    return texts


def row_texts(row: dict) -> list[str]:
    """Every non-system message (the system prompt is shared by many rows) of a conversation, or
    of a preference pair's prompt, chosen and rejected answers."""
    if "messages" in row:
        return _contents(row["messages"], "messages")
    keys = [k for k in ("prompt", "chosen", "rejected") if row.get(k) is not None]
    if not keys:
        raise TextError("expected 'messages', or a preference pair's 'prompt', 'chosen' and 'rejected'")
    return [text for key in keys for text in _contents(row[key], key)]


def eval_texts(row: dict) -> list[str]:
    """What must not leak from an eval item: its prompts. Shared answers (labels) are not leaks."""
    if detect(row) in ("sharegpt", "alpaca"):
        converted, problem = to_messages(row, "auto")
        if problem:
            raise TextError(problem[1])
        row = converted
    if "messages" in row:
        messages = row["messages"]
        texts = _contents(messages[:-1] if isinstance(messages, list) else messages, "messages")
        return texts or _contents(messages, "messages")  # a lone message is all there is to leak
    for key in PLAIN_FIELDS:
        if row.get(key) is not None:
            return _contents(row[key], key)
    raise TextError(
        "no text to check: expected 'messages', 'conversations', 'instruction' or one of "
        + ", ".join(repr(k) for k in PLAIN_FIELDS)
    )
