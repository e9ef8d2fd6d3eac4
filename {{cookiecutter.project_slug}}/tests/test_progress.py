"""Progress lines: few on a long step, none on a short one, never the same line twice."""

from {{ cookiecutter.package_name }} import progress


def run(monkeypatch, seconds: int, every: float = 30.0) -> tuple[list[float], list[str]]:
    """A step of `seconds` one-second updates: when each line was logged, and the lines."""
    now, times, lines = [0.0], [], []
    monkeypatch.setattr(progress.time, "monotonic", lambda: now[0])

    def log(line: str) -> None:
        times.append(now[0])
        lines.append(line)

    bar = progress.Progress("train: sft steps", total=seconds, every=every, log=log)
    for _ in range(seconds):
        now[0] += 1
        bar.update(1)
    bar.finish()
    return times, lines


def test_a_six_minute_step_says_where_it_is_in_a_handful_of_lines(monkeypatch):
    times, lines = run(monkeypatch, 6 * 60)
    assert times == [30, 60, 120, 240, 360]  # after 30 s, the gap is half the elapsed time
    assert lines[1] == "train: sft steps: 60/360 (17%), 1m00s elapsed, ETA 5m00s"
    assert lines[-1] == "train: sft steps: 360/360 (100%), 6m00s elapsed, ETA 0s"


def test_the_gap_grows_to_four_times_every_and_no_more(monkeypatch):
    times, _ = run(monkeypatch, 40 * 60)
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert gaps[0] == 30 and max(gaps) == 120 and len(times) <= 25


def test_a_short_step_is_silent_and_a_step_ending_on_a_line_is_not_repeated(monkeypatch):
    assert run(monkeypatch, 29) == ([], [])
    times, lines = run(monkeypatch, 30)
    assert times == [30] and lines == ["train: sft steps: 30/30 (100%), 30s elapsed, ETA 0s"]
