"""What evaluate shows: both baselines side by side, tool failures, rejected lines, the judge."""

from {{ cookiecutter.package_name }}.views.tables import (
    comparison_table,
    confusion_plot,
    failure_report,
    judge_report,
    markdown_report,
    tool_table,
)


def prediction(id_, bucket, passed, reason="", model="finetuned", reference="SAFE", prediction="UNSAFE"):
    return {
        "model": model,
        "set": "golden",
        "id": id_,
        "bucket": bucket,
        "passed": passed,
        "reason": reason,
        "detail": "expected 'SAFE'",
        "reference": reference,
        "prediction": prediction,
        "request": "q",
    }


def test_failure_report_groups_by_bucket_and_reason_biggest_first():
    preds = [prediction(f"v{i}", "verdict", False, "mismatch") for i in range(5)]
    preds += [prediction("r1", "refusal", False, "no_refusal"), prediction("ok", "verdict", True)]
    preds += [prediction("b1", "verdict", False, "mismatch", model="base")]
    report = failure_report(preds)
    assert report.index("### golden / verdict / mismatch: 5") < report.index(
        "### golden / refusal / no_refusal: 1"
    )
    assert report.count("- `v") == 3  # a few examples per group, not all
    assert "b1" not in report and "`ok`" not in report


def test_confusion_rows_use_the_bucket_labels_and_other():
    preds = [
        prediction("1", "verdict", True, reference="SAFE", prediction="SAFE"),
        prediction("2", "verdict", False, reference="SAFE", prediction="UNSAFE"),
        prediction("3", "verdict", True, reference="UNSAFE", prediction="UNSAFE"),
        prediction("4", "verdict", False, reference="UNSAFE", prediction="maybe"),
        prediction("5", "refusal", False),
    ]
    rows = confusion_plot(preds, ["verdict"])
    rows += confusion_plot(
        [prediction("6", "verdict", True, reference="SAFE", prediction="safe.")], ["verdict"]
    )
    assert [(r["actual"], r["predicted"]) for r in rows] == [
        ("SAFE", "SAFE"),
        ("SAFE", "UNSAFE"),
        ("UNSAFE", "UNSAFE"),
        ("UNSAFE", "other"),
        ("SAFE", "SAFE"),  # matched as the normalized check matches it
    ]


def summary(rate, n=10, **buckets):
    return {"n": n, "pass_rate": rate, "by_bucket": {b: {"n": 5, "pass_rate": r} for b, r in buckets.items()}}


METRICS = {
    "base": {"golden": summary(0.1, verdict=0.2, refusal=0.0), "general": summary(0.8, general_copy=0.8)},
    "base_prompted": {"golden": summary(0.5, verdict=0.4, refusal=0.6)},
    "finetuned": {
        "golden": summary(0.9, verdict=1.0, refusal=0.8),
        "general": summary(0.7, general_copy=0.7),
    },
    "fewshot": {"shots": 2, "examples": 6, "examples_used_mean": 4.5, "trimmed_items": 3},
    "gate": {"passed": True, "reasons": []},
}


def test_the_bucket_table_compares_with_both_baselines():
    assert comparison_table(METRICS, "golden", "by_bucket", "bucket").splitlines() == [
        "| golden bucket | n | base | base (2-shot, 4.5 of 6 examples fit) | fine-tuned "
        "| delta vs best baseline |",
        "|---|---:|---:|---:|---:|---:|",
        "| **all** | 10 | 0.10 | 0.50 | 0.90 | +0.40 |",
        "| verdict | 5 | 0.20 | 0.40 | 1.00 | +0.60 |",
        "| refusal | 5 | 0.00 | 0.60 | 0.80 | +0.20 |",
    ]
    assert "| general_copy | 5 | 0.80 | – | 0.70 | -0.10 |" in comparison_table(
        METRICS, "general", "by_bucket", "bucket"
    )


def test_the_prompted_column_says_how_many_examples_fit_only_when_some_did_not():
    from {{ cookiecutter.package_name }}.views.tables import prompted_label

    assert prompted_label(METRICS) == "2-shot, 4.5 of 6 examples fit"
    assert prompted_label({"fewshot": {**METRICS["fewshot"], "trimmed_items": 0}}) == "2-shot"


def test_tool_table_shows_failure_reasons_per_tool():
    tools = {
        "lookup_ip": {
            "n": 4,
            "passed": 1,
            "pass_rate": 0.25,
            "failures": {"not_a_call": 1, "wrong_arguments": 2},
        }
    }
    metrics = {
        "base": {"test": {"by_tool": {"lookup_ip": {"n": 4, "passed": 0, "pass_rate": 0.0, "failures": {}}}}},
        "finetuned": {"test": {"by_tool": tools}},
    }
    assert (
        tool_table(metrics, "test").splitlines()[-1]
        == "| lookup_ip | 4 | 0.00 | 0.25 | not_a_call 1, wrong_arguments 2 |"
    )
    assert tool_table(METRICS, "golden") is None


def test_the_report_shows_rejected_lines_and_a_failed_judge():
    rejected = [
        {"set": "golden", "file": "data/golden/g.jsonl", "line": 3, "reason": "invalid_json", "message": "x"},
        {"set": "golden", "file": "data/golden/h.json", "row": 0, "reason": "bad_content", "message": "y"},
    ]
    judge_result = {"all": {"win": 2, "n": 2, "win_rate": 1.0}, "error": "APITimeoutError ...", "judged": 2}
    gate = {
        "passed": False,
        "reasons": ["golden: 1 item(s) rejected", "golden: bucket x fell"],
        "tolerated": ["t1"],
    }
    metrics = {
        **METRICS,
        "judge": judge_result,
        "rejected_file": "reports/evaluate/rejected.jsonl",
        "gate": gate,
    }
    report = markdown_report(metrics, [], rejected)
    assert "**Gate: FAILED**\n\n- golden: 1 item(s) rejected\n- golden: bucket x fell\n\n" in report
    assert "(`gate.max_regression_by_set`):\n\n- t1\n\n" in report
    assert (
        "## Rejected eval lines: 2" in report
        and "- `data/golden/g.jsonl:3` (golden) invalid_json: x" in report
        and "- `data/golden/h.json[row 0]` (golden) bad_content: y" in report  # an array element
    )
    assert "`reports/evaluate/rejected.jsonl`" in report
    assert "**The judge failed** after 2 item(s); the evaluation is kept: APITimeoutError" in report
    assert "| all | 2 | 2 | 0 | 0 | 0 | 1.00 |" in judge_report(judge_result)
    assert "6 solved train-split examples (2 per bucket) in the prompt; 3 prompt(s) left some out" in report
    assert "(4.5 examples per prompt on average)" in report
