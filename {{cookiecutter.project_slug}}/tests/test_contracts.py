"""params.yaml, dvc.yaml and the code agree with each other."""

import dataclasses
from pathlib import Path

import pytest
import yaml

from {{ cookiecutter.package_name }} import params

ROOT = Path(__file__).resolve().parents[1]
DVC = yaml.safe_load((ROOT / "dvc.yaml").read_text())
STAGES = DVC["stages"]
CROSS_SECTION_KEYS = {"curate": {"train.sft.max_length"}}  # curate's "too long" is train's limit


def _paths(entries):
    return [next(iter(e)) if isinstance(e, dict) else e for e in entries or []]


def test_params_yaml_loads_into_the_dataclasses():
    p = params.load(ROOT / "params.yaml")
    assert p.split.train + p.split.val + p.split.test == pytest.approx(1.0)
    assert p.train.method in ("lora", "full")


def test_unknown_key_fails_with_its_name(tmp_path):
    bad = tmp_path / "params.yaml"
    bad.write_text("split:\n  seeed: 1\n")
    with pytest.raises(
        params.ParamsError, match=r"params.yaml: split: unknown key 'seeed'; expected one of: seed"
    ):
        params.load(bad)


def test_wrong_type_fails_with_the_key(tmp_path):
    bad = tmp_path / "params.yaml"
    bad.write_text("decontaminate:\n  ngram: eight\n")
    with pytest.raises(params.ParamsError, match=r"decontaminate.ngram: expected int, got 'eight'"):
        params.load(bad)


def test_one_name_per_stage_everywhere():
    sections = {f.name for f in dataclasses.fields(params.Params)}
    assert list(STAGES) == ["base", "curate", "split", "decontaminate", "train", "merge", "evaluate"]
    for name, stage in STAGES.items():
        assert stage["params"][0] == name  # each stage reads its own section ...
        assert set(stage["params"][1:]) <= CROSS_SECTION_KEYS.get(name, set())  # ... and named keys
        assert name in sections
        assert f"{{ cookiecutter.package_name }}.{name} " in stage["cmd"]
        assert _paths(stage["metrics"]) == [f"metrics/{name}.json"]


def test_every_dependency_is_shipped_or_produced_upstream():
    produced = []
    for name, stage in STAGES.items():
        for dep in _paths(stage.get("deps")):
            upstream = any(dep == out or dep.startswith(out + "/") for out in produced)
            assert upstream or (ROOT / dep).exists(), (
                f"stage {name}: dep {dep} is neither shipped nor produced"
            )
        produced += _paths(stage.get("outs"))


def test_library_sections_use_the_library_field_names():
    from peft import LoraConfig
    from transformers import BitsAndBytesConfig
    from trl import DPOConfig, SFTConfig

    from {{ cookiecutter.package_name }}.train import config_fields

    p = params.load(ROOT / "params.yaml")
    assert set(p.train.sft) <= config_fields(SFTConfig)
    assert set(p.train.lora) <= config_fields(LoraConfig)
    assert set(p.train.quantization) <= config_fields(BitsAndBytesConfig)
    assert set(p.train.dpo.config) <= config_fields(DPOConfig)
    assert "bnb_4bit_quant_type" in config_fields(BitsAndBytesConfig)  # not a dataclass: __init__ params


def test_every_launcher_has_an_accelerate_config():
    names = {f.stem for f in (ROOT / "configs" / "accelerate").glob("*.yaml")}
    assert params.load(ROOT / "params.yaml").train.launcher in names
    assert names == {"single", "cpu_ddp", "multi_gpu", "fsdp", "deepspeed_zero3"}
