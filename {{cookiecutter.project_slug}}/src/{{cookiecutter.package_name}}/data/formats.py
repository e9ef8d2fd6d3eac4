"""Conversation formats found in the wild, converted to the `messages` contract.

    messages  {"messages": [{"role", "content"}], "meta"?}          (TRL, chat templates)
    alpaca    {"instruction", "input"?, "output", "system"?}
    sharegpt  {"conversations": [{"from", "value"}], "system"?}

`detect` guesses a row's format from its keys; `to_messages` converts one row or returns a
(reason code, message) problem that names the original field.
"""

from __future__ import annotations

FORMATS = ("messages", "alpaca", "sharegpt")
SHAREGPT_ROLES = {
    "system": "system",
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "chatgpt": "assistant",
    "function_call": "assistant",
    "observation": "tool",
    "tool": "tool",
}
Problem = tuple[str, str]


def detect(row: dict) -> str | None:
    if "messages" in row:
        return "messages"
    if "conversations" in row:
        return "sharegpt"
    if "instruction" in row:
        return "alpaca"
    return None


def _carry(row: dict, messages: list[dict], drop: set[str]) -> dict:
    """The converted row keeps id and meta; other fields move into meta so nothing is lost."""
    meta = row.get("meta")
    if meta is None or isinstance(meta, dict):  # a malformed meta stays as it is, for validation to reject
        meta = {**(meta or {}), **{k: v for k, v in row.items() if k not in drop | {"id", "meta"}}}
    out = {"messages": messages, "meta": meta}
    if "id" in row:
        out["id"] = row["id"]
    return out


def _alpaca(row: dict) -> dict | Problem:
    for key in ("instruction", "output"):
        if not isinstance(row.get(key), str):
            return "bad_content", f"alpaca field {key!r} must be a string"
    extra = row.get("input") or ""
    if not isinstance(extra, str):
        return "bad_content", "alpaca field 'input' must be a string"
    user = row["instruction"] + (f"\n\n{extra}" if extra.strip() else "")
    messages = [{"role": "user", "content": user}, {"role": "assistant", "content": row["output"]}]
    if isinstance(row.get("system"), str) and row["system"].strip():
        messages.insert(0, {"role": "system", "content": row["system"]})
    return _carry(row, messages, {"instruction", "input", "output", "system"})


def _sharegpt(row: dict) -> dict | Problem:
    turns = row.get("conversations")
    if not isinstance(turns, list) or not turns:
        return "bad_messages", "sharegpt field 'conversations' must be a non-empty list"
    messages = []
    if isinstance(row.get("system"), str) and row["system"].strip():
        messages.append({"role": "system", "content": row["system"]})
    for i, turn in enumerate(turns):
        if not isinstance(turn, dict):
            return "bad_message", f"conversations[{i}] must be an object with 'from' and 'value'"
        role = SHAREGPT_ROLES.get(str(turn.get("from", "")).lower())
        if role is None:
            allowed = ", ".join(SHAREGPT_ROLES)
            return (
                "unknown_role",
                f"conversations[{i}].from is {turn.get('from')!r}; expected one of {allowed}",
            )
        messages.append({"role": role, "content": turn.get("value")})
    return _carry(row, messages, {"conversations", "system"})


def to_messages(row: dict, fmt: str) -> tuple[dict | None, Problem | None]:
    """Convert a row of format `fmt` ('auto' detects it per row)."""
    kind = detect(row) if fmt == "auto" else fmt
    if kind is None or (fmt != "auto" and detect(row) not in (None, fmt)):
        found = detect(row) or "none of " + ", ".join(FORMATS)
        return None, ("unknown_format", f"expected a {fmt if fmt != 'auto' else 'known'} row, found {found}")
    if kind == "messages":
        return row, None
    converted = _alpaca(row) if kind == "alpaca" else _sharegpt(row)
    return (None, converted) if isinstance(converted, tuple) else (converted, None)
