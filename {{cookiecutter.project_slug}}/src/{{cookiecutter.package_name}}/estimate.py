"""Will it fit? Memory and time estimates for full fine-tuning, LoRA and QLoRA, before spending money.

    python -m PACKAGE.estimate --params-count 7e9 --trainable-share 0.005 --tokens 2e7

The train stage prints this for the model it is about to train and writes it to
metrics/train.json. Rules of thumb, per parameter, with AdamW (two fp32 moments) and mixed
precision: full fine-tuning ~16 bytes (bf16 weights and gradients, fp32 master weights and
moments); LoRA ~2 bytes for the frozen bf16 base plus ~16 per trainable adapter parameter;
QLoRA ~0.55 bytes for the 4-bit NF4 base (with quantisation constants) plus the same adapter
cost. Activations are extra and grow with batch size x sequence length; the estimate adds a
margin rather than pretending to know them.
"""

from __future__ import annotations

import argparse

GIB = 1024**3
BASE_BYTES = {"full": 16.0, "lora": 2.0, "qlora": 0.55}  # per base parameter
TRAINABLE_BYTES = 16.0  # per trainable parameter: bf16 weight + grad, fp32 master + 2 Adam moments
ACTIVATION_MARGIN = 1.2  # +20% for activations, buffers and fragmentation at modest batch sizes
FLOPS_PER_TOKEN = 6  # forward + backward per parameter per token (full); the classic 6N


def estimate(
    params: int,
    trainable: int,
    method: str,
    tokens_per_epoch: int,
    epochs: float = 1.0,
    gpu_tflops: float = 100.0,
) -> dict:
    """GiB of accelerator memory and hours of compute at `gpu_tflops` sustained, for one method."""
    if method not in BASE_BYTES:
        raise ValueError(f"method {method!r} is unknown; expected one of {', '.join(BASE_BYTES)}")
    base = params * BASE_BYTES[method]
    adapter = 0.0 if method == "full" else trainable * TRAINABLE_BYTES
    # LoRA still back-propagates through the frozen base: ~2/3 of full fine-tuning's FLOPs.
    flops = (FLOPS_PER_TOKEN if method == "full" else 4) * params * tokens_per_epoch * epochs
    return {
        "method": method,
        "memory_gib": round((base + adapter) * ACTIVATION_MARGIN / GIB, 3),
        "compute_hours_at_tflops": round(flops / (gpu_tflops * 1e12) / 3600, 4),
    }


def table(params: int, trainable_share: float, tokens_per_epoch: int, epochs: float = 1.0) -> list[dict]:
    trainable = int(params * trainable_share)
    return [
        estimate(params, params if m == "full" else trainable, m, tokens_per_epoch, epochs)
        for m in BASE_BYTES
    ]


def markdown(rows: list[dict]) -> str:
    lines = ["| method | memory (GiB) | compute (h at 100 TFLOP/s) |", "|---|---:|---:|"]
    lines += [f"| {r['method']} | {r['memory_gib']:.2f} | {r['compute_hours_at_tflops']:.3f} |" for r in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Memory and compute estimates per training method.")
    parser.add_argument("--params-count", type=float, required=True, help="base model parameters, e.g. 7e9")
    parser.add_argument("--trainable-share", type=float, default=0.005, help="LoRA share of trainable params")
    parser.add_argument("--tokens", type=float, required=True, help="training tokens per epoch")
    parser.add_argument("--epochs", type=float, default=1.0)
    args = parser.parse_args()
    print(markdown(table(int(args.params_count), args.trainable_share, int(args.tokens), args.epochs)))
