"""Base stage: make the base model available and record exactly which one it is.

    python -m PACKAGE.base --out models/base --metrics metrics/base.json

With `base.model: embedded` it builds the tiny offline model into `models/base/`. With a local
directory or a Hub id it copies nothing (multi-GB weights stay out of the DVC cache) and writes
only `lineage.json`: the name and the resolved revision, which dvc.lock then pins for every
later stage; `lineage.resolve()` is how train, merge and evaluate find the base again.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from . import params as params_mod
from .data.jsonl import write_json
from .lineage import LINEAGE, tree_sha256


def hub_revision(model_id: str, revision: str) -> str:
    """The commit a Hub revision points to, from the local cache when offline."""
    from huggingface_hub import snapshot_download

    path = snapshot_download(model_id, revision=revision, allow_patterns=["*.json"])
    return Path(path).name  # snapshots/<commit>


def main(p: params_mod.BaseParams, out: Path, metrics: Path) -> dict:
    start = time.time()
    facts: dict = {}
    if p.model == "embedded":
        from .model import embedded

        facts = embedded.build(p.embedded, out)
        lineage = {"source": "embedded", "model": "embedded", "revision": tree_sha256(out)}
    elif Path(p.model).is_dir():
        model_dir = Path(p.model).resolve()
        lineage = {"source": "local", "model": str(model_dir), "revision": tree_sha256(model_dir)}
    else:
        lineage = {"source": "hub", "model": p.model, "revision": hub_revision(p.model, p.revision)}
    write_json(out / LINEAGE, lineage)
    write_json(metrics, {**lineage, **facts, "seconds": round(time.time() - start, 1)})
    return lineage


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Build or resolve the base model.")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--metrics", type=Path, required=True)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    args = parser.parse_args()
    try:
        result = main(params_mod.load(args.params).base, args.out, args.metrics)
    except params_mod.ParamsError as e:
        sys.exit(f"base: {e}")
    print(f"base: {result['model']} @ {result['revision'][:12]}")
