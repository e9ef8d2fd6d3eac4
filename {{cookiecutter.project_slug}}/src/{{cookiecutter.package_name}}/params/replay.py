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

    def __post_init__(self) -> None:
        for key in ("max_new_tokens", "batch_size"):
            if getattr(self, key) < 1:
                raise ValueError(f"{key} must be >= 1, got {getattr(self, key)}")


def load(path: Path = Path("params.yaml")) -> ReplayParams:
    """The `replay:` section of `path`, checked; other sections are not read."""
    return load_section(path, "replay", ReplayParams)
