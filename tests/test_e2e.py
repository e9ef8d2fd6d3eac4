"""End to end, as the README says: `make demo` bakes the defaults and runs `dvc repro` offline.

Slow (a few minutes on 2 CPU cores): it builds the embedded base model, fine-tunes it, merges
and evaluates, then checks what a user relies on: a real before/after, counts that add up,
a no-op second run, and that a train knob re-runs only train -> merge -> evaluate.
"""

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import DEFAULT_SLUG, TEMPLATE, run

pytestmark = pytest.mark.slow
SLUG = DEFAULT_SLUG
PACKAGE = SLUG.replace("-", "_")


@pytest.fixture(scope="module")
def reproduced(tmp_path_factory) -> Path:
    demo = tmp_path_factory.mktemp("demo")
    done = run(["make", "demo", f"DEMO={demo}", f"VENV={sys.prefix}"], cwd=TEMPLATE)
    report = done.stdout.index("# Evaluation")  # stdout ends with the report; stderr holds progress
    (demo / "make-demo.log").write_text(done.stdout[:report] + done.stderr)
    return demo / DEFAULT_SLUG


def test_make_demo_says_little_before_the_report(reproduced):
    # A line per stage step with elapsed/ETA, no library chatter: the report is what a newcomer reads.
    output = (reproduced.parent / "make-demo.log").read_text()  # all but the report
    assert len(output.splitlines()) <= 40, output
    assert "FutureWarning" not in output and "Next:" not in output


def metrics(project: Path, stage: str) -> dict:
    return json.loads((project / "metrics" / f"{stage}.json").read_text())


def test_fine_tuned_model_clearly_beats_the_base(reproduced):
    ev = metrics(reproduced, "evaluate")
    for eval_set in ("test", "golden"):
        base, tuned = ev["base"][eval_set], ev["finetuned"][eval_set]
        assert set(tuned["by_bucket"]) == {"ioc_normalize", "scan_verdict", "out_of_scope", "tool_use"}
        assert set(tuned["by_risk"]) == {"medium", "high", "critical"}
        assert tuned["n"] == base["n"] > 0
        assert tuned["stopped_rate"] == 1.0  # every answer ends its turn
    assert ev["finetuned"]["test"]["pass_rate"] - ev["base"]["test"]["pass_rate"] >= 0.5
    assert ev["finetuned"]["golden"]["pass_rate"] > ev["base"]["golden"]["pass_rate"]
    report = (reproduced / "reports" / "evaluate" / "report.md").read_text()
    assert "| scan_verdict |" in report and "| golden bucket |" in report
    assert ev["gate"]["passed"] and ev["gate"]["reasons"] == [] and "**Gate: PASSED**" in report
    assert set(ev["base_prompted"]) == {"test", "golden"} and ev["finetuned"]["general"]["n"] == 84
    assert 0 < ev["finetuned"]["golden"]["consistency"]["agreement"] <= 1
    confusion = json.loads((reproduced / "plots" / "evaluate" / "confusion.json").read_text())["confusion"]
    assert {r["actual"] for r in confusion} == {"SAFE", "UNSAFE"}
    run(["make", "gate"], cwd=reproduced)


def test_a_bad_model_fails_the_gate_naming_what_broke(reproduced, tmp_path):
    # The base model posing as the fine-tuned one: the real generate and evaluate, then the CI gate.
    sets = "--test data/split/test.jsonl --golden data/golden"
    run(f"python -m {PACKAGE}.generate --model models/base {sets} --out {tmp_path}/a".split()
        + ["--metrics", str(tmp_path / "generate.json")], cwd=reproduced)  # fmt: skip
    cmd = f"python -m {PACKAGE}.evaluate --answers answers/baseline {tmp_path}/a {sets}"
    cmd += f" --out {tmp_path}/r --plots {tmp_path}/p"
    run(cmd.split() + ["--metrics", str(tmp_path / "bad.json")], cwd=reproduced)
    gate = subprocess.run(
        [sys.executable, "-m", f"{PACKAGE}.gate", str(tmp_path / "bad.json")],
        cwd=reproduced, capture_output=True, text=True,
    )  # fmt: skip
    assert gate.returncode == 1
    # The base model passes only the critical items that need no tool call: it never calls one.
    assert re.search(r"golden: risk tier 'critical' pass rate 0\.[0-4]\d < 1\.00", gate.stderr), gate.stderr


