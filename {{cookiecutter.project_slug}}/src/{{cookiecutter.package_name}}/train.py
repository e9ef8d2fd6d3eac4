"""Train stage: SFT with TRL's SFTTrainer (LoRA, QLoRA or full), then DPO on preference pairs.

    accelerate launch --quiet --config_file configs/accelerate/single.yaml -m PACKAGE.train \
        --base models/base --data data/decontaminated --replay data/replay/replay.jsonl \
        --out models/trained --plots plots/train --metrics metrics/train.json

`train.sft`, `train.lora`, `train.quantization` and `train.dpo.config` are `trl.SFTConfig`,
`peft.LoraConfig`, `transformers.BitsAndBytesConfig` and `trl.DPOConfig` fields, passed through;
where the stage has to decide a value itself (CPU or GPU, where checkpoints go), it says so when
that replaces the user's. The loss is on the answers only, through the base model's own chat
template, whatever it is (see model/loss_paths.py); which way ran is in the metrics. The rows are
train.jsonl plus general rows against forgetting (`train.mix`: the replay stage's answers and any
other source, training/mixing.py). At every evaluation a subset of val is answered and judged as
evaluate judges it, and the best-scored checkpoint is what the stage saves; training stops early
when it stops improving (`train.select`, training/selection.py). Checkpoints go to
checkpoints/train; a re-run with the same params, data and base resumes from the last one. Curves
(the val pass rate among them) go to plots/train (dvclive) and to any `report_to` tracker. Under
`accelerate launch` with several processes, only the main process writes files.
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import shutil
import time
from pathlib import Path

from . import chatter
from .data.jsonl import read_jsonl, write_json
from .errors import UserError, reported
from .evals.checks import CheckError, check_refusal_patterns
from .lineage import read_base, resolve, write_train_info
from .model import loss_paths, probe
from .params import train as params_mod
from .params.library import config_of
from .threads import set_threads
from .training import mixing, weighting
from .training.budget import estimate
from .training.configs import reporters, runtime, within_context
from .training.resume import checkpoint_state, fingerprint, mean_train_loss, prepare_checkpoints

METHODS = ("lora", "qlora", "full")
CHECKPOINTS = Path("checkpoints") / "train"
DEFAULTS = {"include_num_input_tokens_seen": "non_padding"}  # tokens seen that survive a resume


def load_policy(p: params_mod.TrainParams, name: str, revision: str | None, dtype):
    from transformers import AutoModelForCausalLM

    kwargs = {"dtype": dtype}
    if p.method == "qlora":
        from .model.quantization import bnb_config

        kwargs["quantization_config"] = bnb_config(p.quantization, dtype)
    return AutoModelForCausalLM.from_pretrained(name, revision=revision, **kwargs)


def selecting(section: dict, select: params_mod.SelectParams, where: str) -> dict:
    """The settings that keep the best-scored checkpoint, or none when `train.select` is off."""
    from .training import selection  # imports transformers: after keep_out() (see the __main__ block)

    if not select.max_items:
        return {}
    strategy = section.get("eval_strategy", "no")
    if strategy == "no":
        raise UserError(
            f"train.select scores the val split at each evaluation, but {where}.eval_strategy is 'no'; "
            "set it to 'steps' or 'epoch', or set train.select.max_items: 0"
        )
    steps = section.get("eval_steps") or section.get("logging_steps", 500)  # the trainer's own fallback
    return selection.settings(strategy, steps)


def sft_config(p: params_mod.TrainParams, checkpoints: Path, hardware: dict, path: loss_paths.LossPath):
    """SFTConfig from `train.sft`, with what the stage decides on top; also sets up the processes."""
    from trl import SFTConfig

    why = f"the loss path for this chat template is {path.name}; see metrics/train.json"
    forced = {
        **hardware,
        **reporters(p.sft),
        **selecting(p.sft, p.select, "train.sft"),
        "output_dir": (str(checkpoints), "paths live in dvc.yaml"),
        "assistant_only_loss": (path.assistant_only_loss, why),
        "completion_only_loss": (path.completion_only_loss, why),
    }
    return config_of(SFTConfig, p.sft, "train.sft", defaults=DEFAULTS, forced=forced)


def conversations(rows: list[dict], path: loss_paths.LossPath, where: str) -> list[dict]:
    converted = []
    for number, row in enumerate(rows, start=1):
        try:
            converted.append(path.to_row(row["messages"]))
        except UserError as e:
            mixed = (row.get("meta") or {}).get("mixed_from")
            raise UserError(
                f"{mixed} (a row train.mix drew): {e}" if mixed else f"{where}:{number}: {e}"
            ) from None
    return converted


def training_rows(p: params_mod.TrainParams, data: Path, replay: Path | None) -> tuple[list[dict], dict]:
    """train.jsonl plus the general rows of `train.mix` (the replay set and any other sources)."""
    sources = {str(replay): p.mix.replay} if replay is not None and p.mix.replay > 0 else {}
    return mixing.mix(list(read_jsonl(data / "train.jsonl")), {**sources, **p.mix.sources}, p.mix.seed)


def build_trainer(
    config,
    model,
    tokenizer,
    path,
    data: Path,
    train_rows: list[dict],
    val_rows: list[dict],
    peft_config,
    callbacks,
    loss_per: str = "token",
):
    """SFTTrainer on the training rows and validation rows, labels narrowed to the answers, each
    answer token (`token`) or each row (`row`) weighing the same (training/weighting.py)."""
    from datasets import Dataset
    from trl import SFTTrainer

    rows = conversations(train_rows, path, str(data / "train.jsonl"))
    trainer = weighting.weighted(SFTTrainer, loss_per)(
        model=model,
        args=config,
        train_dataset=Dataset.from_list(rows),
        eval_dataset=Dataset.from_list(conversations(val_rows, path, str(data / "val.jsonl"))),
        processing_class=tokenizer,
        peft_config=peft_config,
        callbacks=callbacks,
    )
    trainer.train_dataset = loss_paths.clip_labels(trainer.train_dataset, tokenizer, path)
    trainer.eval_dataset = loss_paths.clip_labels(trainer.eval_dataset, tokenizer, path)
    return trainer, len(rows) - len(trainer.train_dataset)  # TRL drops rows with nothing to learn


def train_report(p, trainer, result, tokenizer, path, run: dict, dpo: dict) -> dict:
    """metrics/train.json: what was trained, on what, how far the loss fell, at what cost. `run`:
    the checkpoint resumed from and its state, rows TRL dropped, seconds of SFT and of the stage."""
    import torch

    history = trainer.state.log_history
    total = sum(t.numel() for t in trainer.model.parameters())
    trainable = sum(t.numel() for t in trainer.model.parameters() if t.requires_grad)
    tokens_per_epoch = sum(len(ids) for ids in trainer.train_dataset["input_ids"])
    epochs = trainer.args.num_train_epochs
    adapter = trainable if p.method != "full" else total // 100  # an adapter's usual share, for comparison
    eval_losses = [h["eval_loss"] for h in history if "eval_loss" in h]
    tokens = trainer.state.num_input_tokens_seen
    cuda = torch.cuda.is_available()
    peak = (
        torch.cuda.max_memory_allocated()
        if cuda
        else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    )
    at_resume, seconds = run["at_resume"], run["seconds"]
    loss = mean_train_loss(history, result.training_loss, at_resume["global_step"], trainer.state.global_step)
    return {
        "method": p.method,
        "dtype": "bfloat16" if trainer.args.bf16 else "float32",  # as load_policy loaded the base
        "loss_path": path.name,
        "loss_path_trl_template": path.trl_template,
        "end_of_turn": tokenizer.decode(list(path.end_of_turn)),
        "trained_tokens_example": loss_paths.trained_text(tokenizer, trainer.train_dataset[0]),
        "train_rows": len(trainer.train_dataset),
        "rows_dropped_by_trainer": run["rows_dropped"],
        "steps": trainer.state.global_step,
        "resumed_from": run["resumed_from"],
        "train_loss": round(loss, 4),
        "eval_loss_first": round(eval_losses[0], 4) if eval_losses else None,
        "eval_loss_last": round(eval_losses[-1], 4) if eval_losses else None,
        "trainable_parameters": trainable,
        "total_parameters": total,
        "tokens_per_epoch": tokens_per_epoch,
        "tokens_seen": tokens,
        "tokens_per_second": round((tokens - at_resume["num_input_tokens_seen"]) / max(seconds["sft"], 1e-9)),
        "peak_memory_mib": round(peak / 2**20),
        "estimate": {
            m: estimate(total, total if m == "full" else adapter, m, tokens_per_epoch, epochs)
            for m in METHODS
        },
        "dpo": dpo,
        "sft_seconds": round(seconds["sft"], 1),
        "seconds": round(seconds["stage"], 1),
    }


def save_probe(trainer, tokenizer, out: Path, method: str) -> None:
    """What the trained model predicts on the probe batch, for merge to reproduce. Not for QLoRA,
    whose 4-bit predictions differ from its merge into the 16-bit base by design, nor for sharded
    (FSDP, ZeRO-3) models, which merge then checks against the adapter alone."""
    if method == "qlora" or trainer.is_fsdp_enabled or trainer.is_deepspeed_enabled:
        return
    model = trainer.accelerator.unwrap_model(trainer.model).eval()
    probe.save(out, probe.logits(model, probe.batch(len(tokenizer))))


def resumable_checkpoint(p, base_dir: Path, data: Path, checkpoints: Path, extra: list[Path]) -> str | None:
    """The last checkpoint of this same training, if an earlier run left one."""
    from accelerate import PartialState
    from transformers.trainer_utils import get_last_checkpoint

    state = PartialState()
    if state.is_main_process:
        files = [data / "train.jsonl", data / "val.jsonl", data / "preferences.jsonl", *extra]
        prepare_checkpoints(
            checkpoints, fingerprint(dataclasses.asdict(p), files, read_base(base_dir)["revision"])
        )
    state.wait_for_everyone()
    return get_last_checkpoint(str(checkpoints))


def dpo_after_sft(
    p, sft, tokenizer, path, data: Path, callbacks: list, live, forced: dict, checkpoints: Path, judge
):
    """DPO when enabled and preferences.jsonl has pairs: (the trainer that ends training, a report).
    `judge(phase, on_score)` gives the Selection callback of a phase, or None when it is off."""
    from .training import dpo, selection  # selection imports transformers: after keep_out()
    from .training.curves import Curves

    file = data / "preferences.jsonl"
    pairs = dpo.rows(list(read_jsonl(file)), path.fold_system) if file.exists() else []
    if not (p.dpo.enabled and len(pairs) >= 2):  # one pair for evaluation, the rest to train on
        return sft, {}, None
    curves = Curves(live, "dpo/", sft.state.global_step) if live else None  # steps counted on from SFT's
    scorer = judge("dpo", curves.log if curves else None)
    forced = {**forced, **selecting(p.dpo.config, p.select, "train.dpo.config")}
    extra = ([scorer, *selection.early_stopping(p.select.patience)] if scorer else []) + (
        [curves] if curves else []
    )
    trainer, report = dpo.run(p.dpo.config, sft, tokenizer, pairs, callbacks + extra, checkpoints, forced)
    return trainer, report, scorer


def selection_report(select: params_mod.SelectParams, sft, scorers: list, dpo: dict) -> dict:
    """Which evaluation's checkpoint was kept, and why, for metrics/train.json."""
    from .training import selection  # imports transformers: after keep_out() (see the __main__ block)

    if not scorers:
        return {"enabled": False, "kept": "the last step (train.select.max_items is 0)"}
    history = [h for scorer in scorers if scorer is not None for h in scorer.history]
    phase = "dpo" if dpo.get("kept") == "dpo" else "sft"
    step = dpo.get("best_step") if phase == "dpo" else sft.state.best_global_step
    kept = selection.chosen(history, step, phase)
    max_steps = sft.state.max_steps
    return {
        "enabled": True,
        "items": len(scorers[0].items),
        "rule": "highest val pass rate, then lowest eval loss; DPO kept only if it scores at least as well",
        "patience": select.patience,
        "sft_stopped_early": sft.state.global_step < max_steps,
        "sft_steps_run": sft.state.global_step,
        "sft_max_steps": max_steps,
        "kept": {
            "phase": phase,
            "step": step,
            **({k: kept[k] for k in ("pass_rate", "eval_loss")} if kept else {}),
        },
        "evaluations": history,
    }


