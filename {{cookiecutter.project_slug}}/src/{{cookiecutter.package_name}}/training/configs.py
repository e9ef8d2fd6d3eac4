"""Library configs from params sections, with the stage's own settings on top, said out loud.

    config = config_of(SFTConfig, p.sft, "train.sft", defaults=..., forced=runtime(cuda) | ...)

`defaults` fill keys the user left out (where this project knows better than the library's
default); `forced` are what the stage must decide itself (where checkpoints go, CPU vs GPU, the
chat template's loss path), each with its reason, and every forced value that replaces one the
user set is printed as one line. `runtime` is the one place for the hardware settings that SFT
and DPO share, `within_context` caps `max_length`, and `reporters` adds the stage's dvclive
curves to the trackers the user chose.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from ..params.loader import check_keys

Forced = dict[str, tuple[Any, str]]  # key: (value, why the stage sets it)


def config_fields(cls) -> set[str]:
    """The keyword arguments a library config class takes: its __init__'s, which for a dataclass
    are its fields (BitsAndBytesConfig is a dataclass whose fields do not list them)."""
    return set(inspect.signature(cls.__init__).parameters) - {"self", "args", "kwargs"}


def config_of(
    cls,
    section: dict,
    where: str,
    defaults: dict | None = None,
    forced: Forced | None = None,
    log: Callable[[str], None] = print,
):
    """A library config from a params section, refusing keys the library does not have."""
    check_keys(section, config_fields(cls), where)
    values = {**(defaults or {}), **section}
    for key, (value, why) in (forced or {}).items():
        if key in section and section[key] != value:
            log(f"train: {where}.{key}: {section[key]!r} replaced by {value!r} ({why})")
        values[key] = value
    return cls(**values)


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
    """`max_length` no longer than the base model's context (TRL's default, 1024, included)."""
    if not context or section.get("max_length", 1024) <= context:
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
