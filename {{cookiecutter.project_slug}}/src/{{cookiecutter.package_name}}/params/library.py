"""Params sections that a library owns (trl.SFTConfig, trl.DPOConfig, peft.LoraConfig,
transformers.BitsAndBytesConfig): the library's own config class built from them, said out loud.

    config = config_of(SFTConfig, p.sft, "train.sft", defaults=..., forced=runtime(cuda) | ...)

Keys the library lacks are refused with their dotted name. `defaults` fill keys the user left out
(where this project knows better than the library's default); `forced` are what the stage must
decide itself (where checkpoints go, CPU vs GPU, the chat template's loss path), each with its
reason, and every forced value that replaces one the user set is printed as one line. Shared by
model/ (quantization) and training/ (SFT, DPO), below both.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from .loader import ParamsError

TRL_MAX_LENGTH = 1024  # trl.SFTConfig's max_length default (tests/test_contracts.py keeps them equal)

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


def check_keys(section: dict, allowed: set[str], where: str) -> None:
    """For pass-through sections: every key must be a field of the library's config class."""
    unknown = sorted(set(section) - allowed)
    if unknown:
        raise ParamsError(f"{where}: unknown key {unknown[0]!r}; it is not a field of the library config")


# The common numeric knobs of trl.SFTConfig / trl.DPOConfig and peft.LoraConfig, checked when
# params.yaml is loaded: the libraries would only refuse them after the model is loaded, or
# not at all (a negative learning rate trains backwards).
POSITIVE = {"learning_rate", "num_train_epochs", "lora_alpha", "beta"}  # numbers > 0
COUNTS = {  # ints >= the value
    "per_device_train_batch_size": 1,
    "per_device_eval_batch_size": 1,
    "gradient_accumulation_steps": 1,
    "max_length": 1,
    "max_prompt_length": 1,
    "r": 1,
    "max_steps": -1,  # -1: num_train_epochs decides
    "seed": 0,
    "save_total_limit": 1,
}
NULLABLE = {"save_total_limit", "max_length", "max_prompt_length"}  # null: keep all / no truncation
SHARES = {"warmup_ratio", "lora_dropout"}  # numbers in [0, 1]
NON_NEGATIVE = {"weight_decay", "max_grad_norm"}


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _shown(value: object) -> str:
    """The value as written; a number YAML read as text (2e-4: YAML 1.1 wants 2.0e-4) says so."""
    try:
        return f"{value!r} (YAML reads {value} as text: write {float(value)!r})"  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return repr(value)


def check_values(section: dict, where: str) -> None:
    """Types and ranges of the library knobs this project knows, raising ValueError naming the key
    relative to the dataclass being built (`sft.learning_rate`), as a `__post_init__` does."""
    for key, value in section.items():
        if key in POSITIVE and not (_number(value) and value > 0):
            raise ValueError(f"{where}.{key} must be a number > 0, got {_shown(value)}")
        if key in COUNTS and not (
            (value is None and key in NULLABLE)
            or (isinstance(value, int) and not isinstance(value, bool) and value >= COUNTS[key])
        ):
            null = " or null" if key in NULLABLE else ""
            raise ValueError(f"{where}.{key} must be an int >= {COUNTS[key]}{null}, got {_shown(value)}")
        if key in SHARES and not (_number(value) and 0 <= value <= 1):
            raise ValueError(f"{where}.{key} must be a number in [0, 1], got {_shown(value)}")
        if key in NON_NEGATIVE and not (_number(value) and value >= 0):
            raise ValueError(f"{where}.{key} must be a number >= 0, got {_shown(value)}")
