"""DPO after SFT, on the preference pairs, with the SFT model as the reference and no copy of it.

Called by the train stage (`accelerate launch -m PACKAGE.train ...`) when
data/decontaminated/preferences.jsonl has pairs and `train.dpo.enabled`. The policy continues
from the SFT model. With LoRA/QLoRA the reference is the SFT adapter itself: TRL keeps a frozen
copy of it as a second adapter on the same base, so no second model is loaded. A full fine-tune
has no adapter to switch, so its reference log-probs are computed once before DPO
(`precompute_ref_log_probs`) instead; only under FSDP, where that is not possible, a copy of the
SFT weights is loaded. One pair in ten is held out to measure reward margin and accuracy
before and after.
"""

from __future__ import annotations

import time
from pathlib import Path

from ..model.loss_paths import fold_system
from ..params.library import Forced, config_of
from .configs import reporters
from .curves import best_pass_rate, quiet

REFERENCE_ADAPTER = "ref"  # the name TRL gives the frozen copy of the SFT adapter


def rows(pairs: list[dict], fold: bool) -> list[dict]:
    """prompt/chosen/rejected, with the system prompt folded in where the template refuses one."""
    return [
        {
            "prompt": fold_system(pair["prompt"]) if fold else pair["prompt"],
            "chosen": pair["chosen"],
            "rejected": pair["rejected"],
        }
        for pair in pairs
    ]


def reference_settings(sft_trainer, output_dir: Path):
    """(ref_model, forced settings) for DPO after this SFT run."""
    if hasattr(sft_trainer.accelerator.unwrap_model(sft_trainer.model), "peft_config"):
        return None, {}  # TRL copies the SFT adapter into a frozen reference adapter
    why = "a full fine-tune has no adapter to switch off: reference log-probs are computed once"
    if not sft_trainer.is_fsdp_enabled:
        return None, {"precompute_ref_log_probs": (True, why)}
    from transformers import AutoModelForCausalLM

    sft_trainer.save_model(str(output_dir / "sft"))  # FSDP gathers the shards to save
    return AutoModelForCausalLM.from_pretrained(output_dir / "sft", dtype=sft_trainer.model.dtype), {}


def keep_the_better(sft_trainer, dpo_trainer) -> dict:
    """With train.select, DPO's best checkpoint must answer val at least as well as SFT's best:
    otherwise the SFT weights are loaded back. The pass rates are compared, not the scores: their
    tie-breaks are different losses. Returns what was kept, for the report."""
    sft, dpo = sft_trainer.state, dpo_trainer.state
    sft_rate, dpo_rate = best_pass_rate(sft), best_pass_rate(dpo)
    if sft_rate is None or dpo_rate is None:
        return {}
    if dpo_rate >= sft_rate:  # a tie keeps DPO: it was asked for
        return {"kept": "dpo", "best_step": dpo.best_global_step}
    model = dpo_trainer.accelerator.unwrap_model(dpo_trainer.model)
    checkpoint = Path(sft.best_model_checkpoint)
    if hasattr(model, "peft_config"):
        model.load_adapter(str(checkpoint), adapter_name=model.active_adapters[0])
    else:
        from safetensors.torch import load_file

        model.load_state_dict(load_file(checkpoint / "model.safetensors"), strict=False)
    print(
        f"train: DPO answered val worse than SFT ({dpo_rate:.4f} < {sft_rate:.4f}): "
        f"kept the SFT checkpoint of step {sft.best_global_step}",
        flush=True,
    )
    return {"kept": "sft", "best_step": dpo.best_global_step}


def run(
    section: dict,
    sft_trainer,
    tokenizer,
    pairs: list[dict],
    callbacks: list,
    output_dir: Path,
    forced: Forced,
):
    """Train DPO on the SFT trainer's model; returns (the DPO trainer, a report for the metrics)."""
    from datasets import Dataset
    from trl import DPOConfig, DPOTrainer

    reference, reference_forced = reference_settings(sft_trainer, output_dir)
    forced = {
        "save_strategy": ("no", "DPO is short and restarts from the SFT checkpoint"),
        **forced,  # with train.select: a checkpoint at each evaluation, the best one kept
        **reporters(section),
        **reference_forced,
        "output_dir": (str(output_dir / "dpo"), "paths live in dvc.yaml"),
    }
    split = max(1, len(pairs) // 10)
    trainer = DPOTrainer(
        model=sft_trainer.model,
        ref_model=reference,
        args=config_of(DPOConfig, section, "train.dpo.config", forced=forced),
        train_dataset=Dataset.from_list(pairs[split:]),
        eval_dataset=Dataset.from_list(pairs[:split]),
        processing_class=tokenizer,
        callbacks=callbacks,
    )
    quiet(trainer, "dpo")
    before = trainer.evaluate()
    start = time.time()
    trainer.train()
    seconds = time.time() - start
    trained = trainer.evaluate()  # what DPO learnt, whether or not it is kept
    kept = keep_the_better(sft_trainer, trainer)
    after = trainer.evaluate() if kept.get("kept") == "sft" else trained
    model = trainer.accelerator.unwrap_model(trainer.model)
    if REFERENCE_ADAPTER in getattr(model, "peft_config", {}):  # saved, it would ship as a second adapter
        model.delete_adapter(REFERENCE_ADAPTER)
    report = {"pairs": len(pairs), "steps": trainer.state.global_step, "seconds": round(seconds, 1), **kept}
    for key in ("margins", "accuracies"):  # after: the model kept; trained: DPO's, even when not kept
        report[f"{key}_before"] = round(before.get(f"eval_rewards/{key}", 0.0), 4)
        report[f"{key}_trained"] = round(trained.get(f"eval_rewards/{key}", 0.0), 4)
        report[f"{key}_after"] = round(after.get(f"eval_rewards/{key}", 0.0), 4)
    return trainer, report
