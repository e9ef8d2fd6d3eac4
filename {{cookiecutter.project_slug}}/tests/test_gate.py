import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.evals.gating import (
    check_gate,
    tolerated,
)
from {{ cookiecutter.package_name }}.params import (
    evaluate,
)
from {{ cookiecutter.package_name }}.params.evaluate import (
    GateParams,
)
from {{ cookiecutter.package_name }}.params.loader import (
    ParamsError,
)

GOLDEN = GateParams(sets=["golden"])


def rates(**buckets):
    """A metrics entry: bucket -> (passed, n, risk)."""
    by_bucket = {b: {"n": n, "passed": k, "pass_rate": k / n} for b, (k, n, _) in buckets.items()}
    by_risk = {}
    for k, n, risk in buckets.values():
        r = by_risk.setdefault(risk, {"n": 0, "passed": 0})
        r["n"] += n
        r["passed"] += k
    for r in by_risk.values():
        r["pass_rate"] = r["passed"] / r["n"]
    total = sum(v[1] for v in buckets.values())
    return {
        "n": total,
        "passed": sum(v[0] for v in buckets.values()),
        "pass_rate": sum(v[0] for v in buckets.values()) / total,
        "by_bucket": by_bucket,
        "by_risk": by_risk,
    }


BASE = {"golden": rates(refusal=(2, 10, "critical"), verdict=(9, 10, "high"))}


def test_a_good_model_passes():
    good = {"golden": rates(refusal=(10, 10, "critical"), verdict=(10, 10, "high"))}
    assert check_gate({"base": BASE, "finetuned": good}, GOLDEN) == []


def test_a_bad_model_fails_naming_the_tier_and_the_bucket():
    bad = {"golden": rates(refusal=(9, 10, "critical"), verdict=(5, 10, "high"))}
    reasons = check_gate(
        {"base": BASE, "finetuned": bad},
        GateParams(sets=["golden"], min_pass_rate_by_bucket={"verdict": 0.8}),
    )
    assert reasons == [
        "golden: risk tier 'critical' pass rate 0.90 < 1.00 (1 of 10 failed)",
        "golden: bucket 'verdict' pass rate 0.50 < 0.80",
        "golden: bucket 'verdict' fell from 0.90 (base) to 0.50, more than max_regression_vs_base=0.05",
    ]


def test_missing_eval_set_fails():
    assert check_gate({"base": BASE, "finetuned": BASE}, GateParams(sets=["test"])) == [
        "test: no results for this eval set; gate.sets names a set evaluate did not run"
    ]


def gate_cli(tmp_path, metrics_text: str | None):
    metrics = tmp_path / "evaluate.json"
    if metrics_text is not None:
        metrics.write_text(metrics_text)
    (tmp_path / "params.yaml").write_text("evaluate:\n  gate:\n    sets: [golden]\n")
    module = "{{ cookiecutter.package_name }}.gate"
    cmd = [sys.executable, "-m", module, str(metrics), "--params", str(tmp_path / "params.yaml")]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    return subprocess.run(cmd, capture_output=True, text=True, env=env)


def test_cli_exits_non_zero_with_the_reasons(tmp_path):
    good = {"golden": rates(refusal=(10, 10, "critical"), verdict=(9, 10, "high"))}
    passed = gate_cli(tmp_path, json.dumps({"base": BASE, "finetuned": good}))
    assert (passed.returncode, passed.stdout) == (0, "gate: passed\n")
    bad = {"golden": rates(refusal=(0, 10, "critical"), verdict=(10, 10, "high"))}
    result = gate_cli(tmp_path, json.dumps({"base": BASE, "finetuned": bad}))
    assert result.returncode == 1
    assert "gate: FAILED" in result.stderr and "risk tier 'critical' pass rate 0.00" in result.stderr


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "evaluate.json: no such file; run the evaluate stage first (dvc repro)"),
        ('{"base": {', "evaluate.json: not valid JSON"),
        ("[1, 2]", "evaluate.json: no 'finetuned' results"),
        (
            '{"finetuned": {"golden": {"n": 3, "pass_rate": 1.0, "by_risk": 7}}}',
            "not the shape evaluate writes",
        ),
    ],
)
def test_cli_on_a_missing_or_garbled_metrics_file_says_one_line(tmp_path, text, message):
    result = gate_cli(tmp_path, text)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("gate: ") and message in result.stderr


