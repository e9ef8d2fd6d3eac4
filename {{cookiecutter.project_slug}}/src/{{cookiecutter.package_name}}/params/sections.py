"""Every section of params.yaml at once, for `python -m PACKAGE.params` (make check), the tests and
CI; a stage loads only its own section, so a bad review knob never stops split."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .base import BaseParams
from .cost import CostParams
from .curate import CurateParams
from .decontaminate import DecontaminateParams
from .evaluate import EvaluateParams
from .loader import ParamsError, from_dict, read
from .merge import MergeParams
from .release import ReleaseParams
from .replay import ReplayParams
from .review import ReviewParams
from .split import SplitParams
from .train import TrainParams

__all__ = ["Params", "ParamsError", "load"]


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


def load(path: Path = Path("params.yaml")) -> Params:
    """The whole file, checked: unknown sections and keys, types, choices and ranges."""
    data = read(path)
    try:
        return from_dict(Params, data, "")
    except ParamsError as e:
        raise ParamsError(f"{path}: {e}") from None