def train_info(p, report: dict, base_dir: Path) -> dict:
    """What merge needs to find the base again, and what the model card says of training."""
    return {
        "method": p.method,
        "dtype": report["dtype"],
        "loss_path": report["loss_path"],
        "base_dir": str(base_dir),
        "base_revision": read_base(base_dir)["revision"],
        "params": dataclasses.asdict(p),
        "results": {
            "train_loss": report["train_loss"],
            "eval_loss": report["eval_loss_last"],
            "dpo": report["dpo"],
        },
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
    replay: Path | None = None,
    judging: params_mod.Judging | None = None,
) -> dict:
    """`judging`: evaluate's `default_check` and `refusal_patterns`, which judge the val items."""
    import torch
    from dvclive import Live
    from peft import LoraConfig
    from transformers import AutoConfig, AutoTokenizer

    from .evals.items import load_items
    from .training import selection  # imports transformers: after keep_out() (see the __main__ block)
    from .training.curves import Curves, quiet

    start = time.time()
    judging = judging or params_mod.Judging()
    try:
        check_refusal_patterns(
            judging.refusal_patterns
        )  # before the model loads, not at the first evaluation
    except CheckError as e:
        raise UserError(str(e)) from None
    name, revision = resolve(base_dir)
    tokenizer = AutoTokenizer.from_pretrained(name, revision=revision)
    path = loss_paths.choose(tokenizer, bool(p.sft.get("assistant_only_loss", False)))
    context = getattr(AutoConfig.from_pretrained(name, revision=revision), "max_position_embeddings", None)
    hardware = runtime(torch.cuda.is_available())
    config = sft_config(p, checkpoints, {**hardware, **within_context(p.sft, context)}, path)
    extra_files = [Path(f) for f in p.mix.sources] + ([replay] if replay is not None else [])
    resume = resumable_checkpoint(p, base_dir, data, checkpoints, extra_files)
    at_resume = checkpoint_state(resume)  # now: save_total_limit may delete that checkpoint while training
    main_process = config.process_index == 0  # only the main process writes files
    live = Live(dir=str(plots), dvcyaml=None, save_dvc_exp=False, report=None) if main_process else None
    callbacks = list(callbacks or [])
    peft_config = None
    if p.method != "full":
        peft_config = config_of(LoraConfig, {"task_type": "CAUSAL_LM", **p.lora}, "train.lora")
    train_rows, mix_report = training_rows(p, data, replay)
    val_items = selection.subset(
        load_items(data / "val.jsonl", judging.default_check, "val")[0], p.select.max_items, p.select.seed
    )

    def judge(phase: str, on_score) -> selection.Selection | None:
        if not p.select.max_items:
            return None
        return selection.Selection(
            val_items, tokenizer, judging.refusal_patterns, p.select.max_new_tokens, p.select.batch_size,
            phase, on_score,
        )  # fmt: skip

    model = load_policy(p, name, revision, torch.bfloat16 if config.bf16 else torch.float32)
    set_threads(model.num_parameters(), "train")
    sft_curves = Curves(live) if live else None
    sft_scorer = judge("sft", sft_curves.log if sft_curves else None)
    sft_callbacks = ([sft_scorer, *selection.early_stopping(p.select.patience)] if sft_scorer else []) + (
        [sft_curves] if sft_curves else []
    )
    # With train.select the eval loss is taken on the judged subset too: one forward pass over all
    # of val at each evaluation would cost as much as the judging itself, for a tie-break.
    val_rows = val_items if sft_scorer else list(read_jsonl(data / "val.jsonl"))
    trainer, dropped = build_trainer(
        config,
        model,
        tokenizer,
        path,
        data,
        train_rows,
        val_rows,
        peft_config,
        callbacks + sft_callbacks,
        p.loss_per,
    )
    quiet(trainer, "sft")
    example = loss_paths.trained_text(tokenizer, trainer.train_dataset[0])
    print(f"train: {p.method}, loss path {path.name}; the loss sees e.g. {example!r}", flush=True)
    sft_start = time.time()
    result = trainer.train(resume_from_checkpoint=resume)
    seconds = {"sft": time.time() - sft_start}
    forced = {**hardware, **within_context(p.dpo.config, context)}
    final, dpo_report, dpo_scorer = dpo_after_sft(
        p, trainer, tokenizer, path, data, callbacks, live, forced, checkpoints, judge
    )
    final.save_model(str(out))  # on every rank: FSDP and ZeRO-3 gather the sharded weights to save
    if not live:
        return {}
    tokenizer.save_pretrained(out)
    save_probe(final, tokenizer, out, p.method)
    seconds["stage"] = time.time() - start
    run = {"resumed_from": resume, "at_resume": at_resume, "rows_dropped": dropped, "seconds": seconds}
    report = train_report(p, trainer, result, tokenizer, path, run, dpo_report)
    report["mix"] = mix_report
    scorers = [s for s in (sft_scorer, dpo_scorer) if s is not None]
    report["selection"] = selection_report(p.select, trainer, scorers, dpo_report)
    write_train_info(out, train_info(p, report, base_dir))  # merge reads it
    write_json(metrics, report)
    live.end()
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
    parser.add_argument("--replay", type=Path, help="the replay stage's rows, mixed in by train.mix.replay")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    args = parser.parse_args()
    with reported("train"):
        chatter.to_log("train")
        p, judging = params_mod.load(args.params), params_mod.load_judging(args.params)
        if p.method != "qlora":
            from .model.quantization import keep_out

            keep_out()  # before peft is imported: no bitsandbytes warnings on LoRA and full runs
        r = main(
            p, args.base, args.data, args.out, args.plots, args.metrics,
            replay=args.replay, judging=judging,
        )  # fmt: skip
    if r:
        print(f"train: {r['steps']} steps, train loss {r['train_loss']}, eval loss {r['eval_loss_last']}")
        kept = r["selection"].get("kept")
        if isinstance(kept, dict):
            print(f"train: kept {kept['phase']} step {kept['step']}, val pass rate {kept.get('pass_rate')}")
        if r["dpo"]:
            d = r["dpo"]
            print(
                f"train: DPO reward margin {d['margins_before']} -> {d['margins_trained']} "
                f"(kept {d.get('kept', 'dpo')}: {d['margins_after']})"
            )
