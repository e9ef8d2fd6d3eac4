"""params.yaml `replay:`, read by the replay stage."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .loader import load_section


@dataclass(frozen=True)
class ReplayParams:
    max_new_tokens: int = 64
    """The base model's answer budget; an answer cut at this length is left out."""
    batch_size: int = 64
    """Prompts answered per batch: a decoding step reads every weight once, whatever the batch."""
    samples: int = 0
    """Answers sampled for a checked prompt whose greedy answer failed; the first that passes is
    kept (0 = greedy only)."""
    temperature: float = 0.8
    """Sampling temperature of those answers."""
    seed: int = 0
    """Seed of the sampling."""

    def __post_init__(self) -> None:
        for key in ("max_new_tokens", "batch_size"):
            if getattr(self, key) < 1:
                raise ValueError(f"{key} must be >= 1, got {getattr(self, key)}")
        if self.samples < 0:
            raise ValueError(f"samples must be >= 0, got {self.samples}")
        if not self.temperature > 0:  # NaN fails too
            raise ValueError(f"temperature must be > 0, got {self.temperature}")


def load(path: Path = Path("params.yaml")) -> ReplayParams:
    """The `replay:` section of `path`, checked; other sections are not read."""
    return load_section(path, "replay", ReplayParams)
