"""params.yaml, dvc.yaml and the code agree with each other."""

import ast
import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from {{ cookiecutter.package_name }}.params import sections as params

ROOT = Path(__file__).resolve().parents[1]
DVC = yaml.safe_load((ROOT / "dvc.yaml").read_text())
STAGES = DVC["stages"]
CROSS_SECTION_KEYS = {
    "curate": {"train.sft.max_length"},  # curate's "too long" is train's limit
    "train": {"evaluate.default_check", "evaluate.refusal_patterns"},  # val judged as evaluate judges
}
# The answering stages read evaluate's generation keys, so that the base and the fine-tuned model
# answer under the same settings; the judging and gate keys are evaluate's alone.
ANSWERING = {"baseline": "evaluate", "generate": "evaluate"}


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
    assert list(STAGES) == [
        "base", "curate", "split", "decontaminate", "replay", "train", "merge", "baseline", "generate",
        "evaluate", "cost",
    ]  # fmt: skip
    for name, stage in STAGES.items():
        if name in ANSWERING:
            assert all(key.startswith(ANSWERING[name] + ".") for key in stage["params"]), name
            assert not {"evaluate.gate", "evaluate.refusal_patterns", "evaluate.judge"} & set(stage["params"])
            assert f"{{ cookiecutter.package_name }}.{name} " in stage["cmd"]
            assert _paths(stage["metrics"]) == [f"metrics/{name}.json"]
            continue
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

    from {{ cookiecutter.package_name }}.params.library import (
        TRL_MAX_LENGTH,
        config_fields,
    )

    p = params.load(ROOT / "params.yaml")
    assert set(p.train.sft) <= config_fields(SFTConfig)
    assert set(p.train.lora) <= config_fields(LoraConfig)
    assert set(p.train.quantization) <= config_fields(BitsAndBytesConfig)
    assert set(p.train.dpo.config) <= config_fields(DPOConfig)
    assert "bnb_4bit_quant_type" in config_fields(BitsAndBytesConfig)  # not a dataclass: __init__ params
    assert SFTConfig.__dataclass_fields__["max_length"].default == TRL_MAX_LENGTH  # said once, here


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


def test_every_package_import_names_a_module_that_exists():
    # Imports inside functions run only when the function does: a renamed module must fail here.
    for file in PACKAGE.rglob("*.py"):
        here = file.parent.relative_to(PACKAGE).parts
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level:
                anchor = list(here[: len(here) - node.level + 1])
                module = ".".join(anchor + (node.module.split(".") if node.module else []))
                assert _module_file(module) is not None, (
                    f"{file.relative_to(ROOT)}:{node.lineno}: no module {module}"
                )


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


def test_a_stage_imports_only_its_own_params_section():
    # Editing a review or release knob's code must not re-run the pipeline from base.
    for name in STAGES:
        own = ANSWERING.get(name, name)  # the answering stages read evaluate's generation keys
        sections = {f.stem for f in _closure(PACKAGE / f"{name}.py") if f.parent.name == "params"}
        assert sections <= {"__init__", "loader", "library", own}, f"stage {name} imports params {sections}"


def test_a_stage_checks_only_its_own_section_and_the_check_command_the_whole_file(tmp_path):
    from {{ cookiecutter.package_name }}.params import (
        split,
    )

    bad = tmp_path / "params.yaml"
    bad.write_text("split:\n  seed: 7\nrelease:\n  min_consistency: lots\n")
    assert split.load(bad).seed == 7  # a bad release knob does not stop split
    with pytest.raises(params.ParamsError, match=r"release.min_consistency: expected float, got 'lots'"):
        params.load(bad)
    check = [sys.executable, "-m", params.__package__]  # python -m PACKAGE.params: what make check runs
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}  # the package, installed or not
    run = subprocess.run([*check, str(bad)], capture_output=True, text=True, env=env)
    assert run.returncode == 1 and run.stdout == ""
    assert run.stderr.strip().splitlines() == [
        f"params: {bad}: release.min_consistency: expected float, got 'lots'"
    ]
    assert subprocess.run([*check, str(ROOT / "params.yaml")], env=env).returncode == 0


