"""params.yaml `decontaminate:`, read by the decontaminate stage."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from .loader import load_section


@dataclass(frozen=True)
class DecontaminateParams:
    ngram: int = 6
    """Word n-gram size (on folded text: data/fold.py); 13 is the classic value for documents, 6
    keeps clauses of a reordered or lightly edited chat prompt inside whole n-grams."""
    threshold: float = 0.7
    """Weighted share of an eval prompt's words lying inside n-grams a training row shares with it
    (of its best `window` words when longer) that makes the row contaminated."""
    boilerplate: int = 10
    """An n-gram found in this many distinct eval prompts (a shared instruction) weighs nothing;
    in k < boilerplate prompts it weighs 1/k²."""
    window: int = 50
    """Eval prompts longer than this many words also match on their best stretch of this many
    words, so a row that copies part of a long passage counts; 0 = whole prompts only."""
    min_words: int = 3
    """Eval messages shorter than this are too generic to match on; they are counted, not used."""
    any_hit: bool = False
    """Remove a row on any shared n-gram, whatever the threshold."""
    benchmarks: list[str] = field(default_factory=list)
    """Extra eval sets that must never leak into training: JSONL conversations or .txt lines."""
    num_proc: int = 0
    """Processes to match with; 0 = one per core."""
    bad_eval_items: Literal["fail", "warn"] = "fail"
    """An eval item that cannot be read (listed in data/decontaminated/rejected.jsonl) fails the
    stage | warns: training rows are not checked against what could not be read."""

    def __post_init__(self) -> None:
        if self.ngram < 1:
            raise ValueError(f"ngram must be >= 1, got {self.ngram}")
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {self.threshold}")
        if self.boilerplate < 2:
            raise ValueError(
                f"boilerplate must be >= 2 (eval prompts sharing an n-gram), got {self.boilerplate}"
            )
        if self.window < 0:
            raise ValueError(f"window must be >= 0 (0 = whole prompts only), got {self.window}")
        if self.min_words < 3:  # below that the trigram anchors of short eval texts do not exist
            raise ValueError(f"min_words must be >= 3, got {self.min_words}")
        if self.num_proc < 0:
            raise ValueError(f"num_proc must be >= 0 (0 = one per core), got {self.num_proc}")


def load(path: Path = Path("params.yaml")) -> DecontaminateParams:
    """The `decontaminate:` section of `path`, checked; other sections are not read."""
    return load_section(path, "decontaminate", DecontaminateParams)
