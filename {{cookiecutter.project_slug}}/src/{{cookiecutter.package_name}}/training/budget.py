"""Will it fit? Memory and time estimates for full fine-tuning, LoRA and QLoRA, before spending money.

The train stage writes `estimate()` for the model it is about to train to metrics/train.json;
`python -m PACKAGE.estimate` prints it for any model. Rules of thumb, per parameter, with AdamW
(two fp32 moments) and mixed precision: full fine-tuning ~16 bytes (bf16 weights and gradients,
fp32 master weights and moments); LoRA ~2 bytes for the frozen bf16 base plus ~16 per trainable
adapter parameter; QLoRA ~0.55 bytes for the 4-bit NF4 base (with quantisation constants) plus
the same adapter cost. Activations are extra and grow with batch size x sequence length; the
estimate adds a margin rather than pretending to know them.

`decision_table()` is the comparison that docs/decide.md embeds (a test keeps the two equal): for
four reference architectures, GPU memory to train, GPU-hours, what each version adds to storage
and what serving costs on top of the base model.
"""

from __future__ import annotations

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


# Reference architectures (hidden, intermediate, layers, key/value width, total parameters).
REFERENCE_MODELS = {
    "Qwen2.5-0.5B": (896, 4864, 24, 128, 494_032_768),
    "Llama-3.2-1B": (2048, 8192, 16, 512, 1_235_814_400),
    "Llama-3.2-3B": (3072, 8192, 28, 1024, 3_212_749_824),
    "Llama-3.1-8B": (4096, 14336, 32, 1024, 8_030_261_248),
}
TABLE_RANK = 16  # LoRA r on every linear layer of the blocks ("all-linear")
TABLE_TOKENS = 10_000_000  # per epoch: e.g. 20k conversations of 500 tokens
TABLE_EPOCHS = 3
ADAPTER_BYTES = 4  # PEFT keeps trainable adapter weights in float32


def lora_parameters(hidden: int, intermediate: int, layers: int, kv: int, r: int = TABLE_RANK) -> int:
    """Trainable LoRA parameters: r x (fan-in + fan-out) for q, k, v, o, gate, up and down."""
    shapes = [(hidden, hidden), (hidden, kv), (hidden, kv), (hidden, hidden)] + [(hidden, intermediate)] * 3
    return layers * r * sum(a + b for a, b in shapes)


def _size(n_bytes: float) -> str:
    return f"{n_bytes / GIB:.1f} GiB" if n_bytes >= GIB else f"{n_bytes / 2**20:.0f} MiB"


def decision_table() -> str:
    """Markdown: per reference model and method, memory, compute, storage and serving overhead."""
    serve = {
        "full": "none: a new set of weights",
        "lora": "none merged; unmerged {} and a little latency per request",
        "qlora": "none merged into 16-bit; served 4-bit: less memory, lower quality",
    }
    workload = f"{TABLE_EPOCHS} x {TABLE_TOKENS / 1e6:.0f}M tokens at 100 TFLOP/s"
    lines = [
        f"| model | method | trainable | GPU memory (GiB) | GPU-hours ({workload}) "
        "| storage per version | inference overhead |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for name, (hidden, intermediate, layers, kv, total) in REFERENCE_MODELS.items():
        adapter = lora_parameters(hidden, intermediate, layers, kv)
        for method in BASE_BYTES:
            trainable = total if method == "full" else adapter
            row = estimate(total, trainable, method, TABLE_TOKENS, TABLE_EPOCHS)
            stored = total * 2 if method == "full" else adapter * ADAPTER_BYTES  # bf16 weights / fp32 adapter
            lines.append(
                f"| {name} | {method} | {trainable / 1e6:,.1f}M | {row['memory_gib']:.1f} "
                f"| {row['compute_hours_at_tflops']:.2f} | {_size(stored)} | "
                + serve[method].format(_size(adapter * 2))
                + " |"
            )
    return "\n".join(lines)
