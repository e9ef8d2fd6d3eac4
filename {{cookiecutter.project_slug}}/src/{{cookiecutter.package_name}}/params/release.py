"""params.yaml `release:`, read by the release command and the monitoring spec it writes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .loader import load_section


@dataclass(frozen=True)
class MonitoringParams:
    window_days: int = 7
    """Production feedback is judged over this many days."""
    max_bad_rate: float = 0.2
    """A bucket whose share of bad user verdicts exceeds this triggers a rollback."""
    min_verdicts: int = 20
    """Buckets with fewer verdicts in the window are reported, not judged."""
    max_critical_bad: int = 0
    """More bad verdicts than this on critical-risk requests trigger a rollback."""


@dataclass(frozen=True)
class ReleaseParams:
    require_review: bool = False
    """Refuse a release without a human review of this model (metrics/review.json) or --signed-off-by."""
    min_review_win_rate: float = 0.0
    """With a review: the fine-tuned model's minimum win rate over the base across all A/B items."""
    min_consistency: float = 0.0
    """Minimum agreement of sampled golden answers (metrics/evaluate.json); 0 = not gated."""
    monitoring: MonitoringParams = field(default_factory=MonitoringParams)
    """Written to releases/<version>.monitoring.yaml; `make feedback` checks it."""


def load(path: Path = Path("params.yaml")) -> ReleaseParams:
    """The `release:` section of `path`, checked; other sections are not read."""
    return load_section(path, "release", ReleaseParams)
