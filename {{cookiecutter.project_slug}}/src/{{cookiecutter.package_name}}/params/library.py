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
