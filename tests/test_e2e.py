"""End to end, as the README says: `make demo` bakes the defaults and runs `dvc repro` offline.

Slow (a few minutes on 2 CPU cores): it builds the embedded base model, fine-tunes it, merges
and evaluates, then checks what a user relies on: a real before/after, counts that add up,
a no-op second run, and that a train knob re-runs only train -> merge -> evaluate.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import DEFAULT_SLUG, TEMPLATE, run

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def reproduced(tmp_path_factory) -> Path:
    demo = tmp_path_factory.mktemp("demo")
    run(["make", "demo", f"DEMO={demo}", f"VENV={sys.prefix}"], cwd=TEMPLATE)
    return demo / DEFAULT_SLUG


def metrics(project: Path, stage: str) -> dict:
    return json.loads((project / "metrics" / f"{stage}.json").read_text())


def test_fine_tuned_model_clearly_beats_the_base(reproduced):
    ev = metrics(reproduced, "evaluate")
    for eval_set in ("test", "golden"):
        base, tuned = ev["base"][eval_set], ev["finetuned"][eval_set]
        assert set(tuned["by_bucket"]) == {"ioc_normalize", "scan_verdict", "out_of_scope"}
        assert set(tuned["by_risk"]) == {"medium", "high", "critical"}
        assert tuned["n"] == base["n"] > 0
        assert tuned["stopped_rate"] == 1.0  # every answer ends its turn
    assert ev["finetuned"]["test"]["pass_rate"] - ev["base"]["test"]["pass_rate"] >= 0.5
    assert ev["finetuned"]["golden"]["pass_rate"] > ev["base"]["golden"]["pass_rate"]
    report = (reproduced / "reports" / "evaluate" / "report.md").read_text()
    assert "| scan_verdict |" in report and "| golden bucket |" in report
    assert ev["gate"] == {"passed": True, "reasons": []} and "**Gate: PASSED**" in report
    assert 0 < ev["finetuned"]["golden"]["consistency"]["agreement"] <= 1
    confusion = json.loads((reproduced / "plots" / "evaluate" / "confusion.json").read_text())["confusion"]
    assert {r["actual"] for r in confusion} == {"SAFE", "UNSAFE"}
    run(["make", "gate"], cwd=reproduced)


def test_a_bad_model_fails_the_gate_naming_what_broke(reproduced, tmp_path):
    # The base model posing as the fine-tuned one: the real evaluate, then the CI gate command.
    cmd = "python -m security_triage_assistant.evaluate --base models/base --model models/base"
    cmd += f" --test data/split/test.jsonl --golden data/golden --out {tmp_path}/r --plots {tmp_path}/p"
    run(cmd.split() + ["--metrics", str(tmp_path / "bad.json")], cwd=reproduced)
    gate = subprocess.run(
        [sys.executable, "-m", "security_triage_assistant.gate", str(tmp_path / "bad.json")],
        cwd=reproduced, capture_output=True, text=True,
    )  # fmt: skip
    assert gate.returncode == 1
    assert "golden: risk tier 'critical' pass rate 0.00 < 1.00" in gate.stderr


def test_every_stage_explains_itself(reproduced):
    curate = metrics(reproduced, "curate")
    assert curate["rows_in"] == curate["kept"] + curate["quarantined"] == 903
    assert curate["quarantined_by_reason"]["empty_content"] == 1
    assert curate["quarantined_by_reason"]["unknown_role"] == 1
    quarantine = (reproduced / "data" / "curated" / "quarantine.jsonl").read_text().splitlines()
    assert len(quarantine) == curate["quarantined"]
    assert all(json.loads(q)["file"].endswith("demo.jsonl") for q in quarantine)

    split = metrics(reproduced, "split")
    assert sum(split[s]["rows"] for s in ("train", "val", "test")) == curate["kept"]
    decon = metrics(reproduced, "decontaminate")
    assert decon["train"]["kept"] + decon["train"]["removed"] == split["train"]["rows"]

    train = metrics(reproduced, "train")
    assert train["method"] == "lora" and 0 < train["trainable_parameters"] < train["total_parameters"]
    assert train["eval_loss_last"] < train["eval_loss_first"]
    assert metrics(reproduced, "merge")["max_abs_logit_diff"] <= 1e-4


def test_base_model_lineage_is_recorded(reproduced):
    base = metrics(reproduced, "base")
    assert base["source"] == "embedded" and len(base["revision"]) == 64
    lock = yaml.safe_load((reproduced / "dvc.lock").read_text())
    base_out = next(o for o in lock["stages"]["base"]["outs"] if o["path"] == "models/base")
    assert base_out["md5"].endswith(".dir")
    train_deps = {d["path"]: d["md5"] for d in lock["stages"]["train"]["deps"]}
    assert train_deps["models/base"] == base_out["md5"]


def test_second_repro_is_a_no_op(reproduced):
    result = run(["dvc", "repro"], cwd=reproduced)
    assert "Running stage" not in result.stdout
    status = run(["dvc", "status"], cwd=reproduced)
    assert "Data and pipelines are up to date" in status.stdout


def test_a_train_knob_reruns_only_train_merge_evaluate(reproduced):
    # Last on purpose: it changes the project. One epoch keeps it quick.
    params_file = reproduced / "params.yaml"
    params_file.write_text(params_file.read_text().replace("num_train_epochs: 12", "num_train_epochs: 1"))
    result = run(["dvc", "repro"], cwd=reproduced)
    ran = [line.split("'")[1] for line in result.stdout.splitlines() if line.startswith("Running stage")]
    assert ran == ["train", "merge", "evaluate"]
    assert metrics(reproduced, "train")["steps"] < 60
