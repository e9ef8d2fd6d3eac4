"""Train stage: SFT with TRL's SFTTrainer (LoRA, QLoRA or full), then DPO on preference pairs.

    accelerate launch --config_file configs/accelerate/single.yaml -m PACKAGE.train \
        --base models/base --data data/decontaminated --out models/trained \
        --plots plots/train --metrics metrics/train.json

`train.sft`, `train.lora`, `train.quantization` and `train.dpo.config` are `trl.SFTConfig`,
`peft.LoraConfig`, `transformers.BitsAndBytesConfig` and `trl.DPOConfig` fields, passed through
unchanged. The loss is on assistant tokens only, through the base model's own chat template.
Checkpoints go to checkpoints/train every `train.sft.save_steps`; a re-run with the same params,
data and base resumes from the last one. Curves go to dvclive. Under `accelerate launch` with
several processes, only the main process writes files.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import inspect
import json
import re
import resource
import shutil
import sys
import time
from pathlib import Path

from . import params as params_mod
from .data.jsonl import read_jsonl, write_json
from .estimate import estimate
from .lineage import read_base, resolve, write_train_info

METHODS = ("lora", "qlora", "full")
CHECKPOINTS = Path("checkpoints") / "train"
_GENERATION_TAG = re.compile(r"\{%-?\s*generation\s*-?%\}")


def config_fields(cls) -> set[str]:
    """The keyword arguments a library config class takes: its __init__'s, which for a dataclass
    are its fields (BitsAndBytesConfig is a dataclass whose fields do not list them)."""
    return set(inspect.signature(cls.__init__).parameters) - {"self", "args", "kwargs"}


def config_of(cls, section: dict, where: str, **overrides):
    """A library config from a params section, refusing keys the library does not have."""
    params_mod.check_keys(section, config_fields(cls), where)
    return cls(**{**section, **overrides})


def check_template(tokenizer, assistant_only: bool) -> None:
    if assistant_only and not _GENERATION_TAG.search(tokenizer.chat_template or ""):
        raise params_mod.ParamsError(
            "the base model's chat template has no 'generation' block markers, which "
            "train.sft.assistant_only_loss=true needs; add them around the assistant turn "
            "(end-of-turn token inside) or set assistant_only_loss: false"
        )


def fingerprint(p: params_mod.TrainParams, files: list[Path], base_revision: str) -> str:
    """What a checkpoint was made from: resuming from any other run would be silently wrong."""
    digest = hashlib.sha256(
        json.dumps(dataclasses.asdict(p), sort_keys=True).encode() + base_revision.encode()
    )
    for file in files:
        if file.exists():
            digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()


def prepare_checkpoints(output_dir: Path, mark: str) -> None:
    """Keep checkpoints only if they come from the same training; resuming another would be wrong."""
    stamp = output_dir / "fingerprint.txt"
    if output_dir.exists() and (not stamp.exists() or stamp.read_text() != mark):
        shutil.rmtree(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    stamp.write_text(mark)


def load_policy(p: params_mod.TrainParams, name: str, revision: str | None, dtype):
    import torch
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig

    kwargs = {"dtype": dtype}
    if p.method == "qlora":
        defaults = {"load_in_4bit": True, "bnb_4bit_quant_type": "nf4", "bnb_4bit_use_double_quant": True}
        section = {**defaults, **p.quantization}
        compute = section.pop("bnb_4bit_compute_dtype", str(dtype).removeprefix("torch."))
        kwargs["quantization_config"] = config_of(
            BitsAndBytesConfig, section, "train.quantization", bnb_4bit_compute_dtype=getattr(torch, compute)
        )
    return AutoModelForCausalLM.from_pretrained(name, revision=revision, **kwargs)


def run_dpo(p, trainer, tokenizer, name, revision, dtype, pairs, callbacks, output_dir: Path):
    """DPO on the SFT model: the policy continues from it, the frozen reference is a copy of it."""
    from datasets import Dataset
    from peft import PeftModel
    from transformers import AutoModelForCausalLM
    from trl import DPOConfig, DPOTrainer

    sft_dir = output_dir / "sft"
    trainer.save_model(str(sft_dir))
    reference = AutoModelForCausalLM.from_pretrained(name, revision=revision, dtype=dtype)
    if p.method != "full":
        reference = PeftModel.from_pretrained(reference, str(sft_dir)).merge_and_unload()
    else:
        reference = AutoModelForCausalLM.from_pretrained(str(sft_dir), dtype=dtype)
    split = max(1, len(pairs) // 10)
    overrides = {"output_dir": str(output_dir / "dpo"), "report_to": "none", "save_strategy": "no"}
    if trainer.args.use_cpu:
        overrides |= {"use_cpu": True, "bf16": False, "fp16": False}
    dpo = DPOTrainer(
        model=trainer.model,
        ref_model=reference,
        args=config_of(DPOConfig, p.dpo.config, "train.dpo.config", **overrides),
        train_dataset=Dataset.from_list(pairs[split:]),
        eval_dataset=Dataset.from_list(pairs[:split]),
        processing_class=tokenizer,
        callbacks=callbacks,
    )
    before = dpo.evaluate()
    dpo.train()
    after = dpo.evaluate()
    keys = ("eval_rewards/margins", "eval_rewards/accuracies")
    return dpo, {
        "pairs": len(pairs),
        **{f"{k.removeprefix('eval_rewards/')}_before": round(before.get(k, 0.0), 4) for k in keys},
        **{f"{k.removeprefix('eval_rewards/')}_after": round(after.get(k, 0.0), 4) for k in keys},
    }


def main(
    p: params_mod.TrainParams,
    base_dir: Path,
    data: Path,
    out: Path,
    plots: Path,
    metrics: Path,
    callbacks: list | None = None,
    checkpoints: Path = CHECKPOINTS,
) -> dict:
    if p.method not in METHODS:
        raise params_mod.ParamsError(f"train.method is {p.method!r}; expected one of {', '.join(METHODS)}")
    import torch
    from accelerate import PartialState
    from datasets import Dataset
    from dvclive import Live
    from peft import LoraConfig
    from transformers import AutoTokenizer
    from transformers.integrations import DVCLiveCallback
    from transformers.trainer_utils import get_last_checkpoint
    from trl import SFTConfig, SFTTrainer

    name, revision = resolve(base_dir)
    cuda = torch.cuda.is_available()
    overrides = {"output_dir": str(checkpoints), "report_to": "none"}
    if not cuda:  # bf16 and gradient checkpointing are GPU features; fp32 on CPU
        overrides |= {"use_cpu": True, "bf16": False, "fp16": False}
    config = config_of(SFTConfig, p.sft, "train.sft", **overrides)  # also sets up the processes
    state = PartialState()
    if state.is_main_process:
        base_revision = read_base(base_dir)["revision"]
        files = [data / "train.jsonl", data / "val.jsonl", data / "preferences.jsonl"]
        prepare_checkpoints(checkpoints, fingerprint(p, files, base_revision))
    state.wait_for_everyone()
    resume = get_last_checkpoint(str(checkpoints))
    peft_config = (
        config_of(LoraConfig, {"task_type": "CAUSAL_LM", **p.lora}, "train.lora")
        if p.method != "full"
        else None
    )
    tokenizer = AutoTokenizer.from_pretrained(name, revision=revision)
    check_template(tokenizer, config.assistant_only_loss)
    dtype = torch.bfloat16 if config.bf16 else torch.float32
    model = load_policy(p, name, revision, dtype)

    def dataset(split: str) -> Dataset:
        return Dataset.from_list([{"messages": r["messages"]} for r in read_jsonl(data / f"{split}.jsonl")])

    extra = list(callbacks or [])
    if state.is_main_process:
        extra.append(
            DVCLiveCallback(live=Live(dir=str(plots), dvcyaml=None, save_dvc_exp=False, report=None))
        )
    train_rows = dataset("train")
    trainer = SFTTrainer(
        model=model,
        args=config,
        train_dataset=train_rows,
        eval_dataset=dataset("val"),
        processing_class=tokenizer,
        peft_config=peft_config,
        callbacks=extra,
    )
    total = sum(t.numel() for t in trainer.model.parameters())
    trainable = sum(t.numel() for t in trainer.model.parameters() if t.requires_grad)
    tokens_per_epoch = sum(len(ids) for ids in trainer.train_dataset["input_ids"])
    plan = estimate(total, trainable, p.method, tokens_per_epoch, config.num_train_epochs)
    adapter = trainable if p.method != "full" else total // 100  # an adapter's usual share, for comparison
    print(
        f"train: {p.method}, {trainable:,} of {total:,} parameters trainable, "
        f"{tokens_per_epoch:,} tokens/epoch, ~{plan['memory_gib']:.2f} GiB estimated",
        flush=True,
    )
    start = time.time()
    result = trainer.train(resume_from_checkpoint=resume)
    history = list(trainer.state.log_history)
    pairs = list(read_jsonl(data / "preferences.jsonl")) if (data / "preferences.jsonl").exists() else []
    dpo, final = {}, trainer
    if p.dpo.enabled and len(pairs) >= 2:  # one pair for evaluation, the rest to train on
        final, dpo = run_dpo(
            p, trainer, tokenizer, name, revision, dtype, pairs, list(callbacks or []), checkpoints
        )
    seconds = time.time() - start
    final.save_model(str(out))  # on every rank: FSDP and ZeRO-3 gather the sharded weights to save
    if not trainer.is_world_process_zero():
        return {}
    tokenizer.save_pretrained(out)
    info = {"method": p.method, "dtype": str(dtype).removeprefix("torch."), "base_dir": str(base_dir)}
    eval_losses = [h["eval_loss"] for h in history if "eval_loss" in h]
    summary = {
        "train_loss": round(result.training_loss, 4),
        "eval_loss": eval_losses[-1] if eval_losses else None,
    }
    card = {**info, "params": dataclasses.asdict(p), "results": {**summary, "dpo": dpo}}
    write_train_info(out, card)  # merge finds the base and writes the model card from it
    tokens_seen = int(max((h.get("num_tokens", 0) for h in history), default=0))
    peak = (
        torch.cuda.max_memory_allocated()
        if cuda
        else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    )
    report = {
        **info,
        "train_rows": len(trainer.train_dataset),
        "rows_dropped_by_trainer": len(train_rows) - len(trainer.train_dataset),
        "steps": trainer.state.global_step,
        "resumed_from": resume,
        "train_loss": round(result.training_loss, 4),
        "eval_loss_first": round(eval_losses[0], 4) if eval_losses else None,
        "eval_loss_last": round(eval_losses[-1], 4) if eval_losses else None,
        "trainable_parameters": trainable,
        "total_parameters": total,
        "tokens_per_epoch": tokens_per_epoch,
        "tokens_seen": tokens_seen,
        "tokens_per_second": round(tokens_seen / seconds),
        "peak_memory_mib": round(peak / 2**20),
        "estimate": {
            m: estimate(
                total, total if m == "full" else adapter, m, tokens_per_epoch, config.num_train_epochs
            )
            for m in METHODS
        },
        "dpo": dpo,
        "seconds": round(seconds, 1),
    }
    write_json(metrics, report)
    shutil.rmtree(checkpoints, ignore_errors=True)  # finished: nothing left to resume
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Fine-tune the base model with TRL (SFT, then DPO).")
    parser.add_argument("--base", type=Path, required=True)
    parser.add_argument(
        "--data", type=Path, required=True, help="directory with train/val(/preferences).jsonl"
    )
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--plots", type=Path, required=True)
    parser.add_argument("--metrics", type=Path, required=True)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    args = parser.parse_args()
    try:
        r = main(params_mod.load(args.params).train, args.base, args.data, args.out, args.plots, args.metrics)
    except params_mod.ParamsError as e:
        sys.exit(f"train: {e}")
    if r:
        print(f"train: {r['steps']} steps, train loss {r['train_loss']}, eval loss {r['eval_loss_last']}")
        if r["dpo"]:
            print(f"train: DPO reward margin {r['dpo']['margins_before']} -> {r['dpo']['margins_after']}")
