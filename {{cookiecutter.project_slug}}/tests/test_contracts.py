"""params.yaml, dvc.yaml and the code agree with each other."""

import ast
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


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        (
            "curate:\n  pii:\n    policy: redcat\n",
            "curate.pii.policy: 'redcat' is not a choice; expected one of: redact",
        ),
        ("curate:\n  near_dup:\n    action: kepp\n", "curate.near_dup.action: 'kepp' is not a choice"),
        ("curate:\n  format: alpacaa\n", "curate.format: 'alpacaa' is not a choice"),
        (
            "train:\n  method: qlor\n",
            "train.method: 'qlor' is not a choice; expected one of: lora, qlora, full",
        ),
        (
            "curate:\n  near_dup:\n    threshold: 1.5\n",
            r"curate.near_dup.threshold must be in \(0, 1\], got 1.5",
        ),
        ("evaluate:\n  refusal_patterns: [1]\n", r"evaluate.refusal_patterns\[0\]: expected str, got 1"),
        (
            "evaluate:\n  gate:\n    min_pass_rate_by_risk: {critical: high}\n",
            "min_pass_rate_by_risk.critical: expected float",
        ),
    ],
)
def test_a_bad_value_is_refused_naming_its_key(tmp_path, yaml_text, message):
    bad = tmp_path / "params.yaml"
    bad.write_text(yaml_text)
    with pytest.raises(params.ParamsError, match=message):
        params.load(bad)


def test_one_name_per_stage_everywhere():
    sections = {f.name for f in dataclasses.fields(params.Params)}
    assert list(STAGES) == ["base", "curate", "split", "decontaminate", "train", "merge", "evaluate", "cost"]
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
        produced += _paths(stage.get("outs")) + _paths(stage.get("metrics"))  # cost reads train's metrics


def test_library_sections_use_the_library_field_names():
    from peft import LoraConfig
    from transformers import BitsAndBytesConfig
    from trl import DPOConfig, SFTConfig

    from {{ cookiecutter.package_name }}.training.configs import config_fields

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


PACKAGE = ROOT / "src" / "{{ cookiecutter.package_name }}"


def _module_file(dotted: str) -> Path | None:
    path = PACKAGE.joinpath(*dotted.split(".")) if dotted else PACKAGE
    if (path / "__init__.py").exists():
        return path / "__init__.py"
    return path.with_suffix(".py") if path.with_suffix(".py").exists() else None


def _imports(file: Path) -> set[Path]:
    """Package modules that `file` imports, at module level or inside functions."""
    here = file.parent.relative_to(PACKAGE).parts
    found = set()
    for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.ImportFrom) or not node.level:
            continue
        anchor = list(here[: len(here) - node.level + 1])
        module = ".".join(anchor + (node.module.split(".") if node.module else []))
        for candidate in [module] + [f"{module}.{a.name}".lstrip(".") for a in node.names]:
            target = _module_file(candidate)
            if target is not None:
                found.add(target)
    return found


def _closure(file: Path) -> set[Path]:
    seen, todo = set(), [file]
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo += _imports(current)
    return seen


def test_no_stage_imports_another_stage():
    for name in STAGES:
        imported = {f.stem for f in _imports(PACKAGE / f"{name}.py") if f.parent == PACKAGE}
        assert not imported & (set(STAGES) - {name}), f"stage {name} imports another stage: {imported}"


def test_every_module_a_stage_runs_is_in_its_deps():
    # A module missing from deps means editing it leaves that stage's results stale.
    for name, stage in STAGES.items():
        deps = set(_paths(stage["deps"]))
        needed = {
            str(f.relative_to(ROOT)) for f in _closure(PACKAGE / f"{name}.py") if f.name != "__init__.py"
        }
        assert needed <= deps, f"stage {name}: add to deps in dvc.yaml: {sorted(needed - deps)}"


def test_package_init_files_hold_only_a_docstring():
    # They are imported by every stage but left out of deps: that is safe only while they hold no code.
    for init in PACKAGE.rglob("__init__.py"):
        body = ast.parse(init.read_text(encoding="utf-8")).body
        assert len(body) == 1 and isinstance(body[0], ast.Expr), init
