"""Choose the checkpoint by behaviour: the validation split answered and judged as evaluate judges.

    selection = Selection(items, tokenizer, refusal_patterns, p.select, on_score=curves.log_now)
    SFTTrainer(args=..., callbacks=[selection, *selection.early_stopping()])

At each evaluation (`eval_strategy`/`eval_steps` of train.sft and train.dpo.config) the callback
answers a seeded subset of data/decontaminated/val.jsonl, stratified by bucket
(`train.select.max_items`), greedily through the chat template, judges every answer with its
item's check (evals/checks.py, with evaluate's `default_check` and `refusal_patterns`) and adds
`eval_pass_rate` to the evaluation's metrics, beside `eval_loss`. The trainer's own machinery does
the rest (`metric_for_best_model`, `load_best_model_at_end`, `EarlyStoppingCallback`): the score
is the pass rate with the eval loss as a tie-break (`eval_selection_score`, the pass rate minus a
millionth of the loss, so any gain in pass rate outweighs any loss), each evaluation saves a
checkpoint, the best one is kept out of `save_total_limit`'s rotation and recorded in the
trainer state (a resumed run knows it), training stops after `train.select.patience` evaluations
without a better score, and the best checkpoint's weights are loaded back at the end.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from transformers import TrainerCallback

from ..data.chat import prompt_and_reference
from ..evals.checks import judge
from ..evals.generation import generate
from ..evals.scoring import summarize

SCORE = "selection_score"  # metric_for_best_model; the trainer prefixes it with eval_
LOSS_WEIGHT = 1e-6  # a pass-rate step is >= 1/max_items >> 1e-6 * any plausible loss


def subset(items: list[dict], max_items: int, seed: int) -> list[dict]:
    """Up to `max_items` items, buckets taking turns, each bucket's items in a seeded order."""
    rng = random.Random(seed)
    buckets: dict[str, list[dict]] = {}
    for item in items:
        buckets.setdefault(str(item["meta"].get("bucket")), []).append(item)
    queues = [rng.sample(rows, len(rows)) for _, rows in sorted(buckets.items())]
    chosen: list[dict] = []
    while len(chosen) < max_items and any(queues):
        for queue in queues:
            if queue and len(chosen) < max_items:
                chosen.append(queue.pop())
    return chosen


def selection_score(pass_rate: float, loss: float | None) -> float:
    return pass_rate - LOSS_WEIGHT * min(loss if loss is not None else 0.0, 100.0)


class Selection(TrainerCallback):
    """Scores each evaluation during training; `history` keeps every score, for metrics/train.json."""

    def __init__(
        self,
        items: list[dict],
        tokenizer,
        refusal_patterns: list[str],
        max_new_tokens: int,
        batch_size: int,
        phase: str = "sft",
        on_score: Callable[[int, dict], None] | None = None,
    ) -> None:
        self.items, self.tokenizer, self.refusal_patterns = items, tokenizer, refusal_patterns
        self.max_new_tokens, self.batch_size, self.phase = max_new_tokens, batch_size, phase
        self.on_score = on_score
        self.prompts = [prompt_and_reference(item)[0] for item in items]
        self.history: list[dict] = []
        self.training = False

    def score(self, model) -> dict:
        """Pass rate of `model` on the subset, overall and per bucket."""
        was_training = model.training
        model.eval()
        try:
            answers = generate(model, self.tokenizer, self.prompts, self.max_new_tokens, self.batch_size)
        finally:
            model.train(was_training)
        results = []
        for item, answer in zip(self.items, answers, strict=True):
            reference = item["messages"][-1]["content"]
            passed, *_ = judge(item["check"], answer["text"], reference, self.refusal_patterns)
            results.append(
                {"bucket": item["meta"].get("bucket"), "risk": item["meta"].get("risk"), "passed": passed}
            )
        return summarize(results)

    def on_train_begin(self, args, state, control, **kwargs):
        self.training = True
        # a resumed run: the evaluations before its checkpoint are in the trainer's log history
        self.history = [
            {
                "phase": self.phase,
                "step": h["step"],
                "pass_rate": h["eval_pass_rate"],
                "eval_loss": h.get("eval_loss"),
            }
            for h in state.log_history
            if "eval_pass_rate" in h
        ]

    def on_train_end(self, args, state, control, **kwargs):
        self.training = False

    def on_evaluate(self, args, state, control, metrics=None, model=None, **kwargs):
        if not self.training or metrics is None or model is None:
            return  # the evaluations before and after training (DPO's margins) need no generation
        summary = self.score(model)
        loss = metrics.get("eval_loss")
        metrics["eval_pass_rate"] = summary["pass_rate"]
        metrics[f"eval_{SCORE}"] = selection_score(summary["pass_rate"], loss)
        if state.log_history and "eval_loss" in state.log_history[-1]:
            state.log_history[-1]["eval_pass_rate"] = summary["pass_rate"]  # kept in trainer_state.json
        self.history.append(
            {
                "phase": self.phase,
                "step": state.global_step,
                "pass_rate": summary["pass_rate"],
                "eval_loss": round(loss, 4) if loss is not None else None,
                "by_bucket": {b: s["pass_rate"] for b, s in summary["by_bucket"].items()},
            }
        )
        if self.on_score is not None:
            self.on_score(state.global_step, {"eval/pass_rate": summary["pass_rate"]})


def settings(eval_strategy: str, eval_steps) -> dict:
    """The TrainingArguments that make the trainer keep the best-scored checkpoint and stop early."""
    return {
        "metric_for_best_model": (SCORE, "train.select chooses the checkpoint by val pass rate"),
        "greater_is_better": (True, "a higher val pass rate is better"),
        "load_best_model_at_end": (True, "train.select keeps the best checkpoint"),
        "save_strategy": (eval_strategy, "a checkpoint at each evaluation, so the best one can be kept"),
        "save_steps": (eval_steps, "a checkpoint at each evaluation, so the best one can be kept"),
    }


def early_stopping(patience: int) -> list:
    from transformers import EarlyStoppingCallback

    class DuringTraining(EarlyStoppingCallback):
        """The trainer's early stopping, deaf to the evaluations outside training (DPO's reward
        margins before and after), which carry no selection score and would make it warn."""

        def on_evaluate(self, args, state, control, metrics=None, **kwargs):
            if metrics is not None and f"eval_{SCORE}" in metrics:
                super().on_evaluate(args, state, control, metrics, **kwargs)

    return [DuringTraining(early_stopping_patience=patience)] if patience > 0 else []


def chosen(history: list[dict], best_step: int | None, phase: str) -> dict | None:
    """The history entry of the checkpoint the trainer kept."""
    return next((h for h in history if h["phase"] == phase and h["step"] == best_step), None)
