"""Training curves for `dvc plots`, written with dvclive, x axis = optimizer step.

    live = Live(dir="plots/train", dvcyaml=None, save_dvc_exp=False, report=None)
    SFTTrainer(..., callbacks=[Curves(live)]); DPOTrainer(..., callbacks=[Curves(live, "dpo/", sft_steps)])

SFT curves land in plots/train/plots/metrics/ (loss.tsv, eval/loss.tsv, learning_rate.tsv, ...),
DPO's beside them under dpo/ (dpo/loss.tsv, dpo/rewards/margins.tsv, dpo/eval/rewards/accuracies.tsv,
...), its steps counted on from SFT's last so both share one axis. transformers' own
DVCLiveCallback counts log calls instead of steps, and a resumed run would lose the curves of
the steps before its checkpoint: here they are replayed from the checkpoint's log history.
"""

from __future__ import annotations

from transformers import TrainerCallback


class Curves(TrainerCallback):
    def __init__(self, live, prefix: str = "", offset: int = 0) -> None:
        self.live, self.prefix, self.offset = live, prefix, offset

    def log(self, step: int, logs: dict) -> None:
        from dvclive.plots import Metric
        from dvclive.utils import standardize_metric_name

        self.live.step = self.offset + step
        for key, value in logs.items():
            if key != "step" and Metric.could_log(value):
                self.live.log_metric(self.prefix + standardize_metric_name(key, "dvclive.huggingface"), value)
        self.live.make_summary()

    def on_train_begin(self, args, state, control, **kwargs):
        if state.is_world_process_zero and state.global_step > 0:  # resumed: the curves up to the checkpoint
            for logs in state.log_history:
                self.log(logs.get("step", 0), logs)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if state.is_world_process_zero and logs:
            self.log(state.global_step, logs)


def best_pass_rate(state) -> float | None:
    """The val pass rate of the evaluation a trainer kept (train.select), from its log history."""
    return next(
        (
            h["eval_pass_rate"]
            for h in state.log_history
            if h.get("step") == state.best_global_step and "eval_pass_rate" in h
        ),
        None,
    )


class StepLines(TrainerCallback):
    """One progress line every so often, "train: sft steps: 48/132 (36%), 2m10s elapsed, ETA 3m50s,
    loss 0.12, best val 0.81 (step 40)", instead of the trainer's dict per log call (its
    PrinterCallback, removed). The best val is the evaluation the trainer keeps (train.select)."""

    def __init__(self, phase: str) -> None:
        self.phase, self.progress, self.loss, self.state = phase, None, None, None

    def on_train_begin(self, args, state, control, **kwargs):
        from ..progress import Progress

        self.state = state
        if state.is_world_process_zero:
            left = state.max_steps - state.global_step  # a resumed run starts at its checkpoint
            self.progress = Progress(f"train: {self.phase} steps", total=left, every=30.0, log=self._print)

    def _print(self, line: str) -> None:
        import sys

        loss = f", loss {self.loss:.4g}" if self.loss is not None else ""
        rate = best_pass_rate(self.state) if self.state is not None else None
        best = f", best val {rate:.2f} (step {self.state.best_global_step})" if rate is not None else ""
        print(line + loss + best, file=sys.stderr, flush=True)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs and "loss" in logs:
            self.loss = logs["loss"]

    def on_step_end(self, args, state, control, **kwargs):
        if self.progress is not None:
            self.progress.update(1)

    def on_train_end(self, args, state, control, **kwargs):
        if self.progress is not None:
            self.progress.finish()


def quiet(trainer, phase: str) -> None:
    """Swap the trainer's printed log dicts for StepLines."""
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)
    trainer.add_callback(StepLines(phase))