def test_every_stage_explains_itself(reproduced):
    curate = metrics(reproduced, "curate")
    assert curate["rows_in"] == curate["kept"] + curate["quarantined"] == 1203
    assert curate["quarantined_by_reason"]["empty_content"] == 1
    assert curate["quarantined_by_reason"]["unknown_role"] == 1
    quarantine = (reproduced / "data" / "curated" / "quarantine.jsonl").read_text().splitlines()
    assert len(quarantine) == curate["quarantined"]
    assert all(json.loads(q)["file"].endswith("demo.jsonl") for q in quarantine)

    split = metrics(reproduced, "split")
    assert sum(split[s]["rows"] for s in ("train", "val", "test")) == curate["kept"]
    decon = metrics(reproduced, "decontaminate")
    assert decon["train"]["kept"] + decon["train"]["removed"] == split["train"]["rows"]

    assert decon["preferences"]["kept"] > 0

    train = metrics(reproduced, "train")
    assert train["method"] == "lora" and 0 < train["trainable_parameters"] < train["total_parameters"]
    assert train["eval_loss_last"] < train["eval_loss_first"]
    kept = train["selection"]["kept"]  # the checkpoint with the best val pass rate, and why
    evaluations = train["selection"]["evaluations"]
    assert kept["pass_rate"] == max(e["pass_rate"] for e in evaluations if e["phase"] == "sft")
    assert (reproduced / "plots" / "train" / "plots" / "metrics" / "eval" / "pass_rate.tsv").exists()
    replay = metrics(reproduced, "replay")
    left_out = replay["left_out_unfinished"] + replay["left_out_empty"] + replay["left_out_wrong"]
    assert replay["prompts"] == replay["kept"] + left_out and replay["kept_sampled"] == 0  # samples: 0
    assert train["mix"]["sources"] == {}  # the tiny model's replay is noise: its bake mixes none in
    dpo = train["dpo"]
    assert dpo["steps"] > 0 and dpo["margins_trained"] > dpo["margins_before"]  # DPO learnt its pairs
    dpo_best = max(e["pass_rate"] for e in evaluations if e["phase"] == "dpo")
    sft_best = max(e["pass_rate"] for e in evaluations if e["phase"] == "sft")
    if dpo_best >= sft_best:  # kept only if it answers val at least as well as SFT did
        assert dpo["kept"] == "dpo" and dpo["margins_after"] == dpo["margins_trained"]
    else:
        assert dpo["kept"] == "sft" and dpo["margins_after"] == dpo["margins_before"]
    assert train["estimate"]["qlora"]["memory_gib"] < train["estimate"]["full"]["memory_gib"]
    card = (reproduced / "models" / "merged" / "README.md").read_text()
    assert "base_model: embedded" in card and "`models/trained`" in card
    merged = metrics(reproduced, "merge")
    assert merged["merged"]["max_rel_diff"] <= 1e-4 and merged["vs_training"]["top1_agreement"] == 1.0
    cost = metrics(reproduced, "cost")
    assert cost["training"]["gpu_hours"] > 0 and cost["training"]["source"].startswith("measured")
    assert cost["break_even"]["requests"] > 0  # the default prompt and price make fine-tuning pay off


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


def snapshot(project: Path) -> dict[str, str]:
    """sha256 of every file of a model version: splits, trained and merged model, metrics."""
    files = [
        f
        for d in ("data/split", "models/trained", "models/merged", "metrics")
        for f in (project / d).rglob("*")
    ]
    return {
        str(f.relative_to(project)): hashlib.sha256(f.read_bytes()).hexdigest() for f in files if f.is_file()
    }


def release(project: Path, version: str) -> None:
    run(["git", "add", "-A"], cwd=project)
    run(["git", "commit", "--quiet", "-m", f"Train {version}"], cwd=project)
    run([sys.executable, "-m", f"{PACKAGE}.release", version, "--stage", "prod"], cwd=project)
    run(["dvc", "push", "--quiet"], cwd=project)


