import json
import os
import subprocess
import sys
from pathlib import Path

from {{ cookiecutter.package_name }}.evals.gating import check_gate
from {{ cookiecutter.package_name }}.params import GateParams


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
    assert check_gate({"base": BASE, "finetuned": good}, GateParams()) == []


def test_a_bad_model_fails_naming_the_tier_and_the_bucket():
    bad = {"golden": rates(refusal=(9, 10, "critical"), verdict=(5, 10, "high"))}
    reasons = check_gate(
        {"base": BASE, "finetuned": bad}, GateParams(min_pass_rate_by_bucket={"verdict": 0.8})
    )
    assert reasons == [
        "golden: risk tier 'critical' pass rate 0.90 < 1.00 (1 of 10 failed)",
        "golden: bucket 'verdict' pass rate 0.50 < 0.80",
        "golden: bucket 'verdict' fell from 0.90 (base) to 0.50, more than max_regression_vs_base=0.05",
    ]


def test_missing_eval_set_fails():
    assert check_gate({"base": BASE, "finetuned": BASE}, GateParams(sets=["test"])) == [
        "test: no results for this eval set"
    ]


def test_cli_exits_non_zero_with_the_reasons(tmp_path):
    bad = {"golden": rates(refusal=(0, 10, "critical"), verdict=(10, 10, "high"))}
    metrics = tmp_path / "evaluate.json"
    metrics.write_text(json.dumps({"base": BASE, "finetuned": bad}))
    (tmp_path / "params.yaml").write_text("{}\n")
    module = "{{ cookiecutter.package_name }}.gate"
    cmd = [sys.executable, "-m", module, str(metrics), "--params", str(tmp_path / "params.yaml")]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    result = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert result.returncode == 1
    assert "gate: FAILED" in result.stderr and "risk tier 'critical' pass rate 0.00" in result.stderr


def test_an_empty_set_or_a_tier_with_no_items_fails():
    empty = {"golden": {"n": 0, "passed": 0, "pass_rate": 0.0, "by_bucket": {}, "by_risk": {}}}
    assert check_gate({"base": empty, "finetuned": empty}, GateParams()) == [
        "golden: no items were evaluated; a gate on nothing passes nothing"
    ]
    mislabelled = {"golden": rates(refusal=(0, 10, "Critical"))}
    reasons = check_gate({"base": mislabelled, "finetuned": mislabelled}, GateParams())
    assert reasons == ["golden: risk tier 'critical' has a threshold but no items (a typo in meta?)"]
