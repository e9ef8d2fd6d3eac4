from {{ cookiecutter.package_name }}.evals.scoring import (
    normalize_answer,
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
