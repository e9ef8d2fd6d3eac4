"""Every training method for a few steps on a tiny model: LoRA, QLoRA, full, DPO after SFT,
resume after an interruption, a 2-process run, one-line errors under accelerate, and a merge
that refuses a corrupt adapter. Each test trains what it needs: none reads another's output."""

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }} import merge, train
from {{ cookiecutter.package_name }}.params.merge import (
    MergeParams,
)
from {{ cookiecutter.package_name }}.params.train import (
    DpoParams,
    TrainParams,
)

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
SFT = {
    "max_steps": 6,
    "per_device_train_batch_size": 4,
    "per_device_eval_batch_size": 8,
    "learning_rate": 1e-3,
    "max_length": 64,
    "assistant_only_loss": True,
    "logging_steps": 2,
    "save_strategy": "steps",
    "save_steps": 2,
    "seed": 0,
    "disable_tqdm": True,
    "gradient_checkpointing": False,
}
LORA = {"r": 4, "lora_alpha": 8, "target_modules": "all-linear"}


def chat(user: str, answer: str) -> dict:
    return {"messages": [{"role": "user", "content": user}, {"role": "assistant", "content": answer}]}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, tiny_base):
    root = tmp_path_factory.mktemp("training")
    shutil.copytree(tiny_base, root / "base")
    data = root / "data"
    data.mkdir()
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]
    rows = [chat(f"Say {w} {i}", f"{w} {i}") for i in range(4) for w in words]
    (data / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (data / "val.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[:8]))
    pairs = [
        {
            "prompt": [{"role": "user", "content": f"Say {w}"}],
            "chosen": [{"role": "assistant", "content": w}],
            "rejected": [{"role": "assistant", "content": "no"}],
        }
        for w in words * 3
    ]
    (data / "preferences.jsonl").write_text("".join(json.dumps(r) + "\n" for r in pairs))
    return root


def run_train(workspace: Path, name: str, p: TrainParams, **kwargs) -> dict:
    out = workspace / name
    report = train.main(
        p,
        workspace / "base",
        workspace / "data",
        out / "trained",
        out / "plots",
        out / "train.json",
        checkpoints=out / "checkpoints",
        **kwargs,
    )
    return report


@pytest.mark.parametrize("method", ["lora", "qlora", "full"])
def test_each_method_trains_and_merges(workspace, method):
    p = TrainParams(method=method, sft=SFT, lora=LORA)
    report = run_train(workspace, method, p)
    assert report["steps"] == 6 and report["method"] == method
    assert (report["trainable_parameters"] == report["total_parameters"]) == (method == "full")
    assert report["estimate"]["qlora"]["memory_gib"] < report["estimate"]["full"]["memory_gib"]
    assert report["loss_path"] == "assistant_only" and report["end_of_turn"] == "<|im_end|>"
    assert report["trained_tokens_example"].endswith("<|im_end|>")
    assert report["tokens_seen"] > 0 and report["seconds"] >= report["sft_seconds"] > 0
    out = workspace / method
    info = json.loads((out / "trained" / "train_info.json").read_text())
    assert info["loss_path"] == "assistant_only" and len(info["base_revision"]) == 64
    merged = merge.main(MergeParams(), out / "trained", out / "merged", out / "merge.json")
    assert merged["merged"]["max_rel_diff"] <= 1e-4 and merged["reloaded"]["top1_agreement"] == 1.0
    assert ("vs_training" in merged) == (method != "qlora")  # QLoRA trains 4-bit, merges 16/32-bit
    card = (out / "merged" / "README.md").read_text()
    assert f"with **{method}**" in card and "base_model_revision:" in card
    assert not (out / "checkpoints").exists()  # finished runs leave nothing to resume


def curve(plots: Path, name: str) -> list[tuple[int, float]]:
    """(step, value) rows of a dvclive curve."""
    with (plots / "plots" / "metrics" / f"{name}.tsv").open() as f:
        return [(int(r["step"]), float(r[name.split("/")[-1]])) for r in csv.DictReader(f, delimiter="\t")]


def test_dpo_after_sft_moves_the_reward_margin(workspace):
    dpo = DpoParams(
        enabled=True,
        config={
            "beta": 0.1,
            "learning_rate": 5e-3,
            "max_steps": 8,
            "seed": 0,
            "per_device_train_batch_size": 4,
            "max_length": 64,
            "logging_steps": 2,
        },
    )
    report = run_train(workspace, "dpo", TrainParams(sft=SFT, lora=LORA, dpo=dpo))
    assert report["dpo"]["pairs"] == 24 and report["dpo"]["steps"] == 8 and report["dpo"]["seconds"] > 0
    assert report["dpo"]["margins_after"] > report["dpo"]["margins_before"]
    trained = workspace / "dpo" / "trained"
    assert not (trained / "ref").exists()  # TRL's frozen reference adapter is not shipped
    assert json.loads((trained / "adapter_config.json").read_text())["r"] == LORA["r"]
    plots = workspace / "dpo" / "plots"
    assert [step for step, _ in curve(plots, "loss")] == [2, 4, 6]  # SFT, x = optimizer step
    assert [step for step, _ in curve(plots, "dpo/loss")] == [8, 10, 12, 14]  # DPO, counted on
    for name in ("dpo/rewards/margins", "dpo/rewards/accuracies", "dpo/eval/rewards/margins"):
        assert curve(plots, name), name


class Interrupt(Exception):
    pass


def test_an_interrupted_run_resumes_and_ends_where_an_uninterrupted_one_does(workspace):
    from safetensors.torch import load_file
    from transformers import TrainerCallback

    class StopAt4(TrainerCallback):
        def on_save(self, args, state, control, **kwargs):
            if state.global_step == 4:
                raise Interrupt

    p = TrainParams(sft=SFT, lora=LORA)
    with pytest.raises(Interrupt):
        run_train(workspace, "resumed", p, callbacks=[StopAt4()])
    assert (workspace / "resumed" / "checkpoints" / "checkpoint-4").exists()
    resumed = run_train(workspace, "resumed", p)
    assert resumed["resumed_from"].endswith("checkpoint-4") and resumed["steps"] == 6
    straight = run_train(workspace, "straight", p)
    assert straight["resumed_from"] is None
    a = load_file(workspace / "resumed" / "trained" / "adapter_model.safetensors")
    b = load_file(workspace / "straight" / "trained" / "adapter_model.safetensors")
    assert a.keys() == b.keys()
    assert all((a[k] - b[k]).abs().max() < 1e-5 for k in a)
    # The totals cover the whole training, not only the steps after the checkpoint.
    assert resumed["tokens_seen"] == straight["tokens_seen"] > 0
    assert resumed["train_loss"] == pytest.approx(straight["train_loss"], abs=1e-3)
    assert [s for s, _ in curve(workspace / "resumed" / "plots", "loss")] == [2, 4, 6]


def test_checkpoints_of_other_params_are_never_resumed(workspace):
    stale = workspace / "stale" / "checkpoints" / "checkpoint-4"
    stale.mkdir(parents=True)
    report = run_train(workspace, "stale", TrainParams(sft=SFT, lora=LORA))
    assert report["resumed_from"] is None and report["steps"] == 6


def launch(workspace: Path, tmp_path: Path, launcher: str, train_params: dict) -> subprocess.CompletedProcess:
    """The train stage as dvc.yaml runs it: under `accelerate launch --quiet`."""
    params = tmp_path / "params.yaml"
    params.write_text(json.dumps({"train": train_params}))
    paths = {"base": workspace / "base", "data": workspace / "data", "out": tmp_path / "trained"}
    paths |= {"plots": tmp_path / "plots", "metrics": tmp_path / "train.json", "params": params}
    config = ROOT / "configs" / "accelerate" / f"{launcher}.yaml"
    cmd = [
        "accelerate",
        "launch",
        "--quiet",
        "--config_file",
        str(config),
        "-m",
        "{{ cookiecutter.package_name }}.train",
    ]
    cmd += [arg for key, value in paths.items() for arg in (f"--{key}", str(value))]
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src"),
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    return subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)


def test_two_processes_with_gloo_produce_a_valid_adapter(workspace, tmp_path):
    sft = {**SFT, "max_steps": 4, "save_strategy": "no"}
    result = launch(workspace, tmp_path, "cpu_ddp", {"method": "lora", "sft": sft, "lora": LORA})
    assert result.returncode == 0, result.stderr[-3000:]
    assert "gemm_4bit" not in result.stderr  # LoRA never loads bitsandbytes
    assert json.loads((tmp_path / "train.json").read_text())["steps"] == 4
    report = merge.main(MergeParams(), tmp_path / "trained", tmp_path / "merged", tmp_path / "merge.json")
    assert report["max_rel_change_vs_base"] > 0


def test_a_mistake_under_accelerate_is_one_line_without_a_traceback(workspace, tmp_path):
    result = launch(workspace, tmp_path, "single", {"sft": {**SFT, "max_stepz": 4}})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "gemm_4bit" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("train:")]
    assert lines == ["train: train.sft: unknown key 'max_stepz'; it is not a field of the library config"]


