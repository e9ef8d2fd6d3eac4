"""Library chatter to a log file, so a stage prints its own progress lines and little else.

    with reported("train"):
        chatter.to_log("train")          # in __main__, before the libraries are used

transformers, TRL, datasets and PEFT log warnings, draw progress bars and raise FutureWarnings
about their own internals: useful when something is wrong, noise in `dvc repro` output. Here
Python warnings, the libraries' loggers and this package's own notes (the threads chosen) go to
logs/<stage>.log (ignored by Git), their progress bars are off, and at exit the stage says in one
line how many warnings it kept there.
"""

from __future__ import annotations

import atexit
import logging
import sys
import warnings
from pathlib import Path

LOGS = Path("logs")


def to_log(stage: str, logs: Path = LOGS) -> Path:
    """Send warnings and library logging of this process to logs/<stage>.log; return its path."""
    logs.mkdir(parents=True, exist_ok=True)
    path = logs / f"{stage}.log"
    handler = logging.FileHandler(path, mode="w", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    for name in ("transformers", "trl", "datasets", "peft", "accelerate", "huggingface_hub", "py.warnings"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.propagate = False
    ours = logging.getLogger(__package__)  # the stage's own notes (threads chosen): INFO and up
    ours.handlers[:], ours.propagate = [handler], False
    ours.setLevel(logging.INFO)
    logging.captureWarnings(True)  # warnings.warn -> the py.warnings logger -> the file
    warnings.simplefilter("default")  # each distinct warning once, not once per call
    counted = _Count()
    handler.addFilter(counted)
    _bars_off()
    atexit.register(_say, stage, path, counted)
    return path


class _Count(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self.n = 0

    def filter(self, record: logging.LogRecord) -> bool:
        self.n += record.levelno >= logging.WARNING
        return True


def _bars_off() -> None:
    """datasets' map bars and transformers' weight-loading bars; the stages print their own lines."""
    import datasets
    from transformers.utils import logging as hf_logging

    datasets.disable_progress_bars()
    hf_logging.disable_progress_bar()


def _say(stage: str, path: Path, counted: _Count) -> None:
    if counted.n:
        print(f"{stage}: {counted.n} library warning(s) kept in {path}", file=sys.stderr)
