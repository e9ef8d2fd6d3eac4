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
