"""4-bit loading for QLoRA, and bitsandbytes kept out of every process that does not need it.

peft imports bitsandbytes as soon as it is imported itself, and bitsandbytes then prints
"Failed to load CPU gemm_4bit_forward from kernels-community" on CPUs with AVX-512 bf16. Only
QLoRA uses bitsandbytes (merge loads QLoRA's base in 16/32 bits), so `keep_out()`, called by a
stage's `__main__` before anything imports peft, makes it look uninstalled: peft and
transformers then take their paths without it.
"""

from __future__ import annotations

import sys

NF4 = {"load_in_4bit": True, "bnb_4bit_quant_type": "nf4", "bnb_4bit_use_double_quant": True}


def keep_out() -> None:
    """Make `import bitsandbytes` fail (and find_spec return None) in this process."""
    if "bitsandbytes" not in sys.modules:  # already imported: too late, and harmless to leave
        sys.modules["bitsandbytes"] = None  # type: ignore[assignment]


def bnb_config(section: dict, dtype):
    """transformers.BitsAndBytesConfig from `train.quantization`: NF4 with double quantisation
    unless set otherwise, computing in the training dtype unless `bnb_4bit_compute_dtype` says."""
    import torch
    from transformers import BitsAndBytesConfig

    from ..params.library import config_of

    section = {**NF4, **section}
    compute = section.pop("bnb_4bit_compute_dtype", str(dtype).removeprefix("torch."))
    forced = {"bnb_4bit_compute_dtype": (getattr(torch, compute), "")}
    return config_of(BitsAndBytesConfig, section, "train.quantization", forced=forced)
