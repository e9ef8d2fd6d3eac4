import json
import time

import pytest

from {{ cookiecutter.package_name }}.evals.checks import (
    CheckError,
    check_refusal_patterns,
    judge,
    parse_check,
)
from {{ cookiecutter.package_name }}.evals.toolcalls import (
    tool_key,
)

REFUSAL = ["^out of scope"]


def verdict(spec, answer, reference=""):
    return judge(parse_check(spec), answer, reference, REFUSAL)


@pytest.mark.parametrize(
    ("spec", "answer", "reference", "passed", "reason"),
    [
        ("exact", "UNSAFE", "UNSAFE", True, ""),
        ("exact", "unsafe", "UNSAFE", False, "mismatch"),
        ("normalized", " unsafe. ", "UNSAFE", True, ""),
        ("normalized", "SAFE", "UNSAFE", False, "mismatch"),
        ("refusal", "Out of scope: I only triage security indicators.", "", True, ""),
        ("refusal", "Here is a poem about cats", "", False, "no_refusal"),
        ({"type": "regex", "pattern": r"^(SAFE|UNSAFE)$"}, "UNSAFE", "", True, ""),
        ({"type": "regex", "pattern": r"^(SAFE|UNSAFE)$"}, "probably unsafe", "", False, "no_match"),
        ({"type": "contains", "value": "killcod3"}, "go-shorty.killcod3.com", "", True, ""),
        ({"type": "contains", "value": "killcod3"}, "go-shorty.com", "", False, "contains"),
        ({"type": "not_contains", "value": "[.]"}, "a.b.com", "", True, ""),
        ({"type": "not_contains", "value": "[.]"}, "a[.]b.com", "", False, "not_contains"),
    ],
)
def test_text_checks(spec, answer, reference, passed, reason):
    ok, code, detail = verdict(spec, answer, reference)
    assert (ok, code) == (passed, reason)
    assert bool(detail) != ok  # a failure always says what was expected


SCHEMA = {"type": "object", "required": ["verdict"], "properties": {"verdict": {"enum": ["SAFE", "UNSAFE"]}}}


@pytest.mark.parametrize(
    ("answer", "passed", "reason"),
    [
        ('{"verdict": "UNSAFE", "level": 7}', True, ""),
        ('```json\n{"verdict": "UNSAFE", "level": 7}\n```', True, ""),
        ('{"verdict": "MAYBE"}', False, "schema"),
        ('{"verdict": "SAFE", "level": 7}', False, "wrong_field"),
        ("UNSAFE", False, "not_json"),
        ('{"verdict": "SAFE", "verdict": "UNSAFE", "level": 7}', False, "duplicate_key"),  # which one?
    ],
)
def test_json_check(answer, passed, reason):
    spec = {"type": "json", "schema": SCHEMA, "fields": {"verdict": "UNSAFE"}}
    assert verdict(spec, answer)[:2] == (passed, reason)


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_a_json_answer_must_be_standard_json(constant):
    ok, reason, detail = verdict({"type": "json"}, '{"level": ' + constant + "}")
    assert (ok, reason) == (False, "not_json")
    assert detail == f"not readable JSON (ValueError: {constant} is not valid JSON)"


CALL = '{"name": "lookup_ip", "arguments": {"ip": "1.2.3.4"}}'


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ('{"name": "lookup_ip", "arguments": {"ip": NaN}}', "not_a_call"),
        ('{"name": "lookup_ip", "arguments": "{\\"ip\\": Infinity}"}', "wrong_arguments"),
    ],
)
def test_a_call_must_be_standard_json(answer, reason):
    """NaN is not JSON: no tool would accept those arguments, so the call does not count."""
    assert verdict({"type": "tool_call", "name": "lookup_ip"}, answer)[:2] == (False, reason)


@pytest.mark.parametrize(
    ("answer", "passed", "reason"),
    [
        (CALL, True, ""),
        ('<tool_call>{"name": "lookup_ip", "arguments": "{\\"ip\\": \\"1.2.3.4\\"}"}</tool_call>', True, ""),
        (f"```json\n{CALL}\n```", True, ""),
        (
            json.dumps(
                {"type": "function", "function": {"name": "lookup_ip", "arguments": '{"ip": "1.2.3.4"}'}}
            ),
            True,
            "",
        ),
        ('{"name": "lookup_ip", "parameters": {"ip": "1.2.3.4"}}', True, ""),  # Llama 3 style
        (f"<tool_call>{CALL}</tool_call>\n<tool_call>{CALL}</tool_call>", True, ""),  # parallel calls
        ('{"name": "block_ip", "arguments": {"ip": "1.2.3.4"}}', False, "wrong_function"),
        ('{"name": "lookup_ip", "arguments": {"ip": "1.2.3.5"}}', False, "wrong_arguments"),
        ('{"name": "lookup_ip", "arguments": "{ip: 1.2.3.4"}', False, "wrong_arguments"),
        ('{"arguments": {}}', False, "not_a_call"),
        ("I would call lookup_ip", False, "not_a_call"),
        (f"{CALL}\nThe IP is malicious (score 97).", False, "invented_result"),
        (f"<tool_call>{CALL}</tool_call><tool_response>clean</tool_response>", False, "invented_result"),
        ('{"name": "lookup_ip", "arguments": {"ip": "9.9.9.9", "ip": "1.2.3.4"}}', False, "wrong_arguments"),
    ],
)
def test_tool_call_check(answer, passed, reason):
    spec = {"type": "tool_call", "name": "lookup_ip", "arguments": {"ip": "1.2.3.4"}}
    assert verdict(spec, answer)[:2] == (passed, reason)


