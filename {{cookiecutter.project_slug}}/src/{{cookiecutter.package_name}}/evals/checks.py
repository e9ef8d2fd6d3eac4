"""The behaviour spec: how an answer is judged, per item.

An eval item's `meta.check` says how its answer is judged; items without one use
`evaluate.default_check`. A check is a name or an object with a `type`:

    "exact" | "normalized" | "refusal"                  compare with the reference answer
    {"type": "regex", "pattern": "^(SAFE|UNSAFE)$"}     the answer matches (re.search)
    {"type": "contains", "value": "killcod3"}           ... contains / not_contains a string
    {"type": "json", "schema": {...}, "fields": {...}}  parses, validates, has these field values
    {"type": "tool_call", "name": "lookup", "arguments": {...}}   a call to this function, then stop
    {"type": "no_tool_call"}                            an answer in text: no call expected here
    {"type": "no_invented_result"}                      no made-up tool output in the answer

The three tool checks are judged in toolcalls.py; their failure reasons, which evaluate counts
per tool in `by_tool`, are wrong_function, wrong_arguments, not_a_call, unexpected_call (a call
where none was expected) and invented_result (the model answered for the tool instead of
waiting for it).

`judge(check, answer, reference, refusal_patterns)` returns (passed, reason code, detail); the
detail says what was expected, and a check that crashes on an answer fails it as check_error.
`parse_check` validates a spec before any model is loaded.

Patterns (regex checks, `evaluate.refusal_patterns`) are written by people and run on model
output, so a pattern that backtracks, such as `(a+)+$`, could take minutes per answer. They run
on the `regex` engine (the syntax of `re`) with a time limit per answer, `REGEX_SECONDS`: a
pattern past it fails that answer as regex_timeout, naming the pattern, and evaluate names the item.
"""

from __future__ import annotations

import json
import re

import regex

from ..data.jsonl import DuplicateKey, loads
from ..data.texts import normalize_answer
from .toolcalls import judge_tools

SIMPLE = ("exact", "normalized", "refusal", "no_tool_call", "no_invented_result")
FIELDS = {
    "regex": {"pattern"},
    "contains": {"value"},
    "not_contains": {"value"},
    "json": {"schema", "fields"},
    "tool_call": {"name", "arguments"},
}
REQUIRED = {"regex": {"pattern"}, "contains": {"value"}, "not_contains": {"value"}, "tool_call": {"name"}}


class CheckError(ValueError):
    """A malformed check spec; the message says which field and what was expected."""


REGEX_SECONDS = 0.25  # a sane pattern takes microseconds on an answer; a backtracking one, forever


class RegexTimeout(Exception):
    def __init__(self, name: str, pattern: str) -> None:
        super().__init__(f"{name} /{pattern}/ ran past {REGEX_SECONDS} s on this answer: it backtracks "
                         "(nested quantifiers such as (a+)+?); rewrite it")  # fmt: skip


def compile_pattern(pattern: str, name: str, flags: int = 0) -> regex.Pattern:
    """The pattern compiled as `re` reads it, or CheckError naming `name` (the check's field or knob)."""
    try:
        return regex.compile(pattern, flags | regex.VERSION0)
    except regex.error as e:
        raise CheckError(f"{name} is not a valid regular expression: {e}") from e


def search(pattern: str, text: str, name: str, flags: int = 0) -> bool:
    """Whether the pattern is found in `text` within REGEX_SECONDS, else RegexTimeout."""
    try:
        return compile_pattern(pattern, name, flags).search(text, timeout=REGEX_SECONDS) is not None
    except TimeoutError:
        raise RegexTimeout(name, pattern) from None


def check_refusal_patterns(patterns: list[str]) -> None:
    """CheckError naming `evaluate.refusal_patterns[i]` when one is not a valid pattern."""
    for i, pattern in enumerate(patterns):
        compile_pattern(pattern, f"evaluate.refusal_patterns[{i}]", regex.IGNORECASE)


