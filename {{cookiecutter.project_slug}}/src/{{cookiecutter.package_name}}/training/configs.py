"""The train stage's own settings on top of the library configs (params/library.py `config_of`).

`runtime` is the one place for the hardware settings that SFT and DPO share, `within_context` caps
`max_length`, and `reporters` adds the stage's dvclive curves to the trackers the user chose.
"""

from __future__ import annotations

from ..params.library import TRL_MAX_LENGTH, Forced


def runtime(cuda: bool) -> Forced:
    """Hardware settings shared by SFT and DPO. Without a GPU: float32, and no gradient
    checkpointing, which saves GPU memory at the price of recomputation (both default on in TRL)."""
    if cuda:
        return {}
    why = "no GPU here: float32 on CPU"
    return {
        "use_cpu": (True, why),
        "bf16": (False, why),
        "fp16": (False, why),
        "gradient_checkpointing": (False, "no GPU here: recomputing activations would only cost time"),
    }


def within_context(section: dict, context: int | None) -> Forced:
    """`max_length` no longer than the base model's context (TRL's default included)."""
    if not context or section.get("max_length", TRL_MAX_LENGTH) <= context:
        return {}
    return {"max_length": (context, f"the base model's context is {context} tokens")}


def reporters(section: dict) -> Forced:
    """The user's `report_to` (wandb, mlflow, tensorboard, ...) without dvclive, which the stage
    adds itself, writing where dvc.yaml says instead of to ./dvclive."""
    from transformers.integrations import get_available_reporting_integrations

    chosen = section.get("report_to", "none")
    names = [chosen] if isinstance(chosen, str) else list(chosen)
    if names == ["all"]:
        names = get_available_reporting_integrations()
    if "dvclive" not in names:
        return {"report_to": (chosen, "")}  # as the user set it: nothing to say
    others = [name for name in names if name != "dvclive"]
    return {"report_to": (others or "none", "the stage writes the dvclive curves itself, to plots/train")}
