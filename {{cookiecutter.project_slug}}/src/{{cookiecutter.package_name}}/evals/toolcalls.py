"""Tool calls in an answer: find the call, and judge the three tool checks of checks.py.

A call is a JSON object `{"name": ..., "arguments": {...}}` (also `parameters`, as Llama 3
writes it, or OpenAI's `{"type": "function", "function": {...}}` with the arguments as a JSON
string), bare, in a ```json fence or in <tool_call> tags (Qwen, Hermes). A model that calls a
tool must stop and wait for its result: text after the call, or a tool-output marker such as
<tool_response> or an "Observation:" line, is an invented result.

    tool_call            the call names this function (with these arguments) and nothing follows
    no_tool_call         the answer is text: wrong here is `unexpected_call`
    no_invented_result   no made-up tool output, whatever else the answer does
"""

from __future__ import annotations

import re

from ..data.jsonl import DECODER, LAST_WINS, DuplicateKey, loads

TOOL_CALL = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.DOTALL)
TOOL_OUTPUT = re.compile(
    r"<tool_(?:response|result|output)>|<\|im_start\|>\s*tool|^\s*(?:observation|tool (?:result|output)):",
    re.IGNORECASE | re.MULTILINE,
)

Verdict = tuple[bool, str, str]  # (passed, reason code, detail), as in checks.py
PASS: Verdict = (True, "", "")


def find_call(answer: str) -> tuple[dict | None, str]:
    """(the tool call the answer opens with, the text after it), or (None, answer)."""
    text = re.sub(r"^```(?:json)?\s*", "", answer.strip())
    tagged = TOOL_CALL.match(text)
    body, rest = (tagged.group(1), text[tagged.end() :]) if tagged else (text, "")
    twice = ""
    try:
        data, end = DECODER.raw_decode(body)
    except DuplicateKey as e:  # still a call (no_tool_call fails), but not a well-formed one
        data, end = LAST_WINS.raw_decode(body)
        twice = str(e)
    except (ValueError, RecursionError):  # not JSON, a 5000-digit number, nesting too deep
        return None, answer
    if not tagged:
        rest = body[end:]
    if isinstance(data, dict) and isinstance(data.get("function"), dict):  # OpenAI's wrapper
        data = data["function"]
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        return None, answer
    arguments = data.get("arguments", data.get("parameters", {}))
    rest = TOOL_CALL.sub("", re.sub(r"^\s*```", "", rest)).strip()  # further calls are not text
    return {"name": data["name"], "arguments": arguments, "duplicate_key": twice}, rest


def judge_tools(check: dict, answer: str) -> Verdict:
    call, rest = find_call(answer)
    if check["type"] == "no_tool_call":
        if call is None and "<tool_call>" not in answer:
            return PASS
        return False, "unexpected_call", "expected an answer in text, got a tool call"
    invented = TOOL_OUTPUT.search(answer) or (call is not None and rest)
    if check["type"] == "no_invented_result":
        return (False, "invented_result", "the answer makes up tool output") if invented else PASS
    if call is None:
        return False, "not_a_call", f"expected a call to {check['name']!r}, got text"
    if call["name"] != check["name"]:
        return False, "wrong_function", f"called {call['name']!r}, expected {check['name']!r}"
    if call["duplicate_key"]:
        return False, "wrong_arguments", f"the call is ambiguous: {call['duplicate_key']}"
    arguments = call["arguments"]
    if isinstance(arguments, str):  # OpenAI-style calls carry arguments as a JSON string
        try:
            arguments = loads(arguments)
        except (ValueError, RecursionError):
            return False, "wrong_arguments", "arguments are not JSON"
    want = check.get("arguments")
    if want is not None and arguments != want:
        return False, "wrong_arguments", f"arguments {arguments!r:.200}, expected {want!r:.200}"
    if invented:
        return False, "invented_result", f"text after the call: {rest[:80]!r}; expected to stop and wait"
    return PASS


def tool_key(check: dict) -> str | None:
    """What `by_tool` counts an item under: the function's name, or the kind of tool check."""
    return {
        "tool_call": check.get("name"),
        "no_tool_call": "_no_call",
        "no_invented_result": "_no_result",
    }.get(check["type"])
