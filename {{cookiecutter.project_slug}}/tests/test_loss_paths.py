"""Whatever the chat template, the loss covers exactly the final answer and its end-of-turn token.

Each case gives a small byte-level BPE tokenizer a real model family's chat template and special
tokens (single tokens, as in the real models), lets SFTTrainer prepare the rows as it would for
training, and decodes the tokens whose label is not -100.
"""

from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.model import embedded, loss_paths

pytestmark = pytest.mark.slow

# Written with \x7b for "{" where Jinja opens a block or an expression, so that the baked test file
# holds no Jinja of its own (tests of the template check that none is left over after baking).
# SmolLM2-Instruct's ChatML: a default system prompt when there is none, "\n" after every <|im_end|>.
SMOLLM2 = (
    "\x7b% for message in messages %}"
    "\x7b% if loop.first and messages[0]['role'] != 'system' %}"
    "\x7b{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face"
    "<|im_end|>\n' }}"
    "\x7b% endif %}"
    "\x7b{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "\x7b% endfor %}"
    "\x7b% if add_generation_prompt %}\x7b{ '<|im_start|>assistant\n' }}\x7b% endif %}"
)
# Mistral-Instruct style: no system role, strict alternation, answers end with </s>. TRL has no copy.
MISTRAL = (
    "\x7b{ bos_token }}\x7b% for message in messages %}"
    "\x7b% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "\x7b{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
    "\x7b% endif %}"
    "\x7b% if message['role'] == 'user' %}\x7b{ '[INST] ' + message['content'] + ' [/INST]' }}"
    "\x7b% elif message['role'] == 'assistant' %}\x7b{ message['content'] + eos_token }}"
    "\x7b% else %}\x7b{ raise_exception('Only user and assistant roles are supported!') }}"
    "\x7b% endif %}\x7b% endfor %}"
)
CHATML = ["<|im_start|>", "<|im_end|>", "<|endoftext|>"]
BOT, EOT = "<|begin_of_text|>", "<|eot_id|>"
LLAMA3 = [BOT, "<|start_header_id|>", "<|end_header_id|>", EOT]


def trl_template(name: str) -> str:
    import trl

    return (Path(trl.__file__).parent / "chat_templates" / f"{name}.jinja").read_text(encoding="utf-8")


# name: (template, special tokens, bos, eos, end of turn, expected path)
CASES = {
    "project": (embedded.chat_template(), CHATML, None, "<|im_end|>", "<|im_end|>", "assistant_only"),
    "smollm2": (SMOLLM2, CHATML, None, "<|im_end|>", "<|im_end|>", "prompt_completion"),
    "llama3": (trl_template("llama3"), LLAMA3, BOT, EOT, EOT, "trl_training_template"),
    "llama3_1": (trl_template("llama3_1"), LLAMA3, BOT, EOT, EOT, "prompt_completion"),
    "qwen2_5": (trl_template("qwen2_5"), CHATML, None, "<|im_end|>", "<|im_end|>", "trl_training_template"),
    "gemma": (
        trl_template("gemma"), ["<bos>", "<eos>", "<start_of_turn>", "<end_of_turn>"], "<bos>", "<eos>",
        "<end_of_turn>", "trl_training_template",
    ),
    "phi3": (
        trl_template("phi3"), ["<|system|>", "<|user|>", "<|assistant|>", "<|end|>", "<|endoftext|>"], None,
        "<|endoftext|>", "<|end|>", "trl_training_template",
    ),
    "mistral": (MISTRAL, ["<s>", "</s>"], "<s>", "</s>", "</s>", "prompt_completion"),
}  # fmt: skip
ROWS = [  # the project's data has a system prompt; other data may not
    [
        {"role": "system", "content": "Answer SAFE or UNSAFE."},
        {"role": "user", "content": "Is water safe?"},
        {"role": "assistant", "content": "SAFE"},
    ],
    [{"role": "user", "content": "Is poison safe?"}, {"role": "assistant", "content": "UNSAFE"}],
]


def make_tokenizer(template: str, specials: list[str], bos: str | None, eos: str):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    corpus = [f"user {i} asks whether thing {i % 7} is SAFE or UNSAFE; answer briefly." for i in range(300)]
    bpe = trainers.BpeTrainer(
        vocab_size=400, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(corpus, trainer=bpe)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=bos, eos_token=eos, pad_token=eos, chat_template=template
    )


def trained(tokenizer, path: loss_paths.LossPath, rows: list[list[dict]]) -> list[str]:
    """The decoded loss tokens of each row, after SFTTrainer's preparation and clip_labels."""
    import tempfile

    from datasets import Dataset
    from transformers import LlamaConfig, LlamaForCausalLM
    from trl import SFTConfig, SFTTrainer

    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
        num_attention_heads=2, num_key_value_heads=2,
    )  # fmt: skip
    with tempfile.TemporaryDirectory() as out:
        args = SFTConfig(
            output_dir=out, use_cpu=True, report_to="none", max_length=128,
            assistant_only_loss=path.assistant_only_loss, completion_only_loss=path.completion_only_loss,
        )  # fmt: skip
        data = Dataset.from_list([path.to_row(m) for m in rows])
        model = LlamaForCausalLM(config)
        trainer = SFTTrainer(model, args=args, train_dataset=data, processing_class=tokenizer)
    prepared = loss_paths.clip_labels(trainer.train_dataset, tokenizer, path)
    return [loss_paths.trained_text(tokenizer, row) for row in prepared]


