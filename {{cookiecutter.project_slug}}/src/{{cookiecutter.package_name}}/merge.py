"""Merge stage: fold the adapter into the base weights and prove the merge changed nothing.

    python -m PACKAGE.merge --trained models/trained --out models/merged --metrics metrics/merge.json

The base is found from what training wrote next to the adapter (`train_info.json`), must be the
revision training used, and is loaded at the precision training used; for QLoRA that is the
16/32-bit base, never the 4-bit weights. On a seeded probe batch (model/probe.py), the trained
model as loaded here is compared with its own predictions at the end of training (which catches
a damaged file or another base), then the merged model and the merged model reloaded from disk
with the trained one. Errors are relative to the logits' scale, so the same check holds for a
tiny model in float32 and a real one in bfloat16: beyond `merge.rtol` (`merge.rtol_half` in
16 bits) or below `merge.min_top1_agreement` the stage fails, as it does on non-finite logits or
on a model that predicts exactly what the base does. A full fine-tune is re-saved and checked
the same way.
A model card (README.md, from registry/cards.py) next to the weights records the base model and
revision, the code commit, the dvc.lock hashes of the data and the adapter, the method, params
and results.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from . import chatter
from .data.jsonl import write_json
from .errors import UserError, reported
from .lineage import commit_description, dvc_lock_outs, read_base, read_train_info, resolve
from .model import probe
from .params import merge as params_mod
from .registry import cards
from .threads import set_threads


class MergeError(UserError):
    """The trained model cannot be merged faithfully; the message says what differs."""


CHECKS = {  # what merge compares with the trained model's own logits
    "vs_training": "the saved trained model against its predictions at the end of training",
    "merged": "the merged model",
    "reloaded": "the merged model reloaded from disk",
}


def tolerance(p: params_mod.MergeParams, dtype: str) -> float:
    return p.rtol if dtype == "float32" else p.rtol_half  # merged 16-bit weights round differently


def check(name: str, found: dict, p: params_mod.MergeParams, dtype: str, trained: Path) -> None:
    """Fail when `found` (compare() of the merged model with a reference) is beyond the tolerances."""
    rtol = tolerance(p, dtype)
    if not (found["max_rel_diff"] <= rtol and found["top1_agreement"] >= p.min_top1_agreement):  # NaN fails
        raise MergeError(
            f"{name}: logits differ by {found['max_rel_diff']:.2e} of their scale (merge.rtol"
            f"{'' if dtype == 'float32' else '_half'} {rtol}), top-1 agreement {found['top1_agreement']:.3f} "
            f"(merge.min_top1_agreement {p.min_top1_agreement}); the model in {trained} may be corrupt "
            "or was trained on another base"
        )


def load_trained(info: dict, trained: Path, base):
    """The trained model as training left it: the adapter on the base, or the full weights."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    try:
        if info["method"] == "full":
            return AutoModelForCausalLM.from_pretrained(trained, dtype=base.dtype)
        return PeftModel.from_pretrained(base, trained)  # QLoRA's too: onto the 16/32-bit base
    except Exception as e:  # a truncated or garbled file, shapes of another base: say which model
        raise MergeError(
            f"cannot load the trained model in {trained} onto base {info['base_dir']}: {e}"
        ) from e


def main(p: params_mod.MergeParams, trained: Path, out: Path, metrics: Path) -> dict:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    start = time.time()
    info = read_train_info(trained)
    base_dir = Path(info["base_dir"])
    now = read_base(base_dir)["revision"]
    if info.get("base_revision", now) != now:
        raise MergeError(
            f"{trained} was trained on base revision {info['base_revision'][:12]}, but {base_dir} "
            f"is now {now[:12]}: train again on this base (dvc repro)"
        )
    tokenizer = AutoTokenizer.from_pretrained(trained)
    ids = probe.batch(len(tokenizer))
    name, revision = resolve(base_dir)
    base = AutoModelForCausalLM.from_pretrained(name, revision=revision, dtype=getattr(torch, info["dtype"]))
    set_threads(base.num_parameters(), "merge")
    base_logits = probe.logits(base, ids)
    adapted = load_trained(info, trained, base)
    reference = probe.logits(adapted, ids)
    if not torch.isfinite(reference).all():
        raise MergeError(f"the trained model in {trained} gives non-finite logits: its weights are corrupt")
    at_training, rtol = probe.load(trained), tolerance(p, info["dtype"])
    report = {"method": info["method"], "dtype": info["dtype"]}
    if at_training is not None:  # what the model predicted in memory, before it was saved
        report["vs_training"] = probe.compare(reference, at_training, rtol)
    merged = adapted.merge_and_unload() if info["method"] != "full" else adapted
    report["merged"] = probe.compare(probe.logits(merged, ids), probe.summary(reference), rtol)
    merged.save_pretrained(out)
    tokenizer.save_pretrained(out)
    reloaded = AutoModelForCausalLM.from_pretrained(out, dtype=merged.dtype)
    report["reloaded"] = probe.compare(probe.logits(reloaded, ids), probe.summary(reference), rtol)
    effect = (reference - base_logits).abs().amax()
    report |= {
        "max_rel_change_vs_base": round((effect / base_logits.abs().amax()).item(), 4),
        "rtol": rtol,
        "min_top1_agreement": p.min_top1_agreement,
        "seconds": round(time.time() - start, 1),
    }
    write_json(metrics, report)
    outs = {path: md5 for path, md5 in dvc_lock_outs().items() if path.startswith(("data", "models"))}
    card = cards.merged_card(info, read_base(base_dir), commit_description(), outs, report)
    (out / "README.md").write_text(card, encoding="utf-8")
    for key, what in CHECKS.items():
        if key in report:
            check(what, report[key], p, info["dtype"], trained)
    if effect.item() == 0.0:
        raise MergeError(f"the model in {trained} gives exactly the base model's logits: nothing was trained")
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Merge the adapter into the base and verify it.")
    parser.add_argument("--trained", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--metrics", type=Path, required=True)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    args = parser.parse_args()
    with reported("merge"):
        chatter.to_log("merge")
        from .model.quantization import keep_out

        keep_out()  # merge never loads 4-bit weights: no bitsandbytes, no warnings from it
        r = main(params_mod.load(args.params), args.trained, args.out, args.metrics)
    print(f"merge: {r['method']} verified, logits within {r['merged']['max_rel_diff']:.1e} of their scale")