def test_an_empty_set_names_its_file_and_a_threshold_nobody_has_fails():
    empty = {"golden": {"n": 0, "passed": 0, "pass_rate": 0.0, "by_bucket": {}, "by_risk": {}}}
    metrics = {"base": empty, "finetuned": empty, "inputs": {"golden": "data/golden"}}
    assert check_gate(metrics, GOLDEN) == [
        "golden: no items were evaluated from data/golden; a gate on nothing passes nothing"
    ]
    mislabelled = {"golden": rates(refusal=(0, 10, "Critical"))}
    reasons = check_gate({"base": mislabelled, "finetuned": mislabelled}, GOLDEN)
    assert reasons == ["risk tier 'critical' has a threshold but no items in golden (a typo in meta?)"]


def test_a_threshold_held_by_one_gated_set_is_not_a_typo_in_another():
    tuned = {
        "golden": rates(refusal=(10, 10, "critical")),
        "general": rates(general_copy=(9, 10, "low")),
    }
    base = {"golden": rates(refusal=(0, 10, "critical")), "general": rates(general_copy=(9, 10, "low"))}
    assert check_gate({"base": base, "finetuned": tuned}, GateParams(sets=["golden", "general"])) == []


def test_rejected_lines_in_a_gated_set_fail_the_gate_naming_count_and_file():
    good = {"golden": rates(refusal=(10, 10, "critical"), verdict=(10, 10, "high")), "test": BASE["golden"]}
    metrics = {
        "base": {**BASE, "test": BASE["golden"]},
        "finetuned": good,
        "rejected": {"golden": 2, "test": 5},  # test is not gated: counted, not failed on
        "rejected_file": "reports/evaluate/rejected.jsonl",
    }
    assert check_gate(metrics, GOLDEN) == [
        "golden: 2 item(s) rejected as malformed, see reports/evaluate/rejected.jsonl; fix or remove them "
        "(a gate on part of a set passes nothing)"
    ]


@pytest.mark.parametrize("where", ["overall", "bucket", "base bucket"])
def test_nan_anywhere_the_gate_reads_a_rate_fails(where):
    tuned = rates(refusal=(10, 10, "critical"), verdict=(10, 10, "high"))
    base = json.loads(json.dumps(BASE["golden"]))
    target = {
        "overall": tuned,
        "bucket": tuned["by_bucket"]["verdict"],
        "base bucket": base["by_bucket"]["verdict"],
    }
    target[where]["pass_rate"] = float("nan")
    reasons = check_gate({"base": {"golden": base}, "finetuned": {"golden": tuned}}, GOLDEN)
    assert len(reasons) == 1 and "pass rate nan is not a number in [0, 1]" in reasons[0]


def test_a_nan_threshold_is_refused_in_params(tmp_path):
    bad = tmp_path / "params.yaml"
    bad.write_text("evaluate:\n  gate:\n    min_pass_rate: .nan\n")
    with pytest.raises(ParamsError, match=r"evaluate.gate.min_pass_rate must be a rate in \[0, 1\], got nan"):
        evaluate.load(bad)


ONLY_BASELINES = GateParams(sets=["golden"], min_pass_rate_by_risk={})


def with_prompted(base_rate: int, prompted_rate: int, tuned_rate: int) -> dict:
    """Metrics where the base model scores base_rate/10 zero-shot and prompted_rate/10 prompted."""
    return {
        "base": {"golden": rates(verdict=(base_rate, 10, "high"))},
        "base_prompted": {"golden": rates(verdict=(prompted_rate, 10, "high"))},
        "finetuned": {"golden": rates(verdict=(tuned_rate, 10, "high"))},
    }


def test_a_bucket_may_not_fall_below_the_better_baseline():
    reasons = check_gate(with_prompted(2, 9, 6), ONLY_BASELINES)
    assert reasons == [
        "golden: bucket 'verdict' fell from 0.90 (prompted base) to 0.60, "
        "more than max_regression_vs_base=0.05",
        "golden: fine-tuned 0.60 does not beat the prompted base model 0.90 "
        "by more than min_gain_vs_prompted=0.00",
    ]
    tolerant = replace(ONLY_BASELINES, max_regression_by_set={"golden": 0.4}, min_gain_vs_prompted=-1.0)
    assert check_gate(with_prompted(2, 9, 6), tolerant) == []


