"""Train stage: supervised fine-tuning with TRL's SFTTrainer, LoRA by default.

    python -m PACKAGE.train --base models/base --data data/decontaminated --out models/trained \
        --plots plots/train --metrics metrics/train.json

`train.sft` in params.yaml is passed to `trl.SFTConfig` and `train.lora` to `peft.LoraConfig`
unchanged: their field names, their defaults, one source of truth. The loss is on assistant
tokens only, through the base model's own chat template. Curves go to dvclive.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
import time
from pathlib import Path

from . import params as params_mod
from .base import resolve
from .jsonl import read_jsonl, write_json

METHODS = ("lora", "full")
INFO = "train_info.json"


def sft_config(p: params_mod.TrainParams, output_dir: Path, cuda: bool):
    from trl import SFTConfig

    params_mod.check_keys(p.sft, {f.name for f in dataclasses.fields(SFTConfig)}, "train.sft")
    overrides = {"output_dir": str(output_dir), "report_to": "none", "save_strategy": "no"}
    if not cuda:  # bf16 and gradient checkpointing are GPU features; fp32 on CPU
        overrides |= {"use_cpu": True, "bf16": False, "fp16": False}
    return SFTConfig(**{**p.sft, **overrides})


def lora_config(p: params_mod.TrainParams):
    from peft import LoraConfig

    params_mod.check_keys(p.lora, {f.name for f in dataclasses.fields(LoraConfig)}, "train.lora")
    return LoraConfig(**{"task_type": "CAUSAL_LM", **p.lora})


_GENERATION_TAG = re.compile(r"\{%-?\s*generation\s*-?%\}")


def check_template(tokenizer, assistant_only: bool) -> None:
    if assistant_only and not _GENERATION_TAG.search(tokenizer.chat_template or ""):
        raise params_mod.ParamsError(
            "the base model's chat template has no 'generation' block markers, which "
            "train.sft.assistant_only_loss=true needs; add them around the assistant turn "
            "(end-of-turn token inside) or set assistant_only_loss: false"
        )


def main(
    p: params_mod.TrainParams, base_dir: Path, data: Path, out: Path, plots: Path, metrics: Path
) -> dict:
    if p.method not in METHODS:
        raise params_mod.ParamsError(f"train.method is {p.method!r}; expected one of {', '.join(METHODS)}")
    import torch
    from datasets import Dataset
    from dvclive import Live
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.integrations import DVCLiveCallback
    from trl import SFTTrainer

    name, revision = resolve(base_dir)
    config = sft_config(p, Path("checkpoints") / "train", torch.cuda.is_available())
    peft_config = lora_config(p) if p.method == "lora" else None
    tokenizer = AutoTokenizer.from_pretrained(name, revision=revision)
    check_template(tokenizer, config.assistant_only_loss)
    dtype = torch.bfloat16 if config.bf16 else torch.float32
    model = AutoModelForCausalLM.from_pretrained(name, revision=revision, dtype=dtype)

    def dataset(split: str) -> Dataset:
        return Dataset.from_list([{"messages": r["messages"]} for r in read_jsonl(data / f"{split}.jsonl")])

    live = Live(dir=str(plots), dvcyaml=None, save_dvc_exp=False, report=None)
    trainer = SFTTrainer(
        model=model,
        args=config,
        train_dataset=dataset("train"),
        eval_dataset=dataset("val"),
        processing_class=tokenizer,
        peft_config=peft_config,
        callbacks=[DVCLiveCallback(live=live)],
    )
    start = time.time()
    result = trainer.train()
    seconds = time.time() - start
    trainer.save_model(str(out))
    tokenizer.save_pretrained(out)
    live.end()
    history = trainer.state.log_history
    eval_losses = [h["eval_loss"] for h in history if "eval_loss" in h]
    trainable = sum(t.numel() for t in trainer.model.parameters() if t.requires_grad)
    info = {"method": p.method, "dtype": str(dtype).removeprefix("torch."), "base_dir": str(base_dir)}
    (out / INFO).write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
    report = {
        **info,
        "train_rows": len(trainer.train_dataset),
        "steps": trainer.state.global_step,
        "train_loss": round(result.training_loss, 4),
        "eval_loss_first": round(eval_losses[0], 4) if eval_losses else None,
        "eval_loss_last": round(eval_losses[-1], 4) if eval_losses else None,
        "trainable_parameters": trainable,
        "total_parameters": sum(t.numel() for t in trainer.model.parameters()),
        "tokens_seen": int(max((h.get("num_tokens", 0) for h in history), default=0)),
        "tokens_per_second": round(max((h.get("num_tokens", 0) for h in history), default=0) / seconds),
        "seconds": round(seconds, 1),
    }
    write_json(metrics, report)
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Fine-tune the base model with TRL SFTTrainer.")
    parser.add_argument("--base", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True, help="directory with train/val.jsonl")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--plots", type=Path, required=True)
    parser.add_argument("--metrics", type=Path, required=True)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    args = parser.parse_args()
    try:
        r = main(params_mod.load(args.params).train, args.base, args.data, args.out, args.plots, args.metrics)
    except params_mod.ParamsError as e:
        sys.exit(f"train: {e}")
    print(f"train: {r['steps']} steps, train loss {r['train_loss']}, eval loss {r['eval_loss_last']}")
