"""params.yaml `review:`, read by the review command."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .loader import load_section


@dataclass(frozen=True)
class ReviewParams:
    per_bucket: int = 5
    """Curated rows sampled per bucket for a data check."""
    ab_per_bucket: int = 5
    """Base-vs-fine-tuned answer pairs per bucket and eval set, shown blind."""
    sets: list[str] = field(default_factory=lambda: ["golden", "test"])
    """Eval sets in reports/evaluate/predictions.jsonl to draw the A/B items from."""
    seed: int = 0
    """Seed of the sampled items and of the A/B order."""
    port: int = 8765
    """Port of `review serve` on 127.0.0.1."""


def load(path: Path = Path("params.yaml")) -> ReviewParams:
    """The `review:` section of `path`, checked; other sections are not read."""
    return load_section(path, "review", ReviewParams)
