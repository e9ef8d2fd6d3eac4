"""params.yaml `train:`, read by the train stage."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from .library import check_values
from .loader import load_section


@dataclass(frozen=True)
class DpoParams:
    enabled: bool = True
    """Run DPO after SFT when data/decontaminated/preferences.jsonl has pairs."""
    config: dict = field(default_factory=dict)
    """trl.DPOConfig fields, passed through unchanged."""

    def __post_init__(self) -> None:
        check_values(self.config, "config")


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

    def __post_init__(self) -> None:
        for name in ("sft", "lora"):
            check_values(getattr(self, name), name)


def load(path: Path = Path("params.yaml")) -> TrainParams:
    """The `train:` section of `path`, checked; other sections are not read."""
    return load_section(path, "train", TrainParams)
