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


def test_trains_line_names_the_checkpoint_the_trainer_keeps(capsys):
    from transformers import TrainerState

    from {{ cookiecutter.package_name }}.training.curves import StepLines

    state = TrainerState(max_steps=40, best_global_step=16)  # the trainer's choice: its score breaks ties
    state.log_history = [
        {"step": 8, "eval_loss": 0.9, "eval_pass_rate": 0.5},
        {"step": 16, "eval_loss": 0.7, "eval_pass_rate": 0.75},
        {"step": 24, "eval_loss": 0.8, "eval_pass_rate": 0.75},
    ]
    lines = StepLines("sft")
    lines.on_train_begin(None, state, None)
    lines.on_log(None, state, None, logs={"loss": 0.4321})
    lines._print("train: sft steps: 30/40 (75%), 1m00s elapsed, ETA 20s")
    assert capsys.readouterr().err == (
        "train: sft steps: 30/40 (75%), 1m00s elapsed, ETA 20s, loss 0.4321, best val 0.75 (step 16)\n"
    )
    state.best_global_step = None  # train.select off: no val line
    lines._print("x")
    assert capsys.readouterr().err == "x, loss 0.4321\n"
