"""The probe batch that train and merge both run: predictions a merged model must reproduce.

Train writes what the trained model predicts on a seeded batch of token ids next to what it
saves (probe.safetensors: the top-k logits at every position and the logits' scale); merge
compares the reloaded adapter and the merged model with it. Errors are relative to the scale,
max |logit|, so one tolerance serves a tiny float32 model and a 7B one in bfloat16, and a
damaged tensor, an adapter on another base or a botched merge shows as a large relative error
or as top-1 predictions that differ.
"""

from __future__ import annotations

from pathlib import Path

PROBE_FILE = "probe.safetensors"
ROWS, LENGTH = 8, 32  # a batch of 8 rows of 32 random token ids
TOP_K = 8


def batch(vocab_size: int):
    import torch

    generator = torch.Generator().manual_seed(0)
    return torch.randint(0, vocab_size, (ROWS, LENGTH), generator=generator)


def logits(model, ids):
    import torch

    with torch.no_grad():
        return model(input_ids=ids.to(model.device)).logits.float().cpu()


def summary(full) -> dict:
    """What is kept of (rows, LENGTH, vocab) logits: top-k values and ids, and the scale."""
    top = full.topk(TOP_K, dim=-1)
    return {
        "values": top.values.contiguous(),
        "indices": top.indices.contiguous(),
        "scale": full.abs().amax(),
    }


def compare(full, reference: dict, rtol: float) -> dict:
    """max |logits - reference| / scale over the reference's top-k ids; and how often the top
    token is the same where the reference's lead over the runner-up is larger than 2 * rtol *
    scale. Elsewhere rounding alone may swap two near-tied tokens (random ids make many ties)."""
    picked = full.gather(-1, reference["indices"])
    rel = ((picked - reference["values"]).abs().amax() / reference["scale"]).item()
    lead = reference["values"][..., 0] - reference["values"][..., 1]
    decisive = lead > 2 * rtol * reference["scale"]
    same = full.argmax(-1) == reference["indices"][..., 0]
    top1 = same[decisive].float().mean().item() if decisive.any() else 1.0
    return {"max_rel_diff": rel, "top1_agreement": top1, "decisive_positions": int(decisive.sum())}


def save(path: Path, full) -> None:
    from safetensors.torch import save_file

    save_file({k: v.reshape(-1) if k == "scale" else v for k, v in summary(full).items()}, path / PROBE_FILE)


def load(path: Path) -> dict | None:
    """The probe summary train saved in `path`; None when there is none (e.g. an FSDP run)."""
    from safetensors.torch import load_file

    file = path / PROBE_FILE
    if not file.exists():
        return None
    reference = load_file(file)
    reference["scale"] = reference["scale"][0]
    return reference
