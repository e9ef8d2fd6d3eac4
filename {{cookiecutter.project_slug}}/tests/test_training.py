"""Every training method for a few steps on a tiny model: LoRA, QLoRA, full, DPO after SFT,
resume after an interruption, a 2-process run, and a merge that refuses a corrupt adapter."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }} import merge, train
from {{ cookiecutter.package_name }}.params import (
    DpoParams,
    MergeParams,
    ParamsError,
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
    out = workspace / method
    merged = merge.main(MergeParams(), out / "trained", out / "merged", out / "merge.json")
    assert merged["max_abs_logit_diff"] <= 1e-4
    card = (out / "merged" / "README.md").read_text()
    assert f"with **{method}**" in card and "base_model_revision:" in card
    assert not (out / "checkpoints").exists()  # finished runs leave nothing to resume


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
        },
    )
    report = run_train(workspace, "dpo", TrainParams(sft=SFT, lora=LORA, dpo=dpo))
    assert report["dpo"]["pairs"] == 24
    assert report["dpo"]["margins_after"] > report["dpo"]["margins_before"]


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


def test_checkpoints_of_other_params_are_never_resumed(workspace):
    stale = workspace / "stale" / "checkpoints" / "checkpoint-4"
    stale.mkdir(parents=True)
    report = run_train(workspace, "stale", TrainParams(sft=SFT, lora=LORA))
    assert report["resumed_from"] is None and report["steps"] == 6


def test_two_processes_with_gloo_produce_a_valid_adapter(workspace, tmp_path):
    params = tmp_path / "params.yaml"
    sft = {**SFT, "max_steps": 4, "save_strategy": "no"}
    params.write_text(json.dumps({"train": {"method": "lora", "sft": sft, "lora": LORA}}))
    module = "{{ cookiecutter.package_name }}.train"
    cmd = [
        "accelerate",
        "launch",
        "--config_file",
        str(ROOT / "configs/accelerate/cpu_ddp.yaml"),
        "-m",
        module,
        "--base",
        str(workspace / "base"),
        "--data",
        str(workspace / "data"),
        "--out",
        str(tmp_path / "trained"),
        "--plots",
        str(tmp_path / "plots"),
        "--metrics",
        str(tmp_path / "train.json"),
        "--params",
        str(params),
    ]
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src"),
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    result = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads((tmp_path / "train.json").read_text())["steps"] == 4
    report = merge.main(MergeParams(), tmp_path / "trained", tmp_path / "merged", tmp_path / "merge.json")
    assert report["max_abs_logit_change_vs_base"] > 0


def test_merge_fails_loudly_on_a_corrupted_adapter(workspace, tmp_path):
    import torch
    from safetensors.torch import load_file, save_file

    trained = tmp_path / "trained"
    shutil.copytree(workspace / "lora" / "trained", trained)
    weights = load_file(trained / "adapter_model.safetensors")
    first = sorted(weights)[0]
    weights[first] = torch.full_like(weights[first], float("nan"))
    save_file(weights, trained / "adapter_model.safetensors")
    with pytest.raises(merge.MergeError, match="non-finite logits: its weights are corrupt"):
        merge.main(MergeParams(), trained, tmp_path / "merged", tmp_path / "merge.json")
    (trained / "adapter_model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(merge.MergeError, match="cannot load the trained model"):
        merge.main(MergeParams(), trained, tmp_path / "merged", tmp_path / "merge.json")


def test_a_chat_template_without_generation_markers_is_refused_before_training():
    class Tokenizer:
        chat_template = "<|im_start|>a template with no assistant markers<|im_end|>"

    with pytest.raises(ParamsError, match="no 'generation' block markers"):
        train.check_template(Tokenizer(), assistant_only=True)
    train.check_template(Tokenizer(), assistant_only=False)