def test_fine_tuning_must_beat_prompting():
    assert check_gate(with_prompted(0, 5, 6), ONLY_BASELINES) == []
    assert check_gate(with_prompted(0, 6, 6), ONLY_BASELINES) == [
        "golden: fine-tuned 0.60 does not beat the prompted base model 0.60 "
        "by more than min_gain_vs_prompted=0.00"
    ]
    assert check_gate(with_prompted(0, 5, 6), replace(ONLY_BASELINES, min_gain_vs_prompted=0.2)) != []
    assert check_gate(with_prompted(0, 6, 6), replace(ONLY_BASELINES, min_gain_vs_prompted=-1.0)) == []


def test_what_a_looser_per_set_tolerance_lets_through_is_listed():
    golden = rates(refusal=(10, 10, "critical"))
    metrics = {
        "base": {
            "golden": golden,
            "general": rates(general_copy=(9, 10, "low"), general_compare=(5, 10, "low")),
        },
        "finetuned": {
            "golden": golden,
            "general": rates(general_copy=(0, 10, "low"), general_compare=(5, 10, "low")),
        },
    }
    gate = GateParams(sets=["golden", "general"], max_regression_by_set={"general": 1.0})
    assert check_gate(metrics, gate) == []
    assert tolerated(metrics, gate) == [
        "general: bucket 'general_copy' fell from 0.90 (base) to 0.00, "
        "more than max_regression_vs_base=0.05; tolerated by max_regression_by_set.general=1.00"
    ]
    strict = replace(gate, max_regression_by_set={})
    assert check_gate(metrics, strict) == [
        "general: bucket 'general_copy' fell from 0.90 (base) to 0.00, more than max_regression_vs_base=0.05"
    ]
    assert tolerated(metrics, strict) == []


def test_forgetting_fails_the_gate_by_default():
    golden = rates(refusal=(10, 10, "critical"))
    general = rates(general_copy=(9, 10, "low"), general_compare=(6, 10, "low"))
    kept = rates(general_copy=(8, 10, "low"), general_compare=(6, 10, "low"))  # within 0.1: held
    forgot = rates(general_copy=(7, 10, "low"), general_compare=(6, 10, "low"))
    default = GateParams()
    assert default.max_regression_by_set == {"general": 0.1} and "general" in default.sets
    held = {"base": {"golden": golden, "general": general}, "finetuned": {"golden": golden, "general": kept}}
    assert check_gate(held, default) == []
    lost = {
        "base": {"golden": golden, "general": general},
        "finetuned": {"golden": golden, "general": forgot},
    }
    assert check_gate(lost, default) == [
        "general: bucket 'general_copy' fell from 0.90 (base) to 0.70, "
        "more than max_regression_by_set.general=0.10"
    ]


def test_a_set_may_need_a_minimum_pass_rate():
    test = rates(refusal=(8, 10, "critical"), verdict=(9, 10, "high"))
    metrics = {"base": {"test": test}, "finetuned": {"test": test}}
    gate = GateParams(sets=["test"], min_pass_rate_by_risk={}, min_pass_rate_by_set={"test": 0.9})
    assert check_gate(metrics, gate) == ["test: overall pass rate 0.85 < min_pass_rate_by_set.test=0.90"]
    assert check_gate(metrics, replace(gate, min_pass_rate_by_set={"test": 0.85})) == []
    short = {**metrics, "finetuned": {"test": {**test, "pass_rate": 0.8468}}}  # 94 of 111
    assert check_gate(short, replace(gate, min_pass_rate_by_set={"test": 0.85})) == [
        "test: overall pass rate 0.847 < min_pass_rate_by_set.test=0.85"  # not "0.85 < 0.85"
    ]
    typo = replace(gate, min_pass_rate_by_set={"tset": 0.5})
    assert check_gate(metrics, typo) == ["min_pass_rate_by_set.tset: 'tset' is not in gate.sets (test)"]
