"""params.yaml `evaluate:`, read by the evaluate stage; `gate` reads evaluate.gate."""

from __future__ import annotations

import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from .loader import load_section


@dataclass(frozen=True)
class GateParams:
    sets: list[str] = field(default_factory=lambda: ["golden", "general"])
    """Eval sets the gate reads; a set with rejected (malformed) items fails it."""
    min_pass_rate: float = 0.0
    """Lowest pass rate of each set in `sets`."""
    min_pass_rate_by_risk: dict[str, float] = field(default_factory=lambda: {"critical": 1.0})
    """Lowest pass rate per risk tier, e.g. {critical: 1.0}: every critical behaviour must hold."""
    min_pass_rate_by_bucket: dict[str, float] = field(default_factory=dict)
    """Lowest pass rate per bucket, e.g. {scan_verdict: 0.9}."""
    min_pass_rate_by_set: dict[str, float] = field(default_factory=dict)
    """A minimum overall pass rate for one eval set, e.g. {test: 0.85}."""
    max_regression_vs_base: float = 0.05
    """No bucket may be worse than the better baseline (zero-shot or prompted) by more than this."""
    max_regression_by_set: dict[str, float] = field(default_factory=lambda: {"general": 0.1})
    """A different max_regression_vs_base for one eval set: the general-skill probes are held to
    0.1, so forgetting fails the gate; what a looser tolerance lets through is listed in the
    report and by the gate."""
    min_gain_vs_prompted: float = 0.0
    """The fine-tuned pass rate on each gated set must exceed the prompted base model's by more
    than this (0.0: fine-tuning must beat prompting; -1.0 turns the rule off)."""

    def __post_init__(self) -> None:
        rates = {"min_pass_rate": self.min_pass_rate, "max_regression_vs_base": self.max_regression_vs_base}
        rates |= {f"min_pass_rate_by_risk.{k}": v for k, v in self.min_pass_rate_by_risk.items()}
        rates |= {f"min_pass_rate_by_bucket.{k}": v for k, v in self.min_pass_rate_by_bucket.items()}
        rates |= {f"min_pass_rate_by_set.{k}": v for k, v in self.min_pass_rate_by_set.items()}
        rates |= {f"max_regression_by_set.{k}": v for k, v in self.max_regression_by_set.items()}
        for key, value in rates.items():
            if not 0.0 <= value <= 1.0:  # NaN fails this too: a NaN threshold would pass everything
                raise ValueError(f"{key} must be a rate in [0, 1], got {value}")
        if not -1.0 <= self.min_gain_vs_prompted <= 1.0:
            raise ValueError(f"min_gain_vs_prompted must be in [-1, 1], got {self.min_gain_vs_prompted}")


@dataclass(frozen=True)
class ConsistencyParams:
    samples: int = 3
    """Answers sampled per item to measure run-to-run agreement (0 or 1 = off)."""
    temperature: float = 0.7
    """Sampling temperature of those answers."""


@dataclass(frozen=True)
class JudgeParams:
    enabled: bool = False
    """Pairwise base-vs-fine-tuned judging through an OpenAI-compatible chat endpoint."""
    base_url: str = "http://127.0.0.1:8000/v1"
    """The OpenAI-compatible endpoint of the judge model."""
    model: str = "judge"
    """The judge's model name at that endpoint."""
    api_key_env: str = "JUDGE_API_KEY"
    """Name of the environment variable holding the key; the key itself never goes in a file."""
    sets: list[str] = field(default_factory=lambda: ["golden"])
    """Eval sets whose answers the judge compares, base vs fine-tuned."""
    timeout_s: float = 30.0
    """Per request; a judge that does not answer is recorded as judge.error, the evaluation stays."""
    max_retries: int = 2
    """Retries with exponential backoff (the openai client's) on timeouts, 429 and 5xx answers."""


@dataclass(frozen=True)
class PromptedParams:
    """The prompted baseline: the base model shown solved training examples before each item."""

    enabled: bool = True
    """Evaluate the base model with solved examples too: the baseline fine-tuning must beat."""
    shots: int = 2
    """Examples per bucket from the train split, as earlier user/assistant turns (fewer when the
    prompt would not fit the model's context)."""
    instruction: str = ""
    """Appended to the system prompt of the prompted baseline, e.g. the answer format."""
    seed: int = 0
    """Seed of the choice of examples."""

    def __post_init__(self) -> None:
        if self.shots < 0:
            raise ValueError(f"shots must be >= 0, got {self.shots}")


GeneralSkill = Literal["copy", "next_number", "compare", "first_word", "greeting", "arithmetic", "capital"]


@dataclass(frozen=True)
class GeneralParams:
    """General-skill probes run as eval set `general`: does fine-tuning make the model forget?"""

    enabled: bool = True
    """Run the general-skill probes (eval set `general`): is anything forgotten?"""
    per_skill: int = 12
    """Probes per skill."""
    skills: list[GeneralSkill] = field(default_factory=lambda: list(typing.get_args(GeneralSkill)))
    """The probes run, from evals/general.py."""
    seed: int = 0
    """Seed of the probe items."""

    def __post_init__(self) -> None:
        if self.per_skill < 1:
            raise ValueError(f"per_skill must be >= 1, got {self.per_skill} (enabled: false turns it off)")


@dataclass(frozen=True)
class EvaluateParams:
    max_new_tokens: int = 48
    """Answer budget per item, in tokens (a tool call is ~40 with the tiny model's tokenizer)."""
    batch_size: int = 32
    """Items answered per batch."""
    do_sample: bool = False
    """Greedy answers by default: the gate should not depend on a dice roll."""
    temperature: float = 0.7
    """Used when do_sample is true."""
    seed: int = 0
    """Seed of sampling (do_sample, consistency)."""
    extra_sets: dict[str, str] = field(default_factory=dict)
    """More eval sets, name -> JSONL file or directory (also list the path in dvc.yaml deps)."""
    default_check: Literal["exact", "normalized", "refusal"] = "normalized"
    """Check for items without meta.check: exact | normalized | refusal."""
    refusal_patterns: list[str] = field(default_factory=lambda: ["^out of scope"])
    """Regexes (case-insensitive) that make an answer a refusal under the project's policy."""
    classification_buckets: list[str] = field(default_factory=lambda: ["scan_verdict"])
    """Buckets whose answers are labels: a confusion matrix is plotted for each."""
    consistency: ConsistencyParams = field(default_factory=ConsistencyParams)
    """The fine-tuned model's agreement with itself over sampled answers, on test and golden."""
    prompted: PromptedParams = field(default_factory=PromptedParams)
    """Baseline: the base model shown solved examples from data/split/train.jsonl."""
    general: GeneralParams = field(default_factory=GeneralParams)
    """General-skill probes: the base model's skills the fine-tuned one must keep."""
    gate: GateParams = field(default_factory=GateParams)
    """What `python -m PACKAGE.gate` (and release) require; it exits non-zero when these fail."""
    judge: JudgeParams = field(default_factory=JudgeParams)
    """Optional pairwise judge on an OpenAI-compatible endpoint (pip install -e '.[judge]')."""


def load(path: Path = Path("params.yaml")) -> EvaluateParams:
    """The `evaluate:` section of `path`, checked; other sections are not read."""
    return load_section(path, "evaluate", EvaluateParams)
