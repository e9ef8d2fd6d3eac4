"""A GGUF base model: the base stage converts it into a plain Hugging Face directory that predicts
exactly what the original does, with its tokenizer, chat template and lineage.

The GGUF is written here from the tiny embedded model, the way llama.cpp lays out a Llama
(tensor names, q/k rows interleaved per rotary pair, a GPT-2 style BPE vocabulary), so the test
needs no download and can compare against the model the file came from.
"""

import json
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }} import base, lineage
from {{ cookiecutter.package_name }}.errors import UserError
from {{ cookiecutter.package_name }}.model import gguf
from {{ cookiecutter.package_name }}.params.base import (
    BaseParams,
)

pytestmark = pytest.mark.slow
LAYER_TENSORS = {  # GGUF name: transformers name, per layer (q and k are permuted, below)
    "attn_norm": "input_layernorm",
    "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj",
    "ffn_norm": "post_attention_layernorm",
    "ffn_gate": "mlp.gate_proj",
    "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj",
}


def write_gguf(model_dir: Path, path: Path) -> None:
    import gguf as gguf_lib
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model, tokenizer = (
        AutoModelForCausalLM.from_pretrained(model_dir),
        AutoTokenizer.from_pretrained(model_dir),
    )
    c = model.config
    spec = json.loads((model_dir / "tokenizer.json").read_text())
    vocab = sorted(spec["model"]["vocab"].items(), key=lambda item: item[1])
    special = {t["id"] for t in spec["added_tokens"] if t["special"]}
    w = gguf_lib.GGUFWriter(path, "llama")
    w.add_context_length(c.max_position_embeddings)
    w.add_embedding_length(c.hidden_size)
    w.add_block_count(c.num_hidden_layers)
    w.add_feed_forward_length(c.intermediate_size)
    w.add_head_count(c.num_attention_heads)
    w.add_head_count_kv(c.num_key_value_heads)
    w.add_layer_norm_rms_eps(c.rms_norm_eps)
    w.add_rope_freq_base(c.rope_parameters["rope_theta"])
    w.add_vocab_size(c.vocab_size)
    w.add_tokenizer_model("gpt2")
    w.add_token_list([token for token, _ in vocab])
    w.add_token_types([3 if i in special else 1 for _, i in vocab])  # 3: control token
    w.add_token_merges([m if isinstance(m, str) else " ".join(m) for m in spec["model"]["merges"]])
    w.add_bos_token_id(c.bos_token_id)
    w.add_eos_token_id(tokenizer.eos_token_id)
    w.add_pad_token_id(tokenizer.pad_token_id)
    w.add_add_bos_token(False)
    w.add_chat_template(tokenizer.chat_template)
    weights = {k: v.float().numpy() for k, v in model.state_dict().items()}

    def interleaved(x, heads):  # rotary pairs side by side, as llama.cpp stores q and k
        return x.reshape(heads, 2, x.shape[0] // heads // 2, *x.shape[1:]).swapaxes(1, 2).reshape(x.shape)

    w.add_tensor("token_embd.weight", weights["model.embed_tokens.weight"])
    for i in range(c.num_hidden_layers):
        layer = f"model.layers.{i}."
        w.add_tensor(
            f"blk.{i}.attn_q.weight",
            interleaved(weights[layer + "self_attn.q_proj.weight"], c.num_attention_heads),
        )
        w.add_tensor(
            f"blk.{i}.attn_k.weight",
            interleaved(weights[layer + "self_attn.k_proj.weight"], c.num_key_value_heads),
        )
        for name, hf_name in LAYER_TENSORS.items():
            w.add_tensor(f"blk.{i}.{name}.weight", weights[f"{layer}{hf_name}.weight"])
    w.add_tensor("output_norm.weight", weights["model.norm.weight"])  # no output.weight: tied embeddings
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


@pytest.fixture(scope="module")
def tiny_gguf(tiny_base, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("gguf") / "tiny.gguf"
    write_gguf(tiny_base, path)
    return path


def test_a_gguf_becomes_a_plain_model_that_predicts_the_same(tiny_base, tiny_gguf, tmp_path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = tmp_path / "base"
    record = base.main(BaseParams(model=str(tiny_gguf)), out, tmp_path / "base.json")
    assert record["source"] == "gguf" and record["file"] == str(tiny_gguf)
    assert record["revision"] == gguf.sha256(tiny_gguf) and record["converted_sha256"] == lineage.tree_sha256(
        out
    )
    assert lineage.resolve(out) == (str(out), None)
    assert "quantization_config" not in json.loads((out / "config.json").read_text())
    metrics = json.loads((tmp_path / "base.json").read_text())
    assert metrics["max_abs_logit_diff_vs_gguf"] == 0.0 and metrics["seconds"] >= 0

    original, converted = AutoTokenizer.from_pretrained(tiny_base), AutoTokenizer.from_pretrained(out)
    assert converted.chat_template == original.chat_template and converted.eos_token == "<|im_end|>"
    chat = [
        {"role": "user", "content": "Refang hxxp://evil[.]com/x"},
        {"role": "assistant", "content": "evil.com"},
    ]
    ids = original.apply_chat_template(chat, return_tensors="pt", return_dict=True)
    assert converted.apply_chat_template(chat, return_dict=True)["input_ids"] == ids["input_ids"][0].tolist()
    with torch.no_grad():
        want = AutoModelForCausalLM.from_pretrained(tiny_base)(**ids).logits
        got = AutoModelForCausalLM.from_pretrained(out)(**ids).logits
    assert torch.equal(want, got)


def test_converting_again_gives_the_same_bytes(tiny_gguf, tmp_path):
    first = base.main(BaseParams(model=str(tiny_gguf)), tmp_path / "a", tmp_path / "a.json")
    second = base.main(BaseParams(model=str(tiny_gguf)), tmp_path / "b", tmp_path / "b.json")
    assert first == second  # so a re-run of the base stage leaves every later stage up to date


def test_a_missing_or_damaged_gguf_is_refused_naming_the_file(tmp_path):
    with pytest.raises(UserError, match=r"base.model: no GGUF file at .*absent.gguf"):
        base.main(BaseParams(model=str(tmp_path / "absent.gguf")), tmp_path / "x", tmp_path / "x.json")
    damaged = tmp_path / "damaged.gguf"
    damaged.write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(gguf.GgufError, match=r"cannot read .*damaged.gguf"):
        base.main(BaseParams(model=str(damaged)), tmp_path / "y", tmp_path / "y.json")


def test_a_gguf_without_the_suffix_is_known_by_its_first_bytes(tiny_gguf, tmp_path):
    blob = tmp_path / "sha256-6e4c38e1172f"  # how ollama stores a model
    blob.write_bytes(tiny_gguf.read_bytes())
    assert base.gguf_file(str(blob)) == blob
    (tmp_path / "notes").write_text("not a model")
    assert base.gguf_file(str(tmp_path / "notes")) is None


def test_installed_packages_are_searched_for_a_gguf():
    assert gguf.packaged("pytest") is None  # installed, ships no GGUF: then it is not a GGUF model
    assert gguf.packaged("no-such-distribution-here") is None
    assert base.gguf_file("Qwen/Qwen2.5-0.5B-Instruct") is None
    assert base.gguf_file("path/to/model.gguf") == Path("path/to/model.gguf")
