from {{ cookiecutter.package_name }}.scoring import passes, summarize


def test_normalized_match_ignores_case_edge_punctuation_and_spaces():
    assert passes(" unsafe. ", "UNSAFE")
    assert passes("go-shorty.killcod3.com", "go-shorty.killcod3.com")
    assert not passes("go-shorty.killcod3.co", "go-shorty.killcod3.com")
    assert not passes("unsafe", "UNSAFE", match="exact")


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
