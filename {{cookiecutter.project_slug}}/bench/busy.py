"""The demo's heavy steps alone and beside CPU-bound neighbours: the slowdown a busy machine causes.

    python bench/busy.py                       # pretraining steps of the embedded model
    python bench/busy.py --stages train merge  # also these stages (dvc repro --force --single-item)

A CI runner or a laptop is rarely idle. Each step runs once on an idle machine, then again beside
one busy-looping process per core; the ratio is the slowdown (the goal: 1.5x or less). With
`--torch-default` the steps run with torch's own thread count instead of the project's choice
(`threads.py`), to see what that choice saves. Stages need a project that ran `dvc repro` once.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

PRETRAIN = """
import sys, tempfile
from dataclasses import replace
from pathlib import Path
from {package}.model import embedded
from {package}.params import EmbeddedParams
p = replace(EmbeddedParams(), pretrain_steps=int(sys.argv[1]))
with tempfile.TemporaryDirectory() as out:
    embedded.build(p, Path(out), log=lambda line: None)
"""


def package() -> str:
    return next(d.name for d in os.scandir("src") if d.is_dir() and not d.name.endswith(".egg-info"))


def timed(cmd: list[str], env: dict) -> float:
    start = time.monotonic()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.monotonic() - start


def beside_neighbours(cmd: list[str], env: dict, n: int) -> float:
    loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
    try:
        return timed(cmd, env)
    finally:
        for loop in loops:
            loop.kill()
            loop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100, help="pretraining steps of the embedded model")
    parser.add_argument("--stages", nargs="*", default=[], help="dvc stages to time as well")
    parser.add_argument("--neighbours", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--torch-default", action="store_true", help="torch's thread count, not threads.py's")
    args = parser.parse_args()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": "src"}
    if args.torch_default:  # threads.py reads these first; the core count is torch's default
        env["OMP_NUM_THREADS"] = str(len(os.sched_getaffinity(0)))
    pretrain = [sys.executable, "-c", PRETRAIN.format(package=package()), str(args.steps)]
    steps = {f"base: {args.steps} pretraining steps": pretrain}
    steps |= {stage: ["dvc", "repro", "--force", "--single-item", stage] for stage in args.stages}
    print(f"| step | idle s | beside {args.neighbours} busy loops s | slowdown |")
    print("|---|---|---|---|")
    for name, cmd in steps.items():
        idle = timed(cmd, env)
        busy = beside_neighbours(cmd, env, args.neighbours)
        print(f"| {name} | {idle:.1f} | {busy:.1f} | {busy / idle:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
