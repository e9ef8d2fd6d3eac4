"""params.yaml `merge:`, read by the merge stage."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .loader import load_section


@dataclass(frozen=True)
class MergeParams:
    rtol: float = 1e-4
    """Largest allowed max |merged - trained| logit difference on the probe batch, as a share of
    max |logit|, in float32 (a faithful merge: ~2e-6; a damaged adapter or another base: ~1)."""
    rtol_half: float = 0.1
    """The same in bfloat16/float16, whose merged weights round differently (SmolLM2-135M: a
    faithful merge 0.04-0.08; a damaged adapter or another base 0.19-1)."""
    min_top1_agreement: float = 0.99
    """Share of probe positions with the same top token, among those where the trained model's
    top token leads the runner-up by more than 2 * rtol * max |logit| (closer ones may swap)."""


def load(path: Path = Path("params.yaml")) -> MergeParams:
    """The `merge:` section of `path`, checked; other sections are not read."""
    return load_section(path, "merge", MergeParams)
