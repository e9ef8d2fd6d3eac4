"""Which tokens carry the SFT loss, for any chat template: the answer and its end-of-turn token.

The train stage (`accelerate launch -m PACKAGE.train ...`) asks `choose(tokenizer, assistant_only)`
for a path and shapes its rows with `path.to_row(messages)`:

  assistant_only         the template has `{% generation %}` markers around the answer and its
                         end-of-turn token: TRL masks every assistant turn with them.
  trl_training_template  TRL ships a marked copy of this exact template (llama3, qwen2_5, gemma,
                         phi3, ...): SFTTrainer swaps it in for tokenizing; the saved tokenizer
                         keeps the original.
  prompt_completion      any other template: rows become {"prompt": all but the last message,
                         "completion": [the last]}, and TRL trains on what the completion adds
                         to the rendered prompt. Only the final assistant turn is trained.
  full_sequence          `train.sft.assistant_only_loss: false`: every token, as asked.

TRL's masks can be a token or two wider than the answer (the "\\n" after ChatML's `<|im_end|>`,
Phi-3's trailing eos, Qwen's "\\n" before the answer); `clip_labels` narrows them to the answer
and its end-of-turn token, which is what the model emits at inference. Templates that refuse a
system message (Gemma, Mistral [INST]) get it folded into the first user turn.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import UserError

PROBE_ANSWER = "Probe answer"


@dataclass(frozen=True)
class LossPath:
    name: str
    assistant_only_loss: bool  # SFTConfig fields this path needs
    completion_only_loss: bool | None  # None: TRL decides from the row format
    fold_system: bool  # the template refuses a system message
    end_of_turn: tuple[int, ...]  # token ids that close an answer; () if the template leaves it open
    trl_template: str | None = None  # trl/chat_templates/<name>.jinja that TRL patched

    def to_row(self, messages: list[dict]) -> dict:
        messages = fold_system(messages) if self.fold_system else messages
        if self.name != "prompt_completion":
            return {"messages": messages}
        if messages[-1]["role"] != "assistant":
            raise UserError("the last message must be the assistant's answer (the training target)")
        return {"prompt": messages[:-1], "completion": messages[-1:]}


def _render(tokenizer, messages: list[dict], template: str | None = None, **kwargs) -> str:
    return tokenizer.apply_chat_template(messages, chat_template=template, tokenize=False, **kwargs)


def end_of_turn_ids(tokenizer, template: str | None = None) -> tuple[int, ...]:
    """The special tokens right after an answer: <|im_end|>, <|eot_id|>, <end_of_turn>, </s>...
    Rendered, not guessed: the eos is often another token (Gemma's <eos>, Phi-3's <|endoftext|>)."""
    messages = [{"role": "user", "content": "Probe question"}, {"role": "assistant", "content": PROBE_ANSWER}]
    text = _render(tokenizer, messages, template)
    after = text.rindex(PROBE_ANSWER) + len(PROBE_ANSWER)
    encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    special = set(tokenizer.get_added_vocab().values())
    closing: list[int] = []
    for token, (start, _) in zip(encoded["input_ids"], encoded["offset_mapping"], strict=True):
        if start < after:
            continue
        if token not in special:
            break  # the first plain token ends the run ("\n" in ChatML)
        closing.append(token)
    return tuple(closing)


def rejects_system(tokenizer) -> bool:
    from jinja2 import TemplateError

    try:
        _render(tokenizer, [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}])
    except TemplateError:
        return True
    return False


def fold_system(messages: list[dict]) -> list[dict]:
    """The system prompt in front of the first user turn: the usual way for templates without one."""
    if len(messages) < 2 or messages[0]["role"] != "system":
        return messages
    system, first, *rest = messages
    return [{**first, "content": f"{system['content']}\n\n{first['content']}"}, *rest]


def trl_template_name(template: str) -> str | None:
    """Which template shipped with TRL this is: TRL matches templates by exact text."""
    import trl

    for path in sorted((Path(trl.__file__).parent / "chat_templates").glob("*.jinja")):
        if not path.stem.endswith("_training") and path.read_text(encoding="utf-8") == template:
            return path.stem
    return None


def choose(tokenizer, assistant_only: bool) -> LossPath:
    from trl.chat_template_utils import (
        get_training_chat_template,
        has_generation_markers,
        is_chat_template_stop_token_trained,
    )

    fold, template = rejects_system(tokenizer), tokenizer.chat_template
    if not assistant_only:
        return LossPath("full_sequence", False, False, fold, end_of_turn_ids(tokenizer))
    # Markers that leave the end-of-turn token outside would train answers that never stop.
    if has_generation_markers(template) and is_chat_template_stop_token_trained(tokenizer):
        return LossPath("assistant_only", True, None, fold, end_of_turn_ids(tokenizer))
    if not has_generation_markers(template):
        try:
            training = get_training_chat_template(tokenizer)
        except ValueError:  # TRL has no marked copy of this template
            training = None
        if training and is_chat_template_stop_token_trained(tokenizer, chat_template=training):
            eot = end_of_turn_ids(tokenizer, training)
            return LossPath("trl_training_template", True, None, fold, eot, trl_template_name(template))
    # assistant_only_loss must be off here, or SFTTrainer would look for a TRL template itself and fail.
    return LossPath("prompt_completion", False, True, fold, end_of_turn_ids(tokenizer))


def clip_labels(dataset, tokenizer, path: LossPath):
    """Narrow each trained run of `labels` (!= -100) of an SFTTrainer-prepared dataset to the
    answer and its end-of-turn token: leading whitespace belongs to the role header, and nothing
    after the end-of-turn token is ever generated."""
    if path.name == "full_sequence" or dataset is None:
        return dataset
    stop = list(path.end_of_turn)

    def clip(row: dict) -> dict:
        ids, labels = row["input_ids"], list(row["labels"])
        i = 0
        while i < len(labels):
            if labels[i] == -100:
                i += 1
                continue
            end = i
            while end < len(labels) and labels[end] != -100:
                end += 1
            while i < end and ids[i] not in stop and not tokenizer.decode([ids[i]]).strip():
                labels[i] = -100
                i += 1
            for j in range(i, end - len(stop) + 1):
                if stop and ids[j : j + len(stop)] == stop:
                    labels[j + len(stop) : end] = [-100] * (end - j - len(stop))
                    break
            i = end
        return {"labels": labels}

    return dataset.map(clip, desc="Loss on the answer and its end-of-turn token")


def trained_text(tokenizer, row: dict) -> str:
    """What the loss sees in one prepared row, for the log and the tests."""
    return tokenizer.decode(
        [t for t, label in zip(row["input_ids"], row["labels"], strict=True) if label != -100]
    )
