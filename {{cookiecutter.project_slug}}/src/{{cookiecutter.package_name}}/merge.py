"""Merge stage: fold the adapter into the base weights and prove the merge changed nothing.

    python -m PACKAGE.merge --trained models/trained --out models/merged --metrics metrics/merge.json

The base is found from what training wrote next to the adapter (`train_info.json`) and loaded
at the precision training used. Logits of the adapter model and of the merged model are compared
on a seeded probe batch, and again after the merged weights are saved and reloaded; a
difference above `merge.atol` fails the stage. A full fine-tune is re-saved and checked the same way.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from . import params as params_mod
from .base import resolve
from .jsonl import write_json
from .train import INFO


class MergeError(RuntimeError):
    pass


def _logits(model, ids):
    import torch

    with torch.no_grad():
        return model(input_ids=ids).logits.float()


def main(p: params_mod.MergeParams, trained: Path, out: Path, metrics: Path) -> dict:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    start = time.time()
    info = json.loads((trained / INFO).read_text())
    dtype = getattr(torch, info["dtype"])
    tokenizer = AutoTokenizer.from_pretrained(trained)
    generator = torch.Generator().manual_seed(0)
    probe = torch.randint(0, len(tokenizer), (p.probe_size, 32), generator=generator)
    name, revision = resolve(Path(info["base_dir"]))
    base = AutoModelForCausalLM.from_pretrained(name, revision=revision, dtype=dtype)
    base_logits = _logits(base, probe)
    if info["method"] == "full":
        merged = AutoModelForCausalLM.from_pretrained(trained, dtype=dtype)
        reference = _logits(merged, probe)
    else:
        adapted = PeftModel.from_pretrained(base, trained)
        reference = _logits(adapted, probe)
        merged = adapted.merge_and_unload()
    merged_diff = (_logits(merged, probe) - reference).abs().max().item()
    merged.save_pretrained(out)
    tokenizer.save_pretrained(out)
    reloaded = AutoModelForCausalLM.from_pretrained(out, dtype=dtype)
    reload_diff = (_logits(reloaded, probe) - reference).abs().max().item()
    effect = (reference - base_logits).abs().max().item()
    report = {
        "method": info["method"],
        "dtype": info["dtype"],
        "max_abs_logit_diff": merged_diff,
        "max_abs_logit_diff_after_reload": reload_diff,
        "max_abs_logit_change_vs_base": round(effect, 4),
        "atol": p.atol,
        "seconds": round(time.time() - start, 2),
    }
    write_json(metrics, report)
    worst = max(merged_diff, reload_diff)
    if worst > p.atol:
        raise MergeError(
            f"merged model's logits differ from the trained model's by {worst:.2e} > merge.atol={p.atol}; "
            f"the adapter in {trained} may be corrupt or was trained on another base"
        )
    if effect == 0.0:
        raise MergeError(f"the model in {trained} gives exactly the base model's logits: nothing was trained")
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Merge the adapter into the base and verify it.")
    parser.add_argument("--trained", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--metrics", type=Path, required=True)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    args = parser.parse_args()
    try:
        r = main(params_mod.load(args.params).merge, args.trained, args.out, args.metrics)
    except (params_mod.ParamsError, MergeError) as e:
        sys.exit(f"merge: {e}")
    print(f"merge: {r['method']} verified, max |logit diff| {r['max_abs_logit_diff']:.1e}")