@pytest.mark.parametrize(
    ("spec", "answer", "passed", "reason"),
    [
        ("no_tool_call", "Out of scope: I only triage security indicators.", True, ""),
        ("no_tool_call", '{"verdict": "SAFE"}', True, ""),  # JSON, but not a call
        ("no_tool_call", CALL, False, "unexpected_call"),
        ("no_tool_call", "Let me check. <tool_call>{broken</tool_call>", False, "unexpected_call"),
        ("no_tool_call", '{"name": "lookup_ip", "arguments": {"a": 1, "a": 2}}', False, "unexpected_call"),
        ("no_invented_result", "I will look it up.", True, ""),
        ("no_invented_result", CALL, True, ""),  # a call that stops is fine
        ("no_invented_result", f"{CALL}\nIt is malicious.", False, "invented_result"),
        ("no_invented_result", '<tool_response>{"score": 97}</tool_response>', False, "invented_result"),
        ("no_invented_result", "Calling lookup_ip.\nObservation: 97 reports", False, "invented_result"),
    ],
)
def test_no_call_and_no_invented_result_checks(spec, answer, passed, reason):
    assert verdict(spec, answer)[:2] == (passed, reason)


def test_tool_checks_are_counted_per_tool():
    assert tool_key(parse_check({"type": "tool_call", "name": "lookup_ip"})) == "lookup_ip"
    assert tool_key(parse_check("no_tool_call")) == "_no_call"
    assert tool_key(parse_check("no_invented_result")) == "_no_result"
    assert tool_key(parse_check("exact")) is None


@pytest.mark.parametrize(
    "answer",
    ["[" * 100_000, '{"n": ' + "9" * 5000 + "}", '{"name": "lookup_ip", "arguments": ' + "[" * 100_000],
)
def test_answers_that_break_a_json_parser_fail_the_item_not_the_run(answer):
    assert verdict({"type": "json", "fields": {"n": 1}}, answer)[:2] == (False, "not_json")
    assert verdict({"type": "tool_call", "name": "lookup_ip"}, answer)[:2] == (False, "not_a_call")
    assert verdict("no_tool_call", answer)[:2] == (True, "")


def test_a_check_that_raises_fails_its_item_as_check_error():
    ok, reason, detail = judge({"type": "regex", "pattern": None}, "UNSAFE", "", REFUSAL)
    assert (ok, reason) == (False, "check_error") and "TypeError" in detail


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("fuzzy", "meta.check.type 'fuzzy' is unknown; expected one of exact, normalized"),
        ({"pattern": "x"}, "must be a name or an object with a 'type'"),
        ({"type": "regex"}, "regex needs field 'pattern'"),
        ({"type": "regex", "pattern": "("}, "not a valid regular expression"),
        ({"type": "contains", "value": "x", "extra": 1}, "contains takes no field 'extra'"),
        ({"type": "json", "schema": {"type": "nope"}}, "not a valid JSON Schema"),
        ({"type": "contains", "value": 7}, "meta.check.value must be a str, got 7"),
    ],
)
def test_malformed_checks_say_what_is_wrong(spec, message):
    with pytest.raises(CheckError, match=message):
        parse_check(spec)


def test_a_backtracking_pattern_cannot_hang_evaluate():
    start = time.monotonic()
    assert verdict({"type": "regex", "pattern": "(a+)+$"}, "a" * 28 + "!")[:2] == (False, "no_match")
    assert time.monotonic() - start < 10  # 56 s on Python's re, doubling per character
    passed, reason, detail = verdict({"type": "regex", "pattern": "(a|aa)+$"}, "a" * 40 + "!")
    assert (passed, reason) == (False, "regex_timeout") and detail.startswith(
        "meta.check.pattern /(a|aa)+$/ ran"
    )
    refusal = judge(parse_check("refusal"), "a" * 40 + "!", "", ["^out of scope", "(a|aa)+$"])
    assert refusal[1] == "regex_timeout" and refusal[2].startswith("evaluate.refusal_patterns[1] /(a|aa)+$/")


def test_refusal_patterns_are_checked_before_any_model_is_loaded():
    check_refusal_patterns(["^out of scope", "(?i)cannot help"])
    with pytest.raises(CheckError, match=r"evaluate.refusal_patterns\[1\] is not a valid regular expression"):
        check_refusal_patterns(["^out of scope", "(unclosed"])
