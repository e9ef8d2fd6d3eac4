"""Progress of a long step as plain log lines: done/total, elapsed and ETA, at most every few seconds.

    progress = Progress("evaluate: base/test", total=len(prompts))
    for batch in batches:
        ...
        progress.update(len(batch))
    progress.finish()

Plain lines (no carriage returns) read well in CI logs and in `dvc repro` output alike. The gap
between lines starts at `every` seconds and grows with the elapsed time (half of it, at most four
times `every`), so a step of a few minutes says where it is in a handful of lines, not dozens.
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
        self.logged_at: int | None = None  # `done` at the last line; a short step ends silently
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
        if now - self._last >= self.gap(now - self.start):
            self._last, self.logged_at = now, self.done
            self.log(self.line())

    def gap(self, elapsed: float) -> float:
        """Seconds until the next line: `every`, growing to half the elapsed time, at most 4 x `every`."""
        return max(self.every, min(elapsed / 2, 4 * self.every))

    def finish(self) -> float:
        """Log the final line of a step that logged before (unless it said so already); return the
        seconds it took."""
        if self.logged_at not in (None, self.done):
            self.log(self.line())
        return time.monotonic() - self.start