@pytest.mark.parametrize("name", list(CASES))
def test_loss_on_the_final_answer_and_its_end_of_turn(name):
    template, specials, bos, eos, eot, expected = CASES[name]
    tokenizer = make_tokenizer(template, specials, bos, eos)
    path = loss_paths.choose(tokenizer, assistant_only=True)
    assert path.name == expected
    assert path.end_of_turn == (tokenizer.convert_tokens_to_ids(eot),)
    assert path.trl_template == (name if expected == "trl_training_template" else None)
    assert path.fold_system == (name in ("gemma", "mistral"))
    assert trained(tokenizer, path, ROWS) == [f"SAFE{eot}", f"UNSAFE{eot}"]


def test_assistant_paths_train_every_turn_prompt_completion_the_last():
    rows = [
        [
            {"role": "user", "content": "a?"},
            {"role": "assistant", "content": "SAFE"},
            {"role": "user", "content": "b?"},
            {"role": "assistant", "content": "UNSAFE"},
        ]
    ]
    for name, expected in (("llama3", "SAFE<|eot_id|>UNSAFE<|eot_id|>"), ("smollm2", "UNSAFE<|im_end|>")):
        template, specials, bos, eos, _, _ = CASES[name]
        tokenizer = make_tokenizer(template, specials, bos, eos)
        assert trained(tokenizer, loss_paths.choose(tokenizer, assistant_only=True), rows) == [expected]


def test_every_token_when_assistant_only_loss_is_off():
    template, specials, bos, eos, _, _ = CASES["smollm2"]
    tokenizer = make_tokenizer(template, specials, bos, eos)
    path = loss_paths.choose(tokenizer, assistant_only=False)
    assert path.name == "full_sequence"
    assert trained(tokenizer, path, ROWS[1:]) == [tokenizer.apply_chat_template(ROWS[1], tokenize=False)]


def test_markers_that_leave_out_the_end_of_turn_fall_back_to_prompt_completion():
    """TRL only warns when <|im_end|> is outside the block: the model would never learn to stop."""
    template = embedded.chat_template().replace(
        "<|im_end|>\x7b% endgeneration %}", "\x7b% endgeneration %}<|im_end|>"
    )
    tokenizer = make_tokenizer(template, CHATML, None, "<|im_end|>")
    path = loss_paths.choose(tokenizer, assistant_only=True)
    assert path.name == "prompt_completion"
    assert trained(tokenizer, path, ROWS) == ["SAFE<|im_end|>", "UNSAFE<|im_end|>"]


def test_a_row_without_a_final_answer_is_refused_by_prompt_completion():
    template, specials, bos, eos, _, _ = CASES["smollm2"]
    path = loss_paths.choose(make_tokenizer(template, specials, bos, eos), assistant_only=True)
    with pytest.raises(loss_paths.UserError, match="last message must be the assistant's answer"):
        path.to_row([{"role": "user", "content": "hi"}])


def test_fold_system_moves_the_system_prompt_into_the_first_user_turn():
    folded = loss_paths.fold_system(ROWS[0])
    assert folded == [
        {"role": "user", "content": "Answer SAFE or UNSAFE.\n\nIs water safe?"},
        {"role": "assistant", "content": "SAFE"},
    ]
    assert loss_paths.fold_system(ROWS[1]) == ROWS[1]
