"""params.yaml `split:`, read by the split stage."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .loader import load_section


@dataclass(frozen=True)
class SplitParams:
    seed: int = 42
    """Seed of the shuffle: the same input and seed give byte-identical splits."""
    train: float = 0.8
    """Share of each stratum in train."""
    val: float = 0.1
    """Share in val (train.select and eval loss read it)."""
    test: float = 0.1
    """Share in test; train + val + test = 1."""
    stratify_by: str = "bucket"
    """meta field whose values are split in the same proportions ('' to turn off)."""
    group_by: str = "cluster"
    """Field whose rows stay in one split: curate's near-duplicate cluster, or a meta field such
    as knowledge_point ('' = each row alone)."""
    pilot: float = 1.0
    """Share of each split kept, stratum by stratum, for a quick pilot run (`make pilot`); 1.0 = all."""

    def __post_init__(self) -> None:
        if not 0.0 < self.pilot <= 1.0:
            raise ValueError(f"pilot must be in (0, 1], got {self.pilot}")
        for name in ("train", "val", "test"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if abs(self.train + self.val + self.test - 1.0) > 1e-6:
            raise ValueError(
                f"train: train + val + test must be 1.0, got {self.train + self.val + self.test:g}"
            )


def load(path: Path = Path("params.yaml")) -> SplitParams:
    """The `split:` section of `path`, checked; other sections are not read."""
    return load_section(path, "split", SplitParams)
