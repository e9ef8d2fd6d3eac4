"""The embedded base model and the merge check, on a model small enough to build in seconds."""

import dataclasses
import json

import pytest

from conftest import TINY
from {{ cookiecutter.package_name }} import lineage, merge
from {{ cookiecutter.package_name }}.params.base import (
    BaseParams,
)
from {{ cookiecutter.package_name }}.params.merge import (
    MergeParams,
)

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


def _adapter(base_dir, tmp_path, init, dtype="float32", probe=True):
    """A LoRA adapter as train leaves it: weights, tokenizer, train_info.json and the probe."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from {{ cookiecutter.package_name }}.model import probe as probe_mod

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(base_dir, dtype=getattr(torch, dtype))
    peft_model = get_peft_model(model, LoraConfig(r=4, target_modules="all-linear", init_lora_weights=init))
    trained = tmp_path / "trained"
    peft_model.save_pretrained(trained)
    tokenizer = AutoTokenizer.from_pretrained(base_dir)
    tokenizer.save_pretrained(trained)
    if probe:
        probe_mod.save(trained, probe_mod.logits(peft_model.eval(), probe_mod.batch(len(tokenizer))))
    revision = lineage.read_base(base_dir)["revision"]
    info = {"method": "lora", "dtype": dtype, "base_dir": str(base_dir), "base_revision": revision}
    (trained / "train_info.json").write_text(json.dumps(info))
    return trained


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_merge_matches_the_trained_model_and_reloads(base_dir, tmp_path, dtype):
    trained = _adapter(base_dir, tmp_path, init=False, dtype=dtype)  # random, non-zero LoRA weights
    report = merge.main(MergeParams(), trained, tmp_path / "merged", tmp_path / "merge.json")
    rtol = MergeParams().rtol if dtype == "float32" else MergeParams().rtol_half
    for check in ("vs_training", "merged", "reloaded"):
        assert report[check]["max_rel_diff"] <= rtol and report[check]["top1_agreement"] >= 0.9, check
    assert report["rtol"] == rtol and report["max_rel_change_vs_base"] > 0
    assert (tmp_path / "merged" / "model.safetensors").exists()
    assert json.loads((tmp_path / "merge.json").read_text()) == report


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_merge_refuses_a_damaged_adapter(base_dir, tmp_path, dtype):
    from safetensors.torch import load_file, save_file

    trained = _adapter(base_dir, tmp_path, init=False, dtype=dtype)
    weights = load_file(trained / "adapter_model.safetensors")
    name = sorted(k for k in weights if "lora_B" in k)[0]
    weights[name] = weights[name] * 100  # finite, loads fine, predicts something else
    save_file(weights, trained / "adapter_model.safetensors")
    with pytest.raises(merge.MergeError, match="the saved trained model against its predictions at the end"):
        merge.main(MergeParams(), trained, tmp_path / "merged", tmp_path / "merge.json")


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_merge_refuses_an_adapter_trained_on_another_base(base_dir, tmp_path, dtype):
    from {{ cookiecutter.package_name }} import base

    trained = _adapter(base_dir, tmp_path, init=False, dtype=dtype)
    other = tmp_path / "other-base"  # same architecture and tokenizer, other weights
    base.main(BaseParams(embedded=dataclasses.replace(TINY, seed=1)), other, tmp_path / "base.json")
    info = json.loads((trained / "train_info.json").read_text())
    claimed = {**info, "base_dir": str(other), "base_revision": lineage.read_base(other)["revision"]}
    (trained / "train_info.json").write_text(json.dumps(claimed))
    with pytest.raises(merge.MergeError, match="against its predictions at the end of training"):
        merge.main(MergeParams(), trained, tmp_path / "merged", tmp_path / "merge.json")

    (trained / "train_info.json").write_text(json.dumps({**info, "base_revision": "0" * 64}))
    with pytest.raises(merge.MergeError, match="trained on base revision 000000000000, but"):
        merge.main(MergeParams(), trained, tmp_path / "merged", tmp_path / "merge.json")


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