def test_versions_are_tagged_and_roll_back_byte_for_byte(reproduced):
    # Version 1: the default run. Version 2: a train knob, which re-runs only train -> merge -> evaluate.
    release(reproduced, "v1.0.0")
    v1 = snapshot(reproduced)
    params_file = reproduced / "params.yaml"
    params_file.write_text(params_file.read_text().replace("seed: 42\n    bf16", "seed: 7\n    bf16"))
    result = run(["dvc", "repro"], cwd=reproduced)
    ran = [line.split("'")[1] for line in result.stdout.splitlines() if line.startswith("Running stage")]
    assert ran == ["train", "merge", "generate", "evaluate", "cost"]  # the base model's answers stay
    release(reproduced, "v2.0.0")
    v2 = snapshot(reproduced)
    assert v1["metrics/split.json"] == v2["metrics/split.json"]
    assert v1["models/merged/model.safetensors"] != v2["models/merged/model.safetensors"]

    # A gate threshold is judging, not generation: it re-runs evaluate and nothing else.
    text = params_file.read_text()
    params_file.write_text(text.replace("min_gain_vs_prompted: 0.0", "min_gain_vs_prompted: 0.01"))
    result = run(["dvc", "repro"], cwd=reproduced)
    ran = [line.split("'")[1] for line in result.stdout.splitlines() if line.startswith("Running stage")]
    assert ran == ["evaluate"]
    run(["git", "checkout", "--quiet", "--", "."], cwd=reproduced)  # back to the released v2.0.0

    versions = run(["gto", "show", SLUG], cwd=reproduced).stdout
    assert "v1.0.0" in versions and "v2.0.0" in versions
    assert run(["gto", "show", f"{SLUG}#prod", "--ref"], cwd=reproduced).stdout.strip() == f"{SLUG}@v2.0.0"
    record = json.loads((reproduced / "releases" / "v2.0.0.json").read_text())
    assert record["base_model"]["source"] == "embedded" and record["gate"]["passed"]
    assert record["dvc_lock_outs"]["models/merged"].endswith(".dir") and "transformers" in record["libraries"]
    card = (reproduced / "releases" / "v2.0.0.md").read_text()
    assert "## Gate: PASSED" in card and "| tool_use |" in card and "| golden risk tier |" in card
    assert "| base (2-shot, " in card  # the prompted baseline, as in report.md, with how many examples fit
    assert [e["version"] for e in map(json.loads, (reproduced / "releases" / "audit.jsonl").open())] == [
        "v1.0.0",
        "v2.0.0",
    ]

    # A fresh clone with only the Git history and the DVC remote brings version 1 back.
    clone = reproduced.parent / "clone"
    run(["git", "clone", "--quiet", str(reproduced), str(clone)], cwd=reproduced.parent)
    run(["git", "checkout", "--quiet", f"{SLUG}@v1.0.0"], cwd=clone)
    run(["dvc", "pull", "--quiet"], cwd=clone)
    assert snapshot(clone) == v1
    assert "Data and pipelines are up to date" in run(["dvc", "status"], cwd=clone).stdout

    fetched = reproduced.parent / "fetched"
    run(
        ["dvc", "artifacts", "get", str(reproduced), SLUG, "--rev", "v1.0.0", "-o", str(fetched)],
        cwd=reproduced,
    )
    merged = hashlib.sha256((fetched / "model.safetensors").read_bytes()).hexdigest()
    assert merged == v1["models/merged/model.safetensors"]


def test_compare_report_against_the_previous_version(reproduced):
    run(["make", "compare", f"BASE={SLUG}@v1.0.0"], cwd=reproduced)
    report = (reproduced / "reports" / "compare" / "report.md").read_text()
    assert "**Gate: PASSED**" in report and "train.sft.seed" in report
    assert (
        "| golden/scan_verdict |" in report
        and (reproduced / "reports" / "compare" / "training-loss.svg").exists()
    )


def test_experiments_run_from_the_command_line(reproduced):
    run(["dvc", "exp", "run", "--quiet", "-S", "train.sft.num_train_epochs=1"], cwd=reproduced)
    table = run(["make", "exp-show"], cwd=reproduced).stdout
    assert "train.sft.num_train_epochs" in table and "finetuned.golden.pass_rate" in table


def test_rollback_restores_the_first_version_and_its_stage(reproduced):
    # After the experiments above, back to the last commit, then to version 1 as prod.
    run(["git", "checkout", "--", "."], cwd=reproduced)
    run(["git", "clean", "-fdq"], cwd=reproduced)  # the compare report left by the test above
    run(["dvc", "checkout", "--force", "--quiet"], cwd=reproduced)
    v2 = snapshot(reproduced)
    run(["make", "rollback", "VERSION=v1.0.0", "STAGE=prod"], cwd=reproduced)
    v1 = snapshot(reproduced)
    assert v1["models/merged/model.safetensors"] != v2["models/merged/model.safetensors"]
    clone_v1 = snapshot(reproduced.parent / "clone")  # checked out at v1.0.0 above
    assert v1 == clone_v1
    assert run(["gto", "show", f"{SLUG}#prod", "--ref"], cwd=reproduced).stdout.strip() == f"{SLUG}@v1.0.0"
    assert "Data and pipelines are up to date" in run(["dvc", "status"], cwd=reproduced).stdout
