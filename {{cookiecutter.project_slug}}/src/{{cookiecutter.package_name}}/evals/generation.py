"""Answers of one model to eval items, judged by each item's check, with progress in the log.

Batched generation with left padding through the model's chat template, greedy unless
`evaluate.do_sample`; `stopped` says whether the answer ended with the end-of-turn token.
Consistency samples each prompt K more times and measures how often the answers agree.
Each set logs done/total, elapsed and ETA (progress.Progress).
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable

from .. import params as params_mod
from ..progress import Progress
from .checks import judge
from .scoring import normalize_answer, summarize
from .toolcalls import tool_key

SANE_CONTEXT = 10_000_000  # tokenizers without a limit report 1e30


def load(name: str, revision: str | None, seed: int):
    """(model, tokenizer) on the GPU when there is one, in eval mode."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(seed)
    tokenizer = AutoTokenizer.from_pretrained(name, revision=revision)
    if tokenizer.pad_token is None:  # e.g. Llama 3: batched generation needs a pad token
        tokenizer.pad_token = tokenizer.eos_token
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = AutoModelForCausalLM.from_pretrained(name, revision=revision).to(device).eval()
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
    model, tokenizer, prompts: list[list[dict]], p: params_mod.EvaluateParams, sample=False, progress=None
) -> list[dict]:
    import torch

    tokenizer.padding_side = "left"
    if sample:  # the consistency runs
        settings = {"do_sample": True, "temperature": p.consistency.temperature}
    else:
        settings = {"do_sample": p.do_sample, **({"temperature": p.temperature} if p.do_sample else {})}
    answers = []
    for i in range(0, len(prompts), p.batch_size):
        batch = tokenizer.apply_chat_template(
            prompts[i : i + p.batch_size],
            add_generation_prompt=True,
            tokenize=True,
            padding=True,
            return_tensors="pt",
            return_dict=True,
        )
        with torch.no_grad():
            out = model.generate(**batch.to(model.device), max_new_tokens=p.max_new_tokens, **settings)
        for row in out[:, batch["input_ids"].shape[1] :].tolist():
            stopped = tokenizer.eos_token_id in row
            row = row[: row.index(tokenizer.eos_token_id)] if stopped else row
            answers.append({"text": tokenizer.decode(row, skip_special_tokens=True), "stopped": stopped})
        if progress is not None:
            progress.update(len(out))
    return answers


def consistency(
    model, tokenizer, prompts: list[list[dict]], p: params_mod.EvaluateParams, label: str
) -> dict:
    """Answer each prompt K times with sampling: how often do the answers agree?"""
    progress = Progress(f"{label} consistency", total=len(prompts) * p.consistency.samples)
    runs = [
        generate(model, tokenizer, prompts, p, sample=True, progress=progress)
        for _ in range(p.consistency.samples)
    ]
    progress.finish()
    modal_shares, all_agree = [], 0
    for answers in zip(*runs, strict=True):
        counts = Counter(normalize_answer(a["text"]) for a in answers)
        top = counts.most_common(1)[0][1]
        modal_shares.append(top / len(answers))
        all_agree += top == len(answers)
    n = max(1, len(modal_shares))
    return {
        "samples": p.consistency.samples,
        "temperature": p.consistency.temperature,
        "agreement": round(sum(modal_shares) / n, 4),
        "all_agree_rate": round(all_agree / n, 4),
    }


def answer_set(
    model,
    tokenizer,
    items: list[dict],
    prompts: list[list[dict]],
    p: params_mod.EvaluateParams,
    label: str,
    with_consistency: bool,
) -> tuple[dict, list[dict]]:
    """(summary, per-item results) of one model on one eval set; `label` is "model/set"."""
    model_label, set_name = label.split("/", 1)
    progress = Progress(f"evaluate: {label}", total=len(prompts))
    answers = generate(model, tokenizer, prompts, p, progress=progress)
    progress.finish()
    results = []
    for item, prompt, answer in zip(items, prompts, answers, strict=True):
        reference = item["messages"][-1]["content"]
        passed, reason, detail = judge(item["check"], answer["text"], reference, p.refusal_patterns)
        if reason == "regex_timeout":  # the pattern, not the model, is wrong: say which item to fix
            print(f"evaluate: {label} item {item['id']}: {detail}", file=sys.stderr)
        results.append(
            {
                "model": model_label,
                "set": set_name,
                "id": item["id"],
                "request": prompt[-1]["content"],
                "bucket": item["meta"].get("bucket"),
                "risk": item["meta"].get("risk"),
                "check": item["check"]["type"],
                "tool": tool_key(item["check"]),
                "reference": reference,
                "prediction": answer["text"],
                "stopped": answer["stopped"],
                "passed": passed,
                "reason": reason,
                "detail": detail,
            }
        )
    summary = summarize(results)
    summary["stopped_rate"] = round(sum(r["stopped"] for r in results) / max(1, len(results)), 4)
    if with_consistency and p.consistency.samples >= 2 and prompts:
        summary["consistency"] = consistency(model, tokenizer, prompts, p, f"evaluate: {label}")
    return summary, results
