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
    MixParams,
    SelectParams,
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
LAST = SelectParams(max_items=0)  # keep the last step: these tests train without evaluations


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
    p = TrainParams(select=LAST, method=method, sft=SFT, lora=LORA)
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
    report = run_train(workspace, "dpo", TrainParams(select=LAST, sft=SFT, lora=LORA, dpo=dpo))
    assert report["dpo"]["pairs"] == 24 and report["dpo"]["steps"] == 8 and report["dpo"]["seconds"] > 0
    assert (
        report["dpo"]["margins_after"] == report["dpo"]["margins_trained"] > report["dpo"]["margins_before"]
    )
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


@pytest.mark.parametrize("limit", [None, 1])
def test_an_interrupted_run_resumes_and_ends_where_an_uninterrupted_one_does(workspace, limit):
    from safetensors.torch import load_file
    from transformers import TrainerCallback

    class StopAt4(TrainerCallback):
        def on_save(self, args, state, control, **kwargs):
            if state.global_step == 4:
                raise Interrupt

    # save_total_limit 1 deletes the checkpoint a run resumed from while it trains on
    p = TrainParams(select=LAST, sft={**SFT, "save_total_limit": limit}, lora=LORA)
    with pytest.raises(Interrupt):
        run_train(workspace, f"resumed-{limit}", p, callbacks=[StopAt4()])
    assert (workspace / f"resumed-{limit}" / "checkpoints" / "checkpoint-4").exists()
    resumed = run_train(workspace, f"resumed-{limit}", p)
    assert resumed["resumed_from"].endswith("checkpoint-4") and resumed["steps"] == 6
    straight = run_train(workspace, f"straight-{limit}", p)
    assert straight["resumed_from"] is None
    a = load_file(workspace / f"resumed-{limit}" / "trained" / "adapter_model.safetensors")
    b = load_file(workspace / f"straight-{limit}" / "trained" / "adapter_model.safetensors")
    assert a.keys() == b.keys()
    assert all((a[k] - b[k]).abs().max() < 1e-5 for k in a)
    # The totals cover the whole training, not only the steps after the checkpoint.
    assert resumed["tokens_seen"] == straight["tokens_seen"] > 0
    assert resumed["train_loss"] == pytest.approx(straight["train_loss"], abs=1e-3)
    assert [s for s, _ in curve(workspace / f"resumed-{limit}" / "plots", "loss")] == [2, 4, 6]


