from {{ cookiecutter.package_name }}.data.texts import (
    normalize_answer,
)
from {{ cookiecutter.package_name }}.evals.scoring import (
    summarize,
)


def test_normalisation_ignores_case_edge_punctuation_and_spaces_only():
    assert normalize_answer(' "Unsafe."  ') == "unsafe"
    assert normalize_answer("go-shorty.killcod3.com") == "go-shorty.killcod3.com"
    assert normalize_answer("a  b") == normalize_answer("A b")
    assert normalize_answer("go-shorty.killcod3.co") != normalize_answer("go-shorty.killcod3.com")


def test_summary_reports_every_bucket_and_risk_not_only_the_aggregate():
    results = [
        {"bucket": "a", "risk": "critical", "passed": True},
        {"bucket": "a", "risk": "critical", "passed": True},
        {"bucket": "b", "risk": "low", "passed": False},
        {"bucket": None, "risk": "low", "passed": True},
    ]
    s = summarize(results)
    assert (s["n"], s["passed"], s["pass_rate"]) == (4, 3, 0.75)
    assert s["by_bucket"]["a"]["pass_rate"] == 1.0
    assert s["by_bucket"]["b"]["pass_rate"] == 0.0
    assert s["by_bucket"]["_none"]["n"] == 1
    assert s["by_risk"] == {
        "critical": {"n": 2, "passed": 2, "pass_rate": 1.0},
        "low": {"n": 2, "passed": 1, "pass_rate": 0.5},
    }


def test_tool_items_are_counted_per_tool_with_failure_reasons():
    results = [
        {"bucket": "tool_use", "tool": "lookup_ip", "passed": True, "reason": ""},
        {"bucket": "tool_use", "tool": "lookup_ip", "passed": False, "reason": "wrong_arguments"},
        {"bucket": "tool_use", "tool": "lookup_ip", "passed": False, "reason": "wrong_arguments"},
        {"bucket": "tool_use", "tool": "block_ip", "passed": False, "reason": "not_a_call"},
        {"bucket": "tool_use", "tool": "_no_call", "passed": False, "reason": "unexpected_call"},
        {"bucket": "verdict", "tool": None, "passed": True, "reason": ""},
    ]
    s = summarize(results)
    assert s["by_tool"] == {
        "_no_call": {"n": 1, "passed": 0, "pass_rate": 0.0, "failures": {"unexpected_call": 1}},
        "block_ip": {"n": 1, "passed": 0, "pass_rate": 0.0, "failures": {"not_a_call": 1}},
        "lookup_ip": {"n": 3, "passed": 1, "pass_rate": 0.3333, "failures": {"wrong_arguments": 2}},
    }
    assert "by_tool" not in summarize(results[-1:])  # no tool items, no empty table
