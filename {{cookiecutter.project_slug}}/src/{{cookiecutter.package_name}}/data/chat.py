"""The conversation contract: `{"id"?, "messages": [{"role", "content"}], "meta"?}`.

`check_conversation` is a filter in the datatrove sense: it returns None for a good row, or a
`(reason_code, message)` pair that says what is wrong and what was expected.
"""

from __future__ import annotations

import re
import unicodedata

ROLES = ("system", "user", "assistant", "tool")
# Letters that render as nothing: Hangul fillers and the blank Braille pattern.
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
Problem = tuple[str, str]
_TRAILING_SPACE = re.compile(r"[ \t]+\n")


def check_conversation(row: object, final_assistant: bool = True) -> Problem | None:
    if not isinstance(row, dict):
        return "not_object", f"expected a JSON object, got {type(row).__name__}"
    meta = row.get("meta")
    if meta is not None and not isinstance(meta, dict):
        return "bad_meta", f"field 'meta' must be an object, got {type(meta).__name__}"
    for key in ("bucket", "knowledge_point", "risk"):
        if meta and key in meta and not isinstance(meta[key], str):
            return "bad_meta", f"meta.{key} must be a string, got {type(meta[key]).__name__}"
    messages = row.get("messages")
    if messages is None:
        return "missing_messages", "field 'messages' is missing; expected a list of messages"
    if not isinstance(messages, list) or not messages:
        return "bad_messages", "field 'messages' must be a non-empty list"
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            return "bad_message", f"messages[{i}] must be an object with 'role' and 'content'"
        role = message.get("role")
        if role not in ROLES:
            return "unknown_role", f"messages[{i}].role is {role!r}; expected one of {', '.join(ROLES)}"
        content = message.get("content")
        if not isinstance(content, str):
            return "bad_content", f"messages[{i}].content must be a string, got {type(content).__name__}"
        if not content.strip():
            return "empty_content", f"messages[{i}].content is empty"
        if not has_visible_text(content):
            codes = " ".join(sorted({f"U+{ord(c):04X}" for c in content if not c.isspace()}))
            return "empty_content", f"messages[{i}].content has only invisible characters ({codes})"
    return _check_turn_order([m["role"] for m in messages], final_assistant)


def has_visible_text(text: str) -> bool:
    """Whether anything but whitespace and format characters (Unicode Cf: zero-width space U+200B,
    ZWNJ, ZWJ, BOM U+FEFF, soft hyphen U+00AD...) and blank letters is left; stops at the first
    visible character."""
    return any(not c.isspace() and c not in _BLANK_LETTERS and unicodedata.category(c) != "Cf" for c in text)


def _check_turn_order(roles: list[str], final_assistant: bool) -> Problem | None:
    """Optional leading system, then user first; tool results only answer an assistant turn."""
    body = roles[1:] if roles[0] == "system" else roles
    if not body or body[0] != "user":
        return "bad_turn_order", "the first non-system message must come from 'user'"
    for i, (prev, role) in enumerate(zip(body, body[1:], strict=False), start=len(roles) - len(body) + 1):
        if role == "system":
            return "bad_turn_order", f"messages[{i}] is 'system'; only the first message may be"
        if role == prev and role != "tool":
            return "bad_turn_order", f"messages[{i}] repeats role {role!r}; expected alternation"
        if role == "tool" and prev not in ("assistant", "tool"):
            return "bad_turn_order", f"messages[{i}] is a tool result without an assistant call"
    if final_assistant and body[-1] != "assistant":
        return "bad_turn_order", "the last message must come from 'assistant' (the training target)"
    return None


def normalize_content(text: str) -> str:
    """NFC, Unix newlines, no trailing spaces: equal text compares equal after this."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    if "\n" in text:  # the substitution scans every space: skip it on one-line text
        text = _TRAILING_SPACE.sub("\n", text)
    return text.strip()


def prompt_and_reference(row: dict) -> tuple[list[dict], str]:
    """Split an eval item into the messages the model sees and the reference answer."""
    messages = row["messages"]
    return [{"role": m["role"], "content": m["content"]} for m in messages[:-1]], messages[-1]["content"]
