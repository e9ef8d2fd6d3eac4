"""Merge stage: fold the adapter into the base weights and prove the merge changed nothing.

    python -m PACKAGE.merge --trained models/trained --out models/merged --metrics metrics/merge.json

The base is found from what training wrote next to the adapter (`train_info.json`) and loaded
at the precision training used; for QLoRA that is the 16/32-bit base, never the 4-bit weights.
Logits of the adapter model and of the merged model are compared on a seeded probe batch, and
again after the merged weights are saved and reloaded; a difference above `merge.atol` fails
the stage. A full fine-tune is re-saved and checked the same way.
A model card (README.md) next to the weights records the base model and revision, the code
commit, the dvc.lock hashes of the data and the adapter, the method, params and results.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import yaml

from . import params as params_mod
from .data.jsonl import write_json
from .lineage import commit_description, dvc_lock_outs, read_base, read_train_info, resolve


class MergeError(RuntimeError):
    pass


def _logits(model, ids):
    import torch

    with torch.no_grad():
        return model(input_ids=ids).logits.float()


def model_card(info: dict, merge_report: dict) -> str:
    """Markdown with Hugging Face model-card front matter: where this model came from."""
    lineage = read_base(Path(info["base_dir"]))
    rows = "".join(
        f"| `{path}` | `{md5}` |\n"
        for path, md5 in dvc_lock_outs().items()
        if path.startswith(("data", "models"))
    )
    results = info.get("results", {})
    return f"""---
base_model: {lineage["model"]}
base_model_revision: {lineage["revision"]}
library_name: transformers
tags: [fine-tuned, {info["method"]}]
---
# Fine-tuned model (merged)

Fine-tuned from **{lineage["model"]}** at revision `{lineage["revision"]}` with **{info["method"]}**,
trained and merged in **{info["dtype"]}**. Code at commit `{commit_description()}`.

## Lineage (dvc.lock)

| output | md5 |
|---|---|
{rows}
## Training

- final train loss {results.get("train_loss")}, validation loss {results.get("eval_loss")}
- DPO: {json.dumps(results.get("dpo") or "not run")}
- merge check: max |merged - adapter| logit difference {merge_report["max_abs_logit_diff"]:.2e}
  (tolerance {merge_report["atol"]})

```yaml
{yaml.safe_dump(info.get("params", {}), sort_keys=False).strip()}
```

Evaluation per bucket and risk tier: `metrics/evaluate.json` and `reports/evaluate/report.md` of
the same commit; a released version's full record is `releases/<version>.json`.
"""


def main(p: params_mod.MergeParams, trained: Path, out: Path, metrics: Path) -> dict:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    start = time.time()
    info = read_train_info(trained)
    dtype = getattr(torch, info["dtype"])
    tokenizer = AutoTokenizer.from_pretrained(trained)
    generator = torch.Generator().manual_seed(0)
    probe = torch.randint(0, len(tokenizer), (p.probe_size, 32), generator=generator)
    name, revision = resolve(Path(info["base_dir"]))
    base = AutoModelForCausalLM.from_pretrained(name, revision=revision, dtype=dtype)
    base_logits = _logits(base, probe)
    try:
        if info["method"] == "full":
            merged = AutoModelForCausalLM.from_pretrained(trained, dtype=dtype)
            reference = _logits(merged, probe)
        else:  # for QLoRA too: into the 16/32-bit base, not into 4-bit weights
            adapted = PeftModel.from_pretrained(base, trained)
            reference = _logits(adapted, probe)
            merged = adapted.merge_and_unload()
    except Exception as e:  # a truncated or garbled file, shapes of another base: say which model
        raise MergeError(f"cannot load the trained model in {trained} onto base {name}: {e}") from e
    if not torch.isfinite(reference).all():
        raise MergeError(f"the trained model in {trained} gives non-finite logits: its weights are corrupt")
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
        "atol": p.atol if dtype == torch.float32 else p.atol_half,
        "seconds": round(time.time() - start, 2),
    }
    write_json(metrics, report)
    (out / "README.md").write_text(model_card(info, report), encoding="utf-8")
    worst = max(merged_diff, reload_diff)
    atol = p.atol if dtype == torch.float32 else p.atol_half  # merged bf16 weights round differently
    if not worst <= atol:  # NaN fails too
        raise MergeError(
            f"merged model's logits differ from the trained model's by {worst:.2e} > {atol} "
            f"(merge.atol{'' if dtype == torch.float32 else '_half'}); "
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
