"""How much each answer weighs in the SFT loss (`train.loss_per`).

TRL averages the loss over answer tokens (`token`): an answer of one token ("UNSAFE") weighs a
fortieth of a 40-token tool call, so a classification bucket gets a sliver of every gradient step
however many rows it has. Measured on SmolLM2-135M with the demo data: the scan-verdict bucket
(one-token labels, a quarter of the rows, ~1% of the answer tokens) stayed at 0.5-0.67 on val
through two epochs while every other bucket reached 0.9-1.0. `row` averages each row's answer
tokens first and then the rows, so every row weighs the same, whatever the length of its answer.

    trainer_class = weighted(SFTTrainer, "row")

`row` keeps TRL's fused LM head (no vocabulary-sized logits are built) and its gradient
accumulation: each micro-batch's mean is divided by the accumulation steps, which is the mean
over the accumulated rows when micro-batches are full. Under DDP each process's mean is averaged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the stage imports torch only after keep_out() (model/quantization.py)
    import torch


def row_mean_nll(log_probs: torch.Tensor, mask: torch.Tensor, accumulation: int = 1) -> torch.Tensor:
    """Mean over rows of each row's mean negative log-likelihood of its answer tokens; rows with no
    answer token count for nothing. `log_probs` and `mask` are (rows, positions)."""
    tokens = mask.sum(dim=1)
    per_row = -(log_probs * mask).sum(dim=1) / tokens.clamp(min=1)
    rows = (tokens > 0).sum().clamp(min=1)
    return per_row.sum() / (rows * accumulation)


def weighted(trainer_class: type, loss_per: str) -> type:
    """`trainer_class` (TRL's SFTTrainer) as it is for `token`, or with the row-averaged loss."""
    if loss_per == "token":
        return trainer_class

    class RowWeighted(trainer_class):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            if self.args.packing or self.args.padding_free:
                raise ValueError(
                    "train.loss_per: row weighs each row the same, and a packed (or padding-free) sequence"
                    " holds several rows; set train.sft.packing and padding_free to false, or"
                    " train.loss_per: token"
                )

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            inputs["use_cache"] = False
            outputs = model(**inputs, fused_lm_head=True)  # TRL's head: log-probs, never the logits
            # As Trainer.training_step decides: a loss it takes as already scaled for accumulation
            scaled = getattr(self, "loss_is_scaled_for_ga", None)
            if scaled is None:
                scaled = self.model_accepts_loss_kwargs and num_items_in_batch is not None
            steps = self.current_gradient_accumulation_steps if scaled and model.training else 1
            loss = row_mean_nll(outputs.log_probs, outputs.label_mask, steps)
            return (loss, outputs) if return_outputs else loss

    RowWeighted.__name__ = f"RowWeighted{trainer_class.__name__}"
    return RowWeighted
