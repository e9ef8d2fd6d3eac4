"""params.yaml `curate:`, read by the curate stage; `feedback` reuses curate.pii."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from .library import TRL_MAX_LENGTH
from .loader import ParamsError, cross_key, load_section


@dataclass(frozen=True)
class PiiParams:
    policy: Literal["redact", "drop", "report"] = "redact"
    """redact (typed placeholders) | drop (to quarantine) | report (count only)."""
    types: list[Literal["email", "phone", "ip_address", "credit_card", "iban", "secret"]] = field(
        default_factory=lambda: ["email", "phone", "credit_card", "iban", "secret"]
    )
    """What counts as PII here; ip_address is left out by default because in security data an IP
    is usually an indicator, not a person."""
    id_key_env: str = "PII_ID_KEY"
    """Environment variable with the secret key of the hashes that replace PII inside ids
    ("[EMAIL:5c1f0e2a9b7d]", so two ids stay two); unset, the hash is stable but not secret. DVC
    does not track the variable: after changing the key, `dvc repro --force curate`."""


@dataclass(frozen=True)
class NearDupParams:
    """Two texts are near-duplicates when the Jaccard similarity of their shingle sets >= threshold."""

    threshold: float = 0.8
    """Estimated Jaccard similarity of word shingles above which two rows are near-duplicates."""
    shingle_size: int = 5
    """Words per shingle."""
    num_perm: int = 128
    """MinHash signature length: the estimate's standard error is ~sqrt(J(1-J)/num_perm)."""
    seed: int = 0
    """Seed of the MinHash permutations."""

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {self.threshold}")
        if self.shingle_size < 1:
            raise ValueError(f"shingle_size must be >= 1, got {self.shingle_size}")
        if self.num_perm < 2:
            raise ValueError(f"num_perm must be >= 2, got {self.num_perm}")


@dataclass(frozen=True)
class CurateNearDupParams(NearDupParams):
    action: Literal["quarantine", "keep"] = "quarantine"
    """quarantine | keep (kept near-duplicates share a cluster id that split keeps together)."""


@dataclass(frozen=True)
class CurateParams:
    format: Literal["auto", "messages", "alpaca", "sharegpt"] = "auto"
    """auto (per row) | messages | alpaca | sharegpt."""
    max_line_bytes: int = 1_000_000
    """Longer lines are quarantined unparsed."""
    max_chars: int = 20_000
    """Rows with more text are quarantined as too_long, never truncated; the token limit is
    train.sft.max_length, measured through the base model's chat template."""
    final_assistant: bool = True
    """SFT rows must end with the assistant turn that is the training target."""
    max_quarantine_share: float = 0.2
    """Fail the stage when more than this share of rows is quarantined: garbage in, stop."""
    special_tokens: Literal["quarantine", "escape"] = "quarantine"
    """Content holding a control token of the base tokenizer (<|im_start|>...) could forge a turn:
    quarantine the row | escape the token as text."""
    label_conflict: Literal["quarantine", "keep"] = "quarantine"
    """The same prompt with another answer than a kept row: quarantine it (the first is kept) |
    keep it (data with several good answers per prompt)."""
    min_cards_per_point: int = 5
    """Knowledge points with fewer distinct prompts are flagged in the coverage report."""
    stale_veto: Literal["fail", "warn"] = "fail"
    """A row in data/veto.jsonl that matches no row any more: fail (the row left the data, or curate
    now changes it differently and the vetoed row may be back unreviewed) | warn."""
    required_points: Literal["warn", "fail"] = "warn"
    """What a required point of the knowledge-point manifest below its minimum does to the stage."""
    pii: PiiParams = field(default_factory=PiiParams)
    """Personal data found in rows: what to do and which kinds to look for (data/pii.py)."""
    near_dup: CurateNearDupParams = field(default_factory=CurateNearDupParams)
    """Near-duplicate rows, by MinHash + LSH on word shingles of the non-system messages."""

    def __post_init__(self) -> None:
        for name in ("max_line_bytes", "max_chars", "min_cards_per_point"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0.0 <= self.max_quarantine_share <= 1.0:
            raise ValueError(f"max_quarantine_share must be in [0, 1], got {self.max_quarantine_share}")


def load(path: Path = Path("params.yaml")) -> CurateParams:
    """The `curate:` section of `path`, checked; other sections are not read."""
    return load_section(path, "curate", CurateParams)


def max_length(path: Path = Path("params.yaml")) -> int:
    """The declared cross-key `train.sft.max_length`: rows longer than this in tokens are too long
    to train on, so curate quarantines them (TRL's default when unset)."""
    n = cross_key(path, "train.sft.max_length", TRL_MAX_LENGTH)
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ParamsError(f"{path}: train.sft.max_length: expected a positive int, got {n!r}")
    return n