def test_checkpoints_of_other_params_are_never_resumed(workspace):
    stale = workspace / "stale" / "checkpoints" / "checkpoint-4"
    stale.mkdir(parents=True)
    report = run_train(workspace, "stale", TrainParams(select=LAST, sft=SFT, lora=LORA))
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
    result = launch(
        workspace,
        tmp_path,
        "cpu_ddp",
        {"method": "lora", "sft": sft, "lora": LORA, "select": {"max_items": 0}},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "gemm_4bit" not in result.stderr  # LoRA never loads bitsandbytes
    assert json.loads((tmp_path / "train.json").read_text())["steps"] == 4
    report = merge.main(MergeParams(), tmp_path / "trained", tmp_path / "merged", tmp_path / "merge.json")
    assert report["max_rel_change_vs_base"] > 0


def test_a_mistake_under_accelerate_is_one_line_without_a_traceback(workspace, tmp_path):
    result = launch(
        workspace, tmp_path, "single", {"sft": {**SFT, "max_stepz": 4}, "select": {"max_items": 0}}
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "gemm_4bit" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("train:")]
    assert lines == ["train: train.sft: unknown key 'max_stepz'; it is not a field of the library config"]


class Scripted:
    """Selection.score replaced by a script of pass rates, one per evaluation; it also notes a
    checksum of the trainable weights at each evaluation, to find the weights that were kept."""

    def __init__(self, rates: list[float]):
        self.rates, self.seen = list(rates), []

    def __call__(self, scorer, model) -> dict:
        rate = self.rates.pop(0)
        weights = sum(float(t.detach().double().abs().sum()) for t in model.parameters() if t.requires_grad)
        self.seen.append((scorer.phase, rate, weights))
        return {"n": 4, "passed": round(rate * 4), "pass_rate": rate, "by_bucket": {"b": {"pass_rate": rate}}}


def adapter_checksum(trained: Path) -> float:
    from safetensors.torch import load_file

    return sum(
        float(t.double().abs().sum()) for t in load_file(trained / "adapter_model.safetensors").values()
    )


SELECTING = {**SFT, "max_steps": 20, "eval_strategy": "steps", "eval_steps": 2, "save_steps": 2}


def test_the_best_scored_checkpoint_is_kept_and_training_stops_early(workspace, monkeypatch):
    from {{ cookiecutter.package_name }}.training import selection

    script = Scripted([0.25, 0.75, 0.5, 0.5, 0.5, 0.25])  # later evaluations are worse
    monkeypatch.setattr(selection.Selection, "score", lambda scorer, model: script(scorer, model))
    p = TrainParams(
        sft={**SELECTING, "save_total_limit": 1},  # the best survives the rotation all the same
        lora=LORA,
        dpo=DpoParams(enabled=False),
        select=SelectParams(max_items=4, patience=3),
    )
    report = run_train(workspace, "selected", p)
    chosen = report["selection"]
    assert [e["step"] for e in chosen["evaluations"]] == [2, 4, 6, 8, 10]  # 3 without a gain: stop
    assert report["steps"] == 10 and chosen["sft_stopped_early"] and chosen["sft_max_steps"] == 20
    assert chosen["kept"] == {
        "phase": "sft",
        "step": 4,
        "pass_rate": 0.75,
        "eval_loss": chosen["kept"]["eval_loss"],
    }
    kept_weights = script.seen[1][2]
    assert adapter_checksum(workspace / "selected" / "trained") == pytest.approx(kept_weights, rel=1e-6)
    assert [s for s, _ in curve(workspace / "selected" / "plots", "eval/pass_rate")] == [2, 4, 6, 8, 10]


def test_dpo_is_kept_only_when_it_scores_at_least_as_well_as_sft(workspace, monkeypatch):
    from {{ cookiecutter.package_name }}.training import selection

    script = Scripted([0.5, 0.75, 0.5, 0.25, 0.25])  # SFT at steps 2, 4, 6; DPO at its steps 2, 4
    monkeypatch.setattr(selection.Selection, "score", lambda scorer, model: script(scorer, model))
    dpo = DpoParams(
        config={
            "learning_rate": 5e-3, "max_steps": 4, "per_device_train_batch_size": 4, "max_length": 64,
            "eval_strategy": "steps", "eval_steps": 2, "seed": 0,
        }
    )  # fmt: skip
    p = TrainParams(
        sft={**SELECTING, "max_steps": 6}, lora=LORA, dpo=dpo, select=SelectParams(max_items=4, patience=0)
    )
    report = run_train(workspace, "dpo-worse", p)
    assert [e["phase"] for e in report["selection"]["evaluations"]] == ["sft"] * 3 + ["dpo"] * 2
    assert report["dpo"]["kept"] == "sft" and report["selection"]["kept"]["step"] == 4
    assert adapter_checksum(workspace / "dpo-worse" / "trained") == pytest.approx(script.seen[1][2], rel=1e-6)


def test_replayed_and_mixed_rows_reach_training(workspace, tmp_path):
    replay = tmp_path / "replay.jsonl"
    replay.write_text("".join(json.dumps(chat(f"Count {i}", str(i + 1))) + "\n" for i in range(40)))
    alpaca = tmp_path / "mine.json"
    alpaca.write_text(json.dumps([{"instruction": f"Echo {i}", "output": f"{i}"} for i in range(8)]))
    p = TrainParams(
        select=LAST,
        sft=SFT,
        lora=LORA,
        dpo=DpoParams(enabled=False),
        mix=MixParams(replay=0.5, sources={str(alpaca): 0.5}),
    )
    report = run_train(workspace, "mixed", p, replay=replay)
    assert report["mix"]["task"] == 32
    assert report["mix"]["sources"] == {
        str(replay): {"weight": 0.5, "available": 40, "drawn": 16},
        str(alpaca): {"weight": 0.5, "available": 8, "drawn": 8},  # capped at what it holds
    }
    assert report["train_rows"] == 32 + 16 + 8


def test_the_row_weighted_loss_is_the_mean_of_each_rows_answer_loss(workspace):
    """Through TRL's own trainer, collator and fused head: the loss train minimises is the mean
    over rows of each row's mean answer-token loss, computed here from the model's logits."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from {{ cookiecutter.package_name }}.model import loss_paths
    from {{ cookiecutter.package_name }}.training.configs import runtime

    tokenizer = AutoTokenizer.from_pretrained(workspace / "base")
    path = loss_paths.choose(tokenizer, assistant_only=True)
    p = TrainParams(select=LAST, sft=SFT, lora=LORA, loss_per="row")
    config = train.sft_config(p, workspace / "weighting", runtime(cuda=False), path)
    rows = [chat("Say one", "one"), chat("Say many", "alpha bravo charlie delta echo foxtrot")]
    model = AutoModelForCausalLM.from_pretrained(workspace / "base")
    trainer, _ = train.build_trainer(
        config, model, tokenizer, path, workspace / "data", rows, rows, None, [], p.loss_per
    )
    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(2)])
    trainer.model.train()
    loss = trainer.compute_loss(trainer.model, dict(batch))
    with torch.no_grad():
        logits = trainer.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    labels = batch["labels"][:, 1:]
    nll = torch.nn.functional.cross_entropy(logits[:, :-1].transpose(1, 2), labels, reduction="none")
    answered = labels != -100
    lengths = answered.sum(1)
    assert lengths.tolist()[0] < lengths.tolist()[1]  # unequal answers: row and token means differ
    per_row = (nll * answered).sum(1) / lengths
    assert loss.item() == pytest.approx(per_row.mean().item(), rel=1e-4)
    assert loss.item() != pytest.approx((nll * answered).sum().item() / lengths.sum().item(), rel=1e-3)


@pytest.fixture
def lora_trained(workspace, tmp_path) -> Path:
    """A LoRA adapter of this test's own, to damage."""
    out = tmp_path / "lora"
    train.main(
        TrainParams(select=LAST, sft={**SFT, "save_strategy": "no"}, lora=LORA, dpo=DpoParams(enabled=False)),
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