def test_curate_reads_its_declared_cross_key_and_checks_it(tmp_path):
    from {{ cookiecutter.package_name }}.params import (
        curate,
    )

    path = tmp_path / "params.yaml"
    path.write_text("train:\n  sft:\n    max_length: 256\n")
    assert curate.max_length(path) == 256
    path.write_text("train:\n  sft:\n    max_length: long\n")
    with pytest.raises(params.ParamsError, match=r"train.sft.max_length: expected a positive int, got 'lo"):
        curate.max_length(path)


SHARED = {"chatter", "errors", "lineage", "progress", "threads"}  # top-level modules every layer may use


def _top_level_imports(file: Path) -> set[str]:
    return {f.stem for f in _imports(file) if f.parent == PACKAGE and f.name != "__init__.py"}


def test_helpers_never_import_a_stage_or_a_command():
    # Layers point down: stages and commands -> helpers (the subpackages) -> shared modules.
    for file in PACKAGE.glob("*/*.py"):
        wrong = _top_level_imports(file) - SHARED
        assert not wrong, f"{file.relative_to(PACKAGE)} imports the stage or command {sorted(wrong)}"
    for name in SHARED:
        wrong = _top_level_imports(PACKAGE / f"{name}.py") - SHARED
        assert not wrong, f"{name}.py is shared by every layer but imports {sorted(wrong)}"


@pytest.mark.parametrize(
    ("helper", "never"),
    [
        ("data", {"evals", "views", "model", "training", "registry", "human"}),  # rows come first
        ("params", {"data", "evals", "views", "model", "training", "registry", "human"}),
        ("evals", {"views"}),  # judging answers never depends on how they are shown
    ],
)
def test_helper_packages_point_one_way(helper, never):
    for file in (PACKAGE / helper).glob("*.py"):
        used = {f.relative_to(PACKAGE).parts[0] for f in _imports(file) if f.parent != PACKAGE}
        assert not used & never, f"{file.relative_to(PACKAGE)} imports {sorted(used & never)}"


def test_module_names_do_not_collide():
    # One name, one module: params/<section>.py alone shares its stage's name, by design.
    seen: dict[str, Path] = {}
    for file in sorted(PACKAGE.rglob("*.py")):
        if file.stem in {"__init__", "__main__"} or file.parent.name == "params":
            continue
        other = seen.get(file.stem, file)
        assert other == file, f"{file.relative_to(PACKAGE)} and {other.relative_to(PACKAGE)} share a name"
        seen[file.stem] = file


@pytest.mark.parametrize(
    ("section", "knob", "message"),
    [
        ("sft", "learning_rate: -1.0e-4", r"train.sft.learning_rate must be a number > 0, got -0.0001"),
        ("sft", "num_train_epochs: twelve", "train.sft.num_train_epochs must be a number > 0, got 'twelve'"),
        ("sft", "learning_rate: 2e-4", r"got '2e-4' \(YAML reads 2e-4 as text: write 0.0002\)"),
        ("sft", "per_device_eval_batch_size: 0", "sft.per_device_eval_batch_size must be an int >= 1, got 0"),
        ("sft", "max_steps: 2.5", "train.sft.max_steps must be an int >= -1, got 2.5"),
        ("lora", "r: true", r"train.lora.r must be an int >= 1, got True"),
        ("lora", "lora_dropout: 1.5", r"train.lora.lora_dropout must be a number in \[0, 1\], got 1.5"),
        ("dpo", "config:\n      beta: 0", "train.dpo.config.beta must be a number > 0, got 0"),
    ],
)
def test_a_bad_library_knob_is_refused_at_load_naming_its_key(tmp_path, section, knob, message):
    # Before any model is loaded: trl and peft would only fail deep inside the train stage.
    from {{ cookiecutter.package_name }}.params import train

    bad = tmp_path / "params.yaml"
    bad.write_text(f"train:\n  {section}:\n    {knob}\n")
    with pytest.raises(params.ParamsError, match=message):
        train.load(bad)


def test_a_yaml_mistake_is_one_line_with_file_line_and_column(tmp_path):
    bad = tmp_path / "params.yaml"
    bad.write_text("split:\n  seed: 1\n\ttrain: 0.8\n")
    with pytest.raises(params.ParamsError) as e:
        params.load(bad)
    assert str(e.value).startswith(f"{bad}:3:1: ") and "tab" in str(e.value)
    assert "\n" not in str(e.value)
