"""The embedded base model: a tiny Llama with a byte-level BPE tokenizer, built offline.

It stands in for a Hub model so the whole pipeline runs with no network: the `base` stage calls
`build(...)`, which trains a tokenizer, initialises a `LlamaForCausalLM` and briefly pre-trains it
on generic chat skills (copy a string, count, compare numbers, small talk). None of those skills
is a demo task, so the base model scores ~0 on the demo and fine-tuning has something to teach.
The result loads with `AutoTokenizer` / `AutoModelForCausalLM` exactly like a downloaded model.
"""

from __future__ import annotations

import math
import random
import time
from importlib import resources
from pathlib import Path

from ..params.base import EmbeddedParams
from ..progress import Progress
from ..threads import set_threads

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
WORDS = (
    "the a of and to in is it you that was for on are with as his they be at one have this from "
    "or had by word but what some we can out other were all there when up use your how said an "
    "each she which do their time if will way about many then them write would like so these her "
    "long make thing see him two has look more day could go come did number sound no most people "
    "my over know water than call first who may down side been now find any new work part take "
    "get place made live where after back little only round man year came show every good me "
    "give our under name very through just form sentence great think say help low line differ "
    "turn cause much mean before move right boy old too same tell does set three want air well "
    "also play small end put home read hand port large spell add even land here must big high "
    "such follow act why ask men change went light kind off need house picture try us again "
    "animal point mother world near build self earth father head stand own page should country "
    "file host server report level scan result safe value check email address domain network "
    "user login secure alert ticket log update system data request answer question please thanks"
).split()
SYLLABLES = "ka lo mi nu ser vex tor zan pix qua rel dom shor ty kill cod net hub cdn api".split()


def chat_template() -> str:
    return resources.files(__package__).joinpath("chat_template.jinja").read_text()


def _token(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.45:
        return rng.choice(WORDS)
    if kind < 0.65:
        return str(rng.randint(0, 9999))
    if kind < 0.85:
        parts = ["".join(rng.sample(SYLLABLES, rng.randint(1, 3))) for _ in range(rng.randint(2, 3))]
        return rng.choice([".", "-", "_", "/"]).join(parts)
    return ".".join(str(rng.randint(1, 254)) for _ in range(4))


def pretext_conversation(rng: random.Random) -> list[dict]:
    """One generic chat turn. Skills, not tasks: the demo's behaviours are absent on purpose."""
    task = rng.choice([0, 0, 0, 0, 1, 2, 3, 4])  # copying is the hardest skill: give it half
    if task == 0:
        text = " ".join(_token(rng) for _ in range(rng.randint(1, 6)))
        user, answer = rng.choice(["Repeat exactly: ", "Say back: ", "Echo "]) + text, text
    elif task == 1:
        n = rng.randint(0, 999)
        user, answer = rng.choice(["What comes after {}?", "Next number after {}"]).format(n), str(n + 1)
    elif task == 2:
        a, b = rng.sample(range(0, 100), 2)
        user, answer = f"Which is larger, {a} or {b}?", str(max(a, b))
    elif task == 3:
        words = [rng.choice(WORDS) for _ in range(rng.randint(2, 5))]
        user, answer = "First word of: " + " ".join(words), words[0]
    else:
        name = rng.choice(WORDS).capitalize()
        user, answer = rng.choice(["Hi, I am {}.", "Hello! My name is {}."]).format(name), f"Hello {name}!"
    messages = [{"role": "user", "content": user}, {"role": "assistant", "content": answer}]
    if rng.random() < 0.5:
        messages.insert(0, {"role": "system", "content": "You are a helpful assistant."})
    return messages


def build_tokenizer(corpus: list[str], vocab_size: int):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # every byte encodable: no <unk>
    )
    tok.train_from_iterator(corpus, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",  # end of turn: generation stops here
        pad_token="<|endoftext|>",
        chat_template=chat_template(),
        model_max_length=256,
    )


def _batches(examples: list[dict], batch_size: int, pad_id: int, rng: random.Random):
    import torch

    while True:
        rng.shuffle(examples)
        for i in range(0, len(examples) - batch_size + 1, batch_size):
            chunk = examples[i : i + batch_size]
            width = max(len(e["input_ids"]) for e in chunk)
            ids = torch.full((batch_size, width), pad_id)
            labels = torch.full((batch_size, width), -100)
            mask = torch.zeros((batch_size, width), dtype=torch.long)
            for row, e in enumerate(chunk):
                n = len(e["input_ids"])
                ids[row, :n] = torch.tensor(e["input_ids"])
                mask[row, :n] = 1
                labels[row, :n] = torch.tensor(
                    [t if m else -100 for t, m in zip(e["input_ids"], e["assistant_masks"], strict=True)]
                )
            yield ids, mask, labels


def build(p: EmbeddedParams, out: Path, log=print) -> dict:
    """Build, pre-train and save the tiny model to `out`; return training facts for the metrics."""
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    rng = random.Random(p.seed)
    torch.manual_seed(p.seed)
    conversations = [pretext_conversation(rng) for _ in range(p.pretrain_examples)]
    corpus = [m["content"] for c in conversations for m in c]
    tokenizer = build_tokenizer(corpus, p.vocab_size)
    examples = [
        tokenizer.apply_chat_template(c, tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
        for c in conversations
    ]
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=p.hidden_size,
        intermediate_size=p.intermediate_size,
        num_hidden_layers=p.num_hidden_layers,
        num_attention_heads=p.num_attention_heads,
        num_key_value_heads=p.num_attention_heads,
        max_position_embeddings=p.max_position_embeddings,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.convert_tokens_to_ids("<|im_start|>"),
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = LlamaForCausalLM(config)
    set_threads(sum(t.numel() for t in model.parameters()), "base")
    optim = torch.optim.AdamW(model.parameters(), lr=p.pretrain_lr, weight_decay=0.01)
    warmup = p.pretrain_steps // 20

    def lr_at(step: int) -> float:  # linear warm-up, cosine decay to lr/10
        if step < warmup:
            return p.pretrain_lr * (step + 1) / warmup
        progress = (step - warmup) / max(1, p.pretrain_steps - warmup)
        return p.pretrain_lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))

    batches = _batches(examples, p.pretrain_batch_size, tokenizer.pad_token_id, rng)
    start, loss = time.time(), torch.tensor(float("nan"))
    progress = Progress(
        "base: pretraining steps",
        p.pretrain_steps,
        every=30.0,
        log=lambda line: log(f"{line}, loss {loss.item():.4f}"),
    )
    model.train()
    for step in range(p.pretrain_steps):
        ids, mask, labels = next(batches)
        for group in optim.param_groups:
            group["lr"] = lr_at(step)
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optim.step()
        optim.zero_grad(set_to_none=True)
        progress.update()
    progress.finish()
    model.eval()
    model.generation_config = GenerationConfig(
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, do_sample=False
    )
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return {
        "parameters": sum(t.numel() for t in model.parameters()),
        "vocab_size": len(tokenizer),
        "pretrain_final_loss": round(loss.item(), 4),
        "pretrain_seconds": round(time.time() - start, 1),
    }
