"""params.yaml `train:`, read by the train stage (with evaluate's `default_check` and
`refusal_patterns`, which judge the val items train.select scores)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from .library import check_values
from .loader import ParamsError, cross_key, from_dict, load_section


@dataclass(frozen=True)
class DpoParams:
    enabled: bool = True
    """Run DPO after SFT when data/decontaminated/preferences.jsonl has pairs."""
    config: dict = field(default_factory=dict)
    """trl.DPOConfig fields, passed through unchanged."""

    def __post_init__(self) -> None:
        check_values(self.config, "config")


@dataclass(frozen=True)
class SelectParams:
    max_items: int = 48
    """Val items answered and judged at each evaluation, buckets taking turns (0 = off: keep the
    last step, no early stopping)."""
    max_new_tokens: int = 48
    """Answer budget while judging val items, as evaluate's `max_new_tokens`."""
    batch_size: int = 48
    """Val items answered per batch."""
    patience: int = 4
    """Evaluations without a better val pass rate (then eval loss) before the phase stops (0 = never)."""
    seed: int = 0
    """Seed of the val items' order."""

    def __post_init__(self) -> None:
        for key in ("max_items", "max_new_tokens", "batch_size", "patience"):
            if getattr(self, key) < (1 if key in ("max_new_tokens", "batch_size") else 0):
                raise ValueError(
                    f"{key} must be {'>= 1' if key in ('max_new_tokens', 'batch_size') else '>= 0'}"
                )


@dataclass(frozen=True)
class MixParams:
    replay: float = 0.25
    """Replay rows (the base model's own answers, data/replay) drawn per task row; 0 = none."""
    sources: dict[str, float] = field(default_factory=dict)
    """More general data, path: rows drawn per task row, in any input kind curate reads."""
    seed: int = 0
    """Seed of the rows drawn."""

    def __post_init__(self) -> None:
        for key, weight in {
            "replay": self.replay,
            **{f"sources.{k}": v for k, v in self.sources.items()},
        }.items():
            if not 0.0 <= weight <= 10.0:  # NaN fails too
                raise ValueError(f"{key} must be a weight in [0, 10] (rows per task row), got {weight}")


@dataclass(frozen=True)
class TrainParams:
    method: Literal["lora", "qlora", "full"] = "lora"
    """lora | qlora | full."""
    launcher: Literal["single", "cpu_ddp", "multi_gpu", "fsdp", "deepspeed_zero3"] = "single"
    """configs/accelerate/<launcher>.yaml: single, cpu_ddp, multi_gpu, fsdp, deepspeed_zero3."""
    sft: dict = field(default_factory=dict)
    """trl.SFTConfig fields, passed through unchanged."""
    lora: dict = field(default_factory=dict)
    """peft.LoraConfig fields, passed through unchanged (lora and qlora)."""
    quantization: dict = field(default_factory=dict)
    """transformers.BitsAndBytesConfig fields (qlora); 4-bit NF4 with double quantisation by default."""
    dpo: DpoParams = field(default_factory=DpoParams)
    """Preference tuning after SFT (trl.DPOConfig in `config`)."""
    select: SelectParams = field(default_factory=SelectParams)
    """The checkpoint kept is the one with the best val pass rate (training/selection.py)."""
    mix: MixParams = field(default_factory=MixParams)
    """General rows mixed into SFT against forgetting (training/mixing.py)."""
    loss_per: Literal["row", "token"] = "token"
    """token: every answer token weighs the same in the SFT loss, as TRL does; row: every row's
    answer weighs the same, a one-token label as much as a long answer (a real model's bake ships
    row: training/weighting.py)."""

    def __post_init__(self) -> None:
        for name in ("sft", "lora"):
            check_values(getattr(self, name), name)


@dataclass(frozen=True)
class Judging:
    """evaluate's keys that train declares (dvc.yaml): val items are judged as evaluate judges them."""

    default_check: Literal["exact", "normalized", "refusal"] = "normalized"
    refusal_patterns: list[str] = field(default_factory=lambda: ["^out of scope"])


def load_judging(path: Path = Path("params.yaml")) -> Judging:
    """`evaluate.default_check` and `evaluate.refusal_patterns`, checked; nothing else of evaluate."""
    keys = {name: cross_key(path, f"evaluate.{name}", None) for name in ("default_check", "refusal_patterns")}
    try:
        return from_dict(Judging, {k: v for k, v in keys.items() if v is not None}, "evaluate")
    except ParamsError as e:
        raise ParamsError(f"{path}: {e}") from None


def load(path: Path = Path("params.yaml")) -> TrainParams:
    """The `train:` section of `path`, checked; other sections are not read."""
    return load_section(path, "train", TrainParams)
