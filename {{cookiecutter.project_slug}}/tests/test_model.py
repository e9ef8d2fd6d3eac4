"""The embedded base model and the merge check, on a model small enough to build in seconds."""

import json

import pytest

from {{ cookiecutter.package_name }} import lineage, merge
from {{ cookiecutter.package_name }}.params import MergeParams

pytestmark = pytest.mark.slow


@pytest.fixture
def base_dir(tiny_base):
    return tiny_base


def test_embedded_model_loads_like_a_hub_model(base_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(base_dir)
    model = AutoModelForCausalLM.from_pretrained(base_dir)
    assert model.config.model_type == "llama"
    assert "{% raw %}{% generation %}{% endraw %}" in tokenizer.chat_template
    record = json.loads((base_dir / "lineage.json").read_text())
    assert record["source"] == "embedded" and len(record["revision"]) == 64
    assert lineage.resolve(base_dir) == (str(base_dir), None)


def test_assistant_mask_covers_the_answer_and_the_end_of_turn_token(base_dir):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(base_dir)
    messages = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "SAFE"}]
    enc = tokenizer.apply_chat_template(
        messages, tokenize=True, return_dict=True, return_assistant_tokens_mask=True
    )
    trained = [t for t, m in zip(enc["input_ids"], enc["assistant_masks"], strict=True) if m]
    assert tokenizer.decode(trained) == "SAFE<|im_end|>"


def _adapter(base_dir, tmp_path, init):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(base_dir)
    peft_model = get_peft_model(model, LoraConfig(r=4, target_modules="all-linear", init_lora_weights=init))
    trained = tmp_path / "trained"
    peft_model.save_pretrained(trained)
    AutoTokenizer.from_pretrained(base_dir).save_pretrained(trained)
    info = {"method": "lora", "dtype": "float32", "base_dir": str(base_dir)}
    (trained / "train_info.json").write_text(json.dumps(info))
    return trained


def test_merge_matches_adapter_logits_and_reloads(base_dir, tmp_path):
    trained = _adapter(base_dir, tmp_path, init=False)  # random, non-zero LoRA weights
    report = merge.main(MergeParams(), trained, tmp_path / "merged", tmp_path / "merge.json")
    assert report["max_abs_logit_diff"] <= 1e-4 and report["max_abs_logit_diff_after_reload"] <= 1e-4
    assert report["max_abs_logit_change_vs_base"] > 0
    assert (tmp_path / "merged" / "model.safetensors").exists()


def test_merge_refuses_an_adapter_that_changes_nothing(base_dir, tmp_path):
    trained = _adapter(base_dir, tmp_path, init=True)  # LoRA B = 0: the base model itself
    with pytest.raises(merge.MergeError, match="nothing was trained"):
        merge.main(MergeParams(), trained, tmp_path / "merged", tmp_path / "merge.json")


def test_curate_counts_tokens_through_the_chat_template(base_dir):
    from transformers import AutoTokenizer

    from {{ cookiecutter.package_name }}.curate import token_counter

    messages = [{"role": "user", "content": "hello there " * 20}, {"role": "assistant", "content": "SAFE"}]
    ids = AutoTokenizer.from_pretrained(base_dir).apply_chat_template(
        messages, tokenize=True, return_dict=False
    )
    assert token_counter(base_dir)(messages) == len(ids) > 40