def parse_check(spec: object) -> dict:
    """Normalise a check spec to a dict with a `type`, or raise CheckError."""
    if isinstance(spec, str):
        spec = {"type": spec}
    if not isinstance(spec, dict) or not isinstance(spec.get("type"), str):
        raise CheckError(f"meta.check must be a name or an object with a 'type', got {spec!r:.200}")
    kind = spec["type"]
    if kind not in SIMPLE and kind not in FIELDS:
        raise CheckError(
            f"meta.check.type {kind!r} is unknown; expected one of {', '.join([*SIMPLE, *FIELDS])}"
        )
    extra = set(spec) - {"type"} - FIELDS.get(kind, set())
    if extra:
        raise CheckError(f"meta.check: {kind} takes no field {sorted(extra)[0]!r}")
    missing = REQUIRED.get(kind, set()) - set(spec)
    if missing:
        raise CheckError(f"meta.check: {kind} needs field {sorted(missing)[0]!r}")
    for key, expected in (
        ("pattern", str),
        ("value", str),
        ("name", str),
        ("schema", dict),
        ("fields", dict),
    ):
        if key in spec and not isinstance(spec[key], expected):
            raise CheckError(f"meta.check.{key} must be a {expected.__name__}, got {spec[key]!r:.200}")
    if kind == "regex":
        compile_pattern(spec["pattern"], "meta.check.pattern")
    if kind == "json" and "schema" in spec:
        from jsonschema import Draft202012Validator
        from jsonschema.exceptions import SchemaError

        try:
            Draft202012Validator.check_schema(spec["schema"])
        except SchemaError as e:
            raise CheckError(f"meta.check.schema is not a valid JSON Schema: {e.message}") from e
    return spec


def _parse_json(answer: str) -> object:
    """JSON in the answer, tolerating a ```json fence or <tool_call> tags around it.

    Standard JSON only (data/jsonl.loads): NaN or Infinity is what no consumer of the answer
    would read, so an answer holding them fails the check."""
    text = re.sub(r"^```(?:json)?\s*|\s*```$", "", answer.strip())
    text = re.sub(r"^<tool_call>\s*|\s*</tool_call>$", "", text)
    return loads(text)


def is_refusal(answer: str, patterns: list[str]) -> bool:
    return any(
        search(p, answer, f"evaluate.refusal_patterns[{i}]", regex.IGNORECASE) for i, p in enumerate(patterns)
    )


Verdict = tuple[bool, str, str]  # (passed, reason code, detail)
PASS: Verdict = (True, "", "")


def judge(check: dict, answer: str, reference: str, refusal_patterns: list[str]) -> Verdict:
    """The verdict on one answer; a check that raises fails the answer instead of the run."""
    try:
        return _judge(check, answer, reference, refusal_patterns)
    except RegexTimeout as e:
        return False, "regex_timeout", str(e)
    except Exception as e:  # one item's odd answer must never stop an evaluation
        return False, "check_error", f"the check raised {type(e).__name__}: {str(e)[:200]}"


def _judge(check: dict, answer: str, reference: str, refusal_patterns: list[str]) -> Verdict:
    kind = check["type"]
    if kind == "exact":
        return PASS if answer.strip() == reference.strip() else (False, "mismatch", f"expected {reference!r}")
    if kind == "normalized":
        same = normalize_answer(answer) == normalize_answer(reference)
        return PASS if same else (False, "mismatch", f"expected {reference.strip()!r}")
    if kind == "refusal":
        return PASS if is_refusal(answer, refusal_patterns) else (False, "no_refusal", "expected a refusal")
    if kind == "regex":
        found = search(check["pattern"], answer, "meta.check.pattern")
        return PASS if found else (False, "no_match", f"no match for /{check['pattern']}/")
    if kind in ("contains", "not_contains"):
        found = check["value"] in answer
        if found == (kind == "contains"):
            return PASS
        return False, kind, f"expected {'no ' if found else ''}{check['value']!r} in the answer"
    if kind in ("tool_call", "no_tool_call", "no_invented_result"):
        return judge_tools(check, answer)
    try:
        data = _parse_json(answer)
    except json.JSONDecodeError as e:
        return False, "not_json", f"not JSON ({e.msg})"
    except DuplicateKey as e:
        return False, "duplicate_key", str(e)
    except (ValueError, RecursionError) as e:
        return False, "not_json", f"not readable JSON ({type(e).__name__}: {str(e)[:120]})"
    return _judge_json(check, data)


def _judge_json(check: dict, data: object) -> Verdict:
    if "schema" in check:
        from jsonschema import Draft202012Validator

        error = next(iter(Draft202012Validator(check["schema"]).iter_errors(data)), None)
        if error is not None:
            return False, "schema", error.message
    for key, want in check.get("fields", {}).items():
        got = data.get(key) if isinstance(data, dict) else None
        if got != want:
            return False, "wrong_field", f"field {key!r} is {got!r}, expected {want!r}"
    return PASS
