"""Cost stage: what training cost, what serving costs, and when fine-tuning pays for itself.

    python -m PACKAGE.cost --train-metrics metrics/train.json --metrics metrics/cost.json

Training: GPU-hours from the train stage's wall time x `cost.gpus` (or, with
`cost.train_hours: estimate`, from its FLOP estimate at `cost.gpu_tflops`) x `cost.gpu_hour_usd`.
Serving, per 1,000 requests on the same GPU: the base model needs a long prompt (instructions
and solved examples, `cost.few_shot_tokens`) to do the task; the fine-tuned model needs only the
request. GPU time per request = prompt tokens / prefill throughput + answer tokens / decode
throughput. Break-even: the request volume at which the saving per request has paid for
training, and how many days that is at `cost.requests_per_day`. Every assumption is a param, so
`dvc params diff` and `dvc metrics diff` show what a price or a throughput change does.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from .data.jsonl import read_json, write_json
from .errors import UserError, reported
from .params import cost as params_mod


def gpu_seconds(prompt_tokens: float, answer_tokens: float, p: params_mod.CostParams) -> float:
    return prompt_tokens / p.prefill_tokens_per_s + answer_tokens / p.decode_tokens_per_s


def training_hours(train: dict, p: params_mod.CostParams) -> tuple[float, str]:
    """(GPU-hours, how they were obtained) from train's metrics."""
    if p.train_hours == "measured":
        if "seconds" not in train:
            raise UserError("the train metrics have no 'seconds'; set cost.train_hours: estimate")
        return train["seconds"] / 3600 * p.gpus, f"measured: {train['seconds']} s x {p.gpus} GPU(s)"
    method = train.get("method")
    planned = (train.get("estimate") or {}).get(method)
    if not planned:
        raise UserError(f"the train metrics have no estimate for method {method!r}")
    hours = planned["compute_hours_at_tflops"] * 100.0 / p.gpu_tflops  # estimate.py assumes 100 TFLOP/s
    return hours, f"estimate: {planned['compute_hours_at_tflops']} h at 100 TFLOP/s, {p.gpu_tflops} sustained"


def break_even(training_usd: float, saving_per_request: float, per_day: float) -> dict:
    if saving_per_request <= 0:
        return {
            "requests": None,
            "days": None,
            "note": "never: the fine-tuned model does not cost less per request",
        }
    requests = math.ceil(training_usd / saving_per_request)
    return {"requests": requests, "days": round(requests / per_day, 2) if per_day else None}


def main(p: params_mod.CostParams, train_metrics: Path, metrics: Path) -> dict:
    try:
        train = read_json(train_metrics)
    except FileNotFoundError:
        raise UserError(f"{train_metrics}: no train metrics; run the train stage first") from None
    hours, source = training_hours(train, p)
    training_usd = hours * p.gpu_hour_usd
    base_s = gpu_seconds(p.prompt_tokens + p.few_shot_tokens, p.base_answer_tokens, p)
    tuned_s = gpu_seconds(p.prompt_tokens, p.answer_tokens, p)
    per_1k = {
        name: round(1000 * s / 3600 * p.gpu_hour_usd, 4) for name, s in (("base", base_s), ("tuned", tuned_s))
    }
    saving = (base_s - tuned_s) / 3600 * p.gpu_hour_usd
    report = {
        "training": {"gpu_hours": round(hours, 4), "usd": round(training_usd, 4), "source": source},
        "inference_per_1k_requests": {
            "base_few_shot": {"prompt_tokens": p.prompt_tokens + p.few_shot_tokens, "usd": per_1k["base"]},
            "finetuned": {"prompt_tokens": p.prompt_tokens, "usd": per_1k["tuned"]},
            "saving_usd": round(per_1k["base"] - per_1k["tuned"], 4),
        },
        "break_even": break_even(training_usd, saving, p.requests_per_day),
        "monthly_usd_at_volume": {
            "base_few_shot": round(30 * p.requests_per_day * per_1k["base"] / 1000, 2),
            "finetuned": round(30 * p.requests_per_day * per_1k["tuned"] / 1000, 2),
        },
    }
    write_json(metrics, report)
    return report


def summary(r: dict) -> str:
    inference, even = r["inference_per_1k_requests"], r["break_even"]
    when = f"after {even['requests']:,} requests ({even['days']} days)" if even["requests"] else even["note"]
    return (
        f"training ${r['training']['usd']:.2f} ({r['training']['gpu_hours']:.3f} GPU-h); "
        f"per 1k requests: base+few-shot ${inference['base_few_shot']['usd']:.4f}, "
        f"fine-tuned ${inference['finetuned']['usd']:.4f}; break-even {when}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Training cost, inference cost and break-even volume.")
    parser.add_argument("--train-metrics", type=Path, default=Path("metrics/train.json"))
    parser.add_argument("--metrics", type=Path, default=Path("metrics/cost.json"))
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    args = parser.parse_args()
    with reported("cost"):
        print("cost: " + summary(main(params_mod.load(args.params), args.train_metrics, args.metrics)))
