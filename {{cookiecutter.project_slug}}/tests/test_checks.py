import pytest

from {{ cookiecutter.package_name }}.evals.checks import (
    CheckError,
    judge,
    parse_check,
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
    ],
)
def test_json_check(answer, passed, reason):
    spec = {"type": "json", "schema": SCHEMA, "fields": {"verdict": "UNSAFE"}}
    assert verdict(spec, answer)[:2] == (passed, reason)


@pytest.mark.parametrize(
    ("answer", "passed", "reason"),
    [
        ('{"name": "lookup_ip", "arguments": {"ip": "1.2.3.4"}}', True, ""),
        ('<tool_call>{"name": "lookup_ip", "arguments": "{\\"ip\\": \\"1.2.3.4\\"}"}</tool_call>', True, ""),
        ('{"name": "block_ip", "arguments": {"ip": "1.2.3.4"}}', False, "wrong_function"),
        ('{"name": "lookup_ip", "arguments": {"ip": "1.2.3.5"}}', False, "wrong_arguments"),
        ('{"arguments": {}}', False, "not_a_call"),
        ("I would call lookup_ip", False, "not_json"),
    ],
)
def test_tool_call_check(answer, passed, reason):
    spec = {"type": "tool_call", "name": "lookup_ip", "arguments": {"ip": "1.2.3.4"}}
    assert verdict(spec, answer)[:2] == (passed, reason)


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
