"""Progress of a long step as plain log lines: done/total, elapsed and ETA, at most every few seconds.

    progress = Progress("evaluate: base/test", total=len(prompts))
    for batch in batches:
        ...
        progress.update(len(batch))
    progress.finish()

Plain lines (no carriage returns) read well in CI logs and in `dvc repro` output alike.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class Progress:
    def __init__(
        self,
        label: str,
        total: int | None = None,
        every: float = 10.0,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.label, self.total, self.every = label, total, every
        self.log = log or (lambda line: print(line, file=sys.stderr, flush=True))
        self.done = 0
        self.logged = False  # a step too short for a line ends silently: the stage's summary says it
        self.start = self._last = time.monotonic()

    def line(self) -> str:
        elapsed = time.monotonic() - self.start
        if not self.total:
            return f"{self.label}: {self.done:,} done, {_clock(elapsed)} elapsed"
        share = self.done / self.total
        eta = elapsed / share - elapsed if share else 0.0
        return (
            f"{self.label}: {self.done:,}/{self.total:,} ({share:.0%}), "
            f"{_clock(elapsed)} elapsed, ETA {_clock(eta)}"
        )

    def update(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if now - self._last >= self.every:
            self._last = now
            self.logged = True
            self.log(self.line())

    def finish(self) -> float:
        """Log the final line of a step that logged before; return the seconds it took."""
        if self.logged:
            self.log(self.line())
        return time.monotonic() - self.start
