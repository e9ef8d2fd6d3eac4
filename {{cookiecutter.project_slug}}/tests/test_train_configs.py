"""How the train stage turns params sections into library configs: the user's values are kept,
and any the stage must replace are named in the log; totals of a resumed run."""

from dataclasses import dataclass

import pytest

from {{ cookiecutter.package_name }}.params import library
from {{ cookiecutter.package_name }}.params.loader import (
    ParamsError,
)
from {{ cookiecutter.package_name }}.training import configs
from {{ cookiecutter.package_name }}.training.resume import (
    fingerprint,
    mean_train_loss,
)


@dataclass
class Config:  # stands in for a library config class
    learning_rate: float = 2e-5
    bf16: bool = True
    use_cpu: bool = False
    report_to: object = "none"
    include_num_input_tokens_seen: str = "no"


def test_user_values_are_kept_defaults_fill_gaps_and_replacements_are_said(capsys):
    forced = {"bf16": (False, "no GPU here"), "use_cpu": (True, "no GPU here")}
    config = library.config_of(
        Config,
        {"learning_rate": 1e-4, "bf16": True},
        "train.sft",
        defaults={"learning_rate": 3e-3, "include_num_input_tokens_seen": "non_padding"},
        forced=forced,
    )
    assert config == Config(1e-4, False, True, "none", "non_padding")
    # bf16 was the user's and is replaced: said. use_cpu was not the user's: nothing to say.
    assert capsys.readouterr().out == "train: train.sft.bf16: True replaced by False (no GPU here)\n"


def test_a_key_the_library_does_not_have_is_refused():
    with pytest.raises(ParamsError, match="train.sft: unknown key 'learning_rat'"):
        library.config_of(Config, {"learning_rat": 1e-4}, "train.sft")


def test_on_cpu_float32_and_no_gradient_checkpointing_on_a_gpu_nothing_forced():
    cpu = configs.runtime(cuda=False)
    assert {k: v for k, (v, _) in cpu.items()} == {
        "use_cpu": True,
        "bf16": False,
        "fp16": False,
        "gradient_checkpointing": False,
    }
    assert configs.runtime(cuda=True) == {}


@pytest.mark.parametrize(
    ("report_to", "passed"),
    [
        (None, "none"),
        ("none", "none"),
        ("wandb", "wandb"),
        (["wandb", "mlflow"], ["wandb", "mlflow"]),
        ("dvclive", "none"),
        (["dvclive", "tensorboard"], ["tensorboard"]),
    ],
)
def test_the_users_trackers_are_kept_and_dvclive_is_the_stages(report_to, passed):
    section = {} if report_to is None else {"report_to": report_to}
    assert configs.reporters(section)["report_to"][0] == passed


def test_all_trackers_means_every_installed_one_but_dvclive():
    value, why = configs.reporters({"report_to": "all"})["report_to"]
    assert "dvclive" not in (value if isinstance(value, list) else [value]) and "plots/train" in why


def test_max_length_is_capped_at_the_models_context():
    assert configs.within_context({"max_length": 4096}, 2048)["max_length"][0] == 2048
    assert configs.within_context({}, 512)["max_length"][0] == 512  # TRL's default is 1024
    assert configs.within_context({"max_length": 128}, 2048) == {}
    assert configs.within_context({"max_length": 4096}, None) == {}


def test_a_resumed_runs_loss_covers_every_step():
    # Logged at steps 2 and 4 (means over 2 steps each), resumed from step 4, the trainer's own
    # figure (3.0) covers steps 5-8 only.
    history = [{"step": 2, "loss": 6.0}, {"step": 4, "loss": 5.0}, {"step": 6, "loss": 3.5}]
    assert mean_train_loss(history, 3.0, resumed_at=4, final_step=8) == pytest.approx((12 + 10 + 12) / 8)
    assert mean_train_loss(history, 4.0, resumed_at=0, final_step=8) == 4.0


def test_checkpoints_are_stamped_with_params_data_and_base(tmp_path):
    data = tmp_path / "train.jsonl"
    data.write_text("a\n")
    mark = fingerprint({"lr": 1}, [data], "rev1")
    assert mark == fingerprint({"lr": 1}, [data], "rev1")
    assert len({mark, fingerprint({"lr": 2}, [data], "rev1"), fingerprint({"lr": 1}, [data], "rev2")}) == 3
    data.write_text("b\n")
    assert fingerprint({"lr": 1}, [data], "rev1") != mark


def test_row_weighting_gives_a_one_token_answer_the_weight_of_a_long_one():
    import torch

    from {{ cookiecutter.package_name }}.training.weighting import row_mean_nll

    # row 0: a one-token label at log-prob -2; row 1: four tokens at -1 each; row 2: no answer
    log_probs = torch.tensor([[0.0, -2.0, 0, 0, 0], [-1.0, -1, -1, -1, 0], [0.0, 0, 0, 0, 0]])
    mask = log_probs != 0
    assert row_mean_nll(log_probs, mask).item() == pytest.approx((2 + 1) / 2)  # rows, not tokens
    token_mean = -log_probs.sum() / mask.sum()
    assert token_mean.item() == pytest.approx(6 / 5)  # what TRL's token mean would give
    assert row_mean_nll(log_probs, mask, accumulation=4).item() == pytest.approx(1.5 / 4)
    assert row_mean_nll(log_probs[2:], mask[2:]).item() == 0.0  # a batch without answers is a zero
