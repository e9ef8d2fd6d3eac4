"""Generation: a model and its tokenizer loaded for answering, and batched answers to chat prompts.

Batched generation with left padding through the model's chat template, greedy unless
`evaluate.do_sample`, prompts batched by length; `stopped` says whether the answer ended with the
end-of-turn token. Used by the replay, baseline and generate stages and by train's checkpoint
selection; what an answer is worth is judged elsewhere (scoring.judged).
"""

from __future__ import annotations

from collections.abc import Callable

from ..threads import set_threads

SANE_CONTEXT = 10_000_000  # tokenizers without a limit report 1e30


def load(name: str, revision: str | None, seed: int, stage: str = ""):
    """(model, tokenizer) on the GPU when there is one, in eval mode, with torch's CPU threads set
    for the model's size (threads.py)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(name, revision=revision)
    if tokenizer.pad_token is None:  # e.g. Llama 3: batched generation needs a pad token
        tokenizer.pad_token = tokenizer.eos_token
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = AutoModelForCausalLM.from_pretrained(name, revision=revision).to(device).eval()
    set_threads(model.num_parameters(), stage)
    return model, tokenizer


def prompt_fits(model, tokenizer, max_new_tokens: int) -> Callable[[list[dict]], bool]:
    """Whether a prompt plus the answer's token budget fits the model's context window."""
    limits = [tokenizer.model_max_length, getattr(model.config, "max_position_embeddings", None)]
    context = min((n for n in limits if n and n < SANE_CONTEXT), default=None)

    def fits(messages: list[dict]) -> bool:
        if context is None:
            return True
        text = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        # verbose=False: measuring a prompt that is too long is the point, not a mistake to warn of
        ids = tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"]
        return len(ids) + max_new_tokens <= context

    return fits


def generate(
    model,
    tokenizer,
    prompts: list[list[dict]],
    max_new_tokens: int,
    batch_size: int,
    settings: dict | None = None,
    progress=None,
) -> list[dict]:
    """One answer per prompt, in the prompts' order. Prompts are batched by length (longest first,
    so a memory problem shows at once): a batch pads to its own longest prompt, and a short prompt
    never waits behind a long one's padding. The KV cache is generate's default."""
    import torch

    side, tokenizer.padding_side = tokenizer.padding_side, "left"
    texts = [tokenizer.apply_chat_template(m, add_generation_prompt=True, tokenize=False) for m in prompts]
    lengths = [len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]]
    order = sorted(range(len(prompts)), key=lambda i: -lengths[i])
    answers: list[dict | None] = [None] * len(prompts)
    try:
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            batch = tokenizer(
                [texts[i] for i in chunk], add_special_tokens=False, padding=True, return_tensors="pt"
            )
            with torch.no_grad():
                out = model.generate(
                    **batch.to(model.device), max_new_tokens=max_new_tokens, **(settings or {})
                )
            for i, row in zip(chunk, out[:, batch["input_ids"].shape[1] :].tolist(), strict=True):
                stopped = tokenizer.eos_token_id in row
                row = row[: row.index(tokenizer.eos_token_id)] if stopped else row
                answers[i] = {"text": tokenizer.decode(row, skip_special_tokens=True), "stopped": stopped}
            if progress is not None:
                progress.update(len(chunk))
    finally:
        tokenizer.padding_side = side
    return answers
