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
    data_rows: int = 120
    """Curated rows on the data-only sheet (`make review-data`, before training), drawn from every
    bucket and knowledge point in turn; rows flagged bad go to data/veto.jsonl, which curate honours."""
    seed: int = 0
    """Seed of the sampled items and of the A/B order."""
    port: int = 8765
    """Port of `review serve` on 127.0.0.1."""

    def __post_init__(self) -> None:
        for name in ("per_bucket", "ab_per_bucket", "data_rows"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")


def load(path: Path = Path("params.yaml")) -> ReviewParams:
    """The `review:` section of `path`, checked; other sections are not read."""
    return load_section(path, "review", ReviewParams)