@pytest.fixture
def lora_trained(workspace, tmp_path) -> Path:
    """A LoRA adapter of this test's own, to damage."""
    out = tmp_path / "lora"
    train.main(
        TrainParams(sft={**SFT, "save_strategy": "no"}, lora=LORA, dpo=DpoParams(enabled=False)),
        workspace / "base",
        workspace / "data",
        out / "trained",
        out / "plots",
        out / "train.json",
        checkpoints=out / "checkpoints",
    )
    return out / "trained"


def test_merge_fails_loudly_on_a_corrupted_adapter(lora_trained, tmp_path):
    import torch
    from safetensors.torch import load_file, save_file

    weights = load_file(lora_trained / "adapter_model.safetensors")
    first = sorted(weights)[0]
    weights[first] = torch.full_like(weights[first], float("nan"))
    save_file(weights, lora_trained / "adapter_model.safetensors")
    with pytest.raises(merge.MergeError, match="non-finite logits: its weights are corrupt"):
        merge.main(MergeParams(), lora_trained, tmp_path / "merged", tmp_path / "merge.json")
    (lora_trained / "adapter_model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(merge.MergeError, match="cannot load the trained model"):
        merge.main(MergeParams(), lora_trained, tmp_path / "merged", tmp_path / "merge.json")
