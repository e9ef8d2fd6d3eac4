"""params.yaml `cost:`, read by the cost stage."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .loader import load_section


@dataclass(frozen=True)
class CostParams:
    gpu_hour_usd: float = 2.0
    """Price of one GPU-hour, for training and serving alike."""
    gpus: int = 1
    """GPUs the train stage runs on: its wall time x gpus = GPU-hours."""
    train_hours: Literal["measured", "estimate"] = "measured"
    """measured (train's wall time) | estimate (train's FLOP estimate at gpu_tflops)."""
    gpu_tflops: float = 100.0
    """Sustained TFLOP/s of one GPU, for train_hours: estimate."""
    prefill_tokens_per_s: float = 20000.0
    """Prompt tokens one GPU processes per second when serving batched requests."""
    decode_tokens_per_s: float = 1500.0
    """Answer tokens one GPU generates per second, summed over a batch."""
    requests_per_day: int = 20000
    """Requests the service answers a day: serving cost and break-even scale with it."""
    prompt_tokens: int = 120
    """The request as the fine-tuned model sees it: system prompt and user message."""
    few_shot_tokens: int = 1500
    """What the base model needs on top to do the task: instructions and solved examples."""
    answer_tokens: int = 12
    """Tokens in a fine-tuned model's answer."""
    base_answer_tokens: int = 40
    """A prompted base model tends to say more than the answer."""

    def __post_init__(self) -> None:
        for name in ("prefill_tokens_per_s", "decode_tokens_per_s", "gpu_tflops"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")


def load(path: Path = Path("params.yaml")) -> CostParams:
    """The `cost:` section of `path`, checked; other sections are not read."""
    return load_section(path, "cost", CostParams)
