"""How many CPU threads torch uses in a stage, chosen from the size of the model it works on.

    threads.set_threads(sum(t.numel() for t in model.parameters()))

A small model gains nothing from threads and loses most to oversubscription: every tiny matmul
waits at a barrier for a thread that another process has descheduled. Measured beside two
CPU-bound neighbours on 2 cores, 10-30 pretraining steps took this long with torch's default
(2 threads) vs one thread: 0.46 M parameters 59.4 s vs 9.5 s, 5.8 M 65.4 s vs 22.2 s, 22 M
82.2 s vs 72.1 s. So one thread below `ONE_THREAD_BELOW` parameters, every usable core above it
(a 135 M+ model is matmul-bound, where threads pay). `OMP_NUM_THREADS` (or `MKL_NUM_THREADS`),
when set, always wins: it is how a user or a CI runner says what the machine can spare. The
choice is logged once, to the stage's log file (chatter.py), not to the console.
"""

from __future__ import annotations

import logging
import os

ONE_THREAD_BELOW = 100_000_000  # parameters; one thread was still faster at 22 M beside other work
# `accelerate launch` sets OMP_NUM_THREADS in the process it starts, to 1 on a machine without a
# GPU unless told otherwise: the train stage's command passes the user's own value under this name.
BEFORE_LAUNCH = "OMP_NUM_THREADS_BEFORE_LAUNCH"
_chosen: int | None = None


def cores() -> int:
    """The cores this process may run on (a container's CPU set, not the host's)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def choose(parameters: int | None, env: dict[str, str] | None = None) -> tuple[int, str]:
    """The thread count for a model of `parameters` (None: unknown, so every core) and why."""
    env = os.environ if env is None else env
    if BEFORE_LAUNCH in env:  # under `accelerate launch`: its OMP_NUM_THREADS is its own default
        env = {**env, "OMP_NUM_THREADS": env[BEFORE_LAUNCH]}
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if env.get(name, "").strip().isdigit() and int(env[name]) > 0:
            return int(env[name]), f"{name}={env[name]}"
    if parameters is not None and parameters < ONE_THREAD_BELOW:
        return 1, f"{parameters / 1e6:.1f} M parameters < {ONE_THREAD_BELOW / 1e6:.0f} M"
    local = env.get("LOCAL_WORLD_SIZE", "1")  # processes on this machine share its cores
    processes = int(local) if local.isdigit() and int(local) > 0 else 1
    why = "every usable core" + (f" for {parameters / 1e6:.0f} M parameters" if parameters else "")
    return max(1, cores() // processes), why + (f", shared by {processes} processes" if processes > 1 else "")


def set_threads(parameters: int | None, stage: str = "") -> int:
    """Set torch's intra-op threads for this process; log the choice once (logs/<stage>.log)."""
    global _chosen
    import torch

    n, why = choose(parameters)
    torch.set_num_threads(n)
    if n != _chosen:
        prefix = f"{stage}: " if stage else ""
        logging.getLogger(__package__).info(f"{prefix}{n} CPU thread{'s' if n > 1 else ''} ({why})")
        _chosen = n
    return n
