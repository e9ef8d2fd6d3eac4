import dataclasses
import json
import math

import pytest

from {{ cookiecutter.package_name }} import cost
from {{ cookiecutter.package_name }}.errors import UserError
from {{ cookiecutter.package_name }}.params import cost as params
from {{ cookiecutter.package_name }}.params import (
    sections,
)
from {{ cookiecutter.package_name }}.params.loader import (
    ParamsError,
)

P = params.CostParams(
    gpu_hour_usd=3.6,  # $0.001 per GPU-second: every figure below is easy to check by hand
    gpus=2,
    prefill_tokens_per_s=1000.0,
    decode_tokens_per_s=100.0,
    requests_per_day=1000,
    prompt_tokens=100,
    few_shot_tokens=900,
    answer_tokens=10,
    base_answer_tokens=30,
)
TRAIN = {"seconds": 1800.0, "method": "lora", "estimate": {"lora": {"compute_hours_at_tflops": 0.5}}}


@pytest.fixture
def train_metrics(tmp_path):
    path = tmp_path / "train.json"
    path.write_text(json.dumps(TRAIN))
    return path


def test_training_inference_and_break_even(train_metrics, tmp_path):
    r = cost.main(P, train_metrics, tmp_path / "cost.json")
    # 1800 s x 2 GPUs = 1 GPU-hour at $3.60.
    assert r["training"] == {"gpu_hours": 1.0, "usd": 3.6, "source": "measured: 1800.0 s x 2 GPU(s)"}
    # Base: 1000 prompt tokens / 1000 + 30 answer tokens / 100 = 1.3 GPU-s = $0.0013; x1000 = $1.30.
    # Fine-tuned: 100 / 1000 + 10 / 100 = 0.2 GPU-s = $0.0002; x1000 = $0.20.
    inference = r["inference_per_1k_requests"]
    assert inference["base_few_shot"] == {"prompt_tokens": 1000, "usd": 1.3}
    assert inference["finetuned"] == {"prompt_tokens": 100, "usd": 0.2}
    assert inference["saving_usd"] == 1.1
    # $3.60 / $0.0011 saved per request = 3272.7 -> 3273 requests, 3.27 days at 1000 a day.
    assert r["break_even"] == {"requests": 3273, "days": 3.27}
    assert r["monthly_usd_at_volume"] == {"base_few_shot": 39.0, "finetuned": 6.0}
    assert json.loads((tmp_path / "cost.json").read_text()) == r


def test_estimated_training_hours_scale_with_the_gpu(train_metrics, tmp_path):
    p = dataclasses.replace(P, train_hours="estimate", gpu_tflops=50.0)
    r = cost.main(p, train_metrics, tmp_path / "cost.json")
    assert r["training"]["gpu_hours"] == 1.0  # 0.5 h at 100 TFLOP/s is 1 h at 50
    assert r["training"]["usd"] == 3.6


def test_no_break_even_when_the_fine_tuned_model_is_not_cheaper(train_metrics, tmp_path):
    p = dataclasses.replace(P, few_shot_tokens=0, base_answer_tokens=P.answer_tokens)
    r = cost.main(p, train_metrics, tmp_path / "cost.json")
    assert r["inference_per_1k_requests"]["saving_usd"] == 0.0
    assert r["break_even"]["requests"] is None and r["break_even"]["note"].startswith("never")
    assert "never" in cost.summary(r)


def test_break_even_grows_with_the_price_of_training():
    cheap = cost.break_even(1.0, 0.01, 100)
    dear = cost.break_even(10.0, 0.01, 100)
    assert cheap == {"requests": 100, "days": 1.0}
    assert dear["requests"] == 10 * cheap["requests"] == math.ceil(10.0 / 0.01)


def test_missing_inputs_are_named(tmp_path, train_metrics):
    with pytest.raises(UserError, match="no train metrics; run the train stage first"):
        cost.main(P, tmp_path / "absent.json", tmp_path / "cost.json")
    train_metrics.write_text(json.dumps({"method": "lora"}))
    with pytest.raises(UserError, match="no 'seconds'; set cost.train_hours: estimate"):
        cost.main(P, train_metrics, tmp_path / "cost.json")
    with pytest.raises(UserError, match="no estimate for method 'lora'"):
        cost.main(dataclasses.replace(P, train_hours="estimate"), train_metrics, tmp_path / "cost.json")


def test_a_zero_throughput_is_refused_naming_the_key(tmp_path):
    bad = tmp_path / "params.yaml"
    bad.write_text("cost:\n  decode_tokens_per_s: 0\n")
    with pytest.raises(ParamsError, match=r"cost.decode_tokens_per_s must be > 0"):
        sections.load(bad)
