"""Checkpoints that may be resumed, and the totals of a run that was.

Checkpoints go to checkpoints/train, stamped with a fingerprint of the params, the data and the
base model: a re-run resumes only from checkpoints of the same training. After a resume the
trainer's own `training_loss` covers only the steps since the checkpoint, so `totals` combines
the logged losses up to the checkpoint with it; tokens seen come from the trainer state, which
the checkpoint carries (`include_num_input_tokens_seen`).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from ..data.jsonl import read_json


def fingerprint(params: dict, files: list[Path], base_revision: str) -> str:
    """What a checkpoint was made from: resuming from any other run would be silently wrong."""
    digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode() + base_revision.encode())
    for file in files:
        if file.exists():
            digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()


def prepare_checkpoints(output_dir: Path, mark: str) -> None:
    """Keep checkpoints only if they come from the same training."""
    stamp = output_dir / "fingerprint.txt"
    if output_dir.exists() and (not stamp.exists() or stamp.read_text() != mark):
        shutil.rmtree(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    stamp.write_text(mark)


def checkpoint_state(checkpoint: str | None) -> dict:
    """global_step and num_input_tokens_seen of the checkpoint a run resumed from (zeros if none)."""
    if not checkpoint:
        return {"global_step": 0, "num_input_tokens_seen": 0}
    state = read_json(Path(checkpoint) / "trainer_state.json")
    return {k: state.get(k, 0) for k in ("global_step", "num_input_tokens_seen")}


def mean_train_loss(history: list[dict], run_loss: float, resumed_at: int, final_step: int) -> float:
    """Mean loss per step over the whole training. Logged losses are means over their logging
    interval; exact when checkpoints fall on logging steps (save_steps a multiple of logging_steps)."""
    if not resumed_at:
        return run_loss
    weighted = covered = last = 0
    for h in history:
        if "loss" in h and h["step"] <= resumed_at:
            weighted += h["loss"] * (h["step"] - last)
            covered, last = covered + h["step"] - last, h["step"]
    steps = final_step - resumed_at
    return (weighted + run_loss * steps) / max(1, covered + steps)
