"""Bake every option value; check the exact files, their rendering, lint, CI files and the baked tests."""

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from ci_tools import problems
from conftest import TEMPLATE, bake, run

PACKAGE = "security_triage_assistant"
MODULES = [
    "__init__", "base", "baseline", "compare", "curate", "decontaminate", "demo_data", "errors", "estimate",
    "chatter", "evaluate", "generate", "replay", "threads",
    "gate", "lineage", "merge", "plots", "progress", "release", "split", "train",
    "cost", "demo_cards", "demo_tools", "feedback", "review", "rollback",
    "params/__init__", "params/__main__", "params/loader", "params/sections", "params/base", "params/curate",
    "params/split", "params/decontaminate", "params/train", "params/merge", "params/evaluate", "params/cost",
    "params/review", "params/release", "params/library", "params/replay", "params/doc",
    "views/__init__", "views/charts", "views/comment", "views/tables",
    "registry/__init__", "registry/audit", "registry/cards", "registry/monitoring", "registry/readiness",
    "registry/workspace",
    "human/__init__", "human/agreement", "human/server", "human/sheet",
    "data/__init__", "data/chat", "data/coverage", "data/formats", "data/jsonl", "data/neardup",
    "data/ngrams", "data/pii", "data/wordhash", "data/records", "data/dedup", "data/contamination",
    "data/filters", "data/sources", "data/texts", "data/pairs", "data/veto", "data/fold",
    "evals/__init__", "evals/checks", "evals/gating", "evals/modeljudge", "evals/scoring",
    "evals/items", "evals/fewshot", "evals/general", "evals/generation", "evals/sets", "evals/toolcalls",
    "model/__init__", "model/embedded", "model/gguf", "model/loss_paths", "model/probe", "model/quantization",
    "training/__init__", "training/budget", "training/configs", "training/curves", "training/dpo",
    "training/mixing", "training/resume", "training/selection", "training/weighting",
]  # fmt: skip
TESTS = [
    "conftest", "test_checks", "test_compare", "test_contracts", "test_curate", "test_decontaminate",
    "test_demo_data", "test_evaluate", "test_gate", "test_model", "test_neardup", "test_pii", "test_plots",
    "test_registry", "test_scoring", "test_split", "test_training",
    "test_judge", "test_reports", "test_hygiene", "test_sources",
    "test_gguf", "test_loss_paths", "test_train_configs",
    "test_cost", "test_docs", "test_feedback", "test_review", "test_selection", "test_threads", "test_pairs",
    "test_veto", "test_disguises",
    "test_progress",
]  # fmt: skip
EXPECTED_FILES = {
    ".dvc/.gitignore", ".dvc/config", ".dvcignore", ".gitignore", ".pre-commit-config.yaml",
    "Makefile", "README.md", "dvc.yaml", "params.yaml", "pyproject.toml",
    "data/.gitignore", "data/raw.dvc", "data/golden.dvc", "data/preferences.dvc",
    "bench/busy.py", "bench/data_stages.py", "bench/disguises.py", "bench/pii_quality.py", "bench/real_model.py",
    "data/knowledge_points.yaml", "data/replay_prompts.jsonl", "data/veto.jsonl",
    *(f"configs/accelerate/{c}.yaml" for c in ("single", "cpu_ddp", "multi_gpu", "fsdp", "deepspeed_zero3")),
    f"src/{PACKAGE}/model/chat_template.jinja", f"src/{PACKAGE}/human/page.html",
    *(f"docs/{d}.md" for d in ("decide", "runbook", "params", "quality", "pipeline", "evaluation",
                                "real-model", "data", "releases")),
    *(f"src/{PACKAGE}/{m}.py" for m in MODULES),
    *(f"tests/{t}.py" for t in TESTS),
}  # fmt: skip
WORKFLOWS = {
    "github": (".github/workflows/compare.yml", "github-workflows"),
    "gitlab": (".gitlab-ci.yml", "gitlab-ci"),
}
CI_FILES = {"github": {WORKFLOWS["github"][0]}, "gitlab": {WORKFLOWS["gitlab"][0]}, "none": set()}
OPTIONS = {k: v for k, v in json.loads((TEMPLATE / "cookiecutter.json").read_text()).items() if k[0] != "_"}
VARIANTS = [{}] + [
    {name: value} for name, values in OPTIONS.items() if isinstance(values, list) for value in values[1:]
]
# In requirements.txt for the template's own tests (bake, cruft, the real-model and browser tests) only.
TEMPLATE_ONLY = {"cookiecutter", "cruft", "setuptools", "check-jsonschema", "gguf", "playwright"}


def variant_id(context: dict) -> str:
    return "-".join(f"{k}={v}" for k, v in context.items()) or "defaults"


def tracked_files(project: Path) -> set[str]:
    return set(
        subprocess.run(["git", "ls-files"], cwd=project, capture_output=True, text=True).stdout.split()
    )


def test_every_choice_is_covered():
    choices = {k: v for k, v in OPTIONS.items() if isinstance(v, list)}
    assert set(choices) == {"python_version", "training_method", "dvc_remote", "ci", "ci_runner"}
    covered = {(k, v) for variant in VARIANTS for k, v in variant.items()}
    assert covered | {(k, v[0]) for k, v in choices.items()} == {
        (k, x) for k, v in choices.items() for x in v
    }


# `make test-fast` bakes the defaults and each CI choice (those change the file set); the other
# values only change rendered text, and at ~10 s a bake on a busy 2-core machine they run in `make test`.
BAKE_VARIANTS = [
    pytest.param(c, marks=[] if set(c) <= {"ci"} else [pytest.mark.slow], id=variant_id(c)) for c in VARIANTS
]


@pytest.mark.parametrize("context", BAKE_VARIANTS)
def test_bake(tmp_path, context):
    project = bake(tmp_path, **context)
    answers = {k: (v[0] if isinstance(v, list) else v) for k, v in OPTIONS.items()} | context

    # Exactly these files, all committed, nothing left over.
    assert tracked_files(project) == EXPECTED_FILES | CI_FILES[answers["ci"]]
    status = subprocess.run(["git", "status", "--porcelain"], cwd=project, capture_output=True, text=True)
    assert status.stdout == ""
    log = subprocess.run(["git", "log", "--format=%an <%ae>|%s"], cwd=project, capture_output=True, text=True)
    assert log.stdout.strip() == "Your Name <you@example.com>|Initial project from cookiecutter-llm-finetune"

    # Everything rendered. The package is copied verbatim (its f-strings and chat template use
    # braces on purpose), so only the files cookiecutter renders are checked for leftovers.
    for name in tracked_files(project):
        text = (project / name).read_text(encoding="utf-8")
        assert "cookiecutter." not in text, name
        if not name.startswith("src/"):
            text = text.replace("${{", "")  # CI expressions are meant to stay
            assert "{{" not in text and "{%" not in text.replace("{% generation %}", ""), name

    # Answers land where they should.
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert pyproject["project"]["requires-python"] == f">={answers['python_version']}"
    assert pyproject["tool"]["ruff"]["target-version"] == "py" + answers["python_version"].replace(".", "")
    dvc_dep = next(d for d in pyproject["project"]["dependencies"] if d.startswith("dvc"))
    remote = answers["dvc_remote"]
    assert dvc_dep == ("dvc>=3.60" if remote == "local" else f"dvc[{remote}]>=3.60")
    params = yaml.safe_load((project / "params.yaml").read_text())
    assert params["train"]["method"] == answers["training_method"]
    config = (project / ".dvc" / "config").read_text()
    scheme = {"local": "../", "s3": "s3://", "gcs": "gs://", "azure": "azure://", "ssh": "ssh://"}[remote]
    assert re.search(rf"url = .*{re.escape(scheme)}", config) and "remote = storage" in config

    # Demo data was generated and handed to DVC, not to Git.
    raw = (project / "data" / "raw" / "demo.jsonl").read_text().splitlines()
    assert len(raw) == 1203 and "raw/demo.jsonl" not in tracked_files(project)
    assert (project / "data" / "golden" / "golden.jsonl").exists()
    # The shipped knowledge-point manifest names exactly the demo's points.
    manifest = yaml.safe_load((project / "data" / "knowledge_points.yaml").read_text())
    points = {(r["meta"]["bucket"], r["meta"]["knowledge_point"]) for r in map(json.loads, raw)}
    assert {(b, kp) for b, kps in manifest.items() for kp in kps} == points

    run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=project)
    run([sys.executable, "-m", "ruff", "format", "--check", "--no-cache", "."], cwd=project)
    if answers["ci"] != "none":  # lint the CI file against its vendored schema: offline
        path, schema = WORKFLOWS[answers["ci"]]
        run(["check-jsonschema", "--builtin-schema", f"vendor.{schema}", path], cwd=project)
    assert problems(project) == []  # every command a CI line runs is in its image or installed before
    skip = tomllib.loads((project / "pyproject.toml").read_text())["tool"]["cruft"]["skip"]
    assert {".git", ".dvc", "data/raw", "data/golden", "data/preferences"} <= set(skip)
    assert "data" not in skip  # data/knowledge_points.yaml is template: updates reach it
    runner = "[self-hosted, gpu]" if answers["ci_runner"] == "self-hosted-gpu" else "ubuntu-latest"
    if answers["ci"] == "github":
        assert f"runs-on: {runner}" in (project / ".github" / "workflows" / "compare.yml").read_text()


def test_workflow_lint_catches_a_broken_workflow(tmp_path):
    project = bake(tmp_path)
    workflow = project / ".github" / "workflows" / "compare.yml"
    workflow.write_text(workflow.read_text().replace("runs-on:", "runs_on:"))
    cmd = ["check-jsonschema", "--builtin-schema", "vendor.github-workflows", str(workflow)]
    result = subprocess.run(
        cmd, capture_output=True, text=True, env={"PATH": str(Path(sys.executable).parent)}
    )
    assert result.returncode == 1 and "runs-on" in result.stdout + result.stderr


def test_a_long_project_name_still_lints(tmp_path):
    project = bake(tmp_path, project_name="Enterprise Knowledge Base Customer Support Assistant Fine Tune")
    assert project.name == "enterprise-knowledge-base-customer-support-assistant-fine-tune"
    run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=project)
    run([sys.executable, "-m", "ruff", "format", "--check", "--no-cache", "."], cwd=project)


# What the baked suite reads: the package, its tests, params and pipeline, configs, data, docs.
SUITE_READS = ("src/", "tests/", "bench/", "configs/", "data/", "params.yaml", "dvc.yaml", "Makefile")


@pytest.mark.slow
@pytest.mark.parametrize("context", VARIANTS, ids=variant_id)
def test_baked_project_passes_its_own_tests(tmp_path, context, default_project):
    """The defaults pass their whole suite, each training method its fast suite. The other answers
    (Python version, DVC remote, CI) change only files the suite does not read, besides docs/, so
    they are checked to be byte-identical there and run the doc tests, not the suite again."""
    project = bake(tmp_path, **context)
    selection = [] if not context else ["-m", "not slow"]
    if context and "training_method" not in context:
        for name in tracked_files(default_project) | tracked_files(project):
            if name.startswith(SUITE_READS):
                assert (project / name).read_bytes() == (default_project / name).read_bytes(), name
        selection = ["tests/test_docs.py"]
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *selection]
    result = subprocess.run(cmd, cwd=project, capture_output=True, text=True)
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr[-500:]
    counts = {word: int(n) for n, word in re.findall(r"(\d+) (passed|failed|errors?|skipped)", summary)}
    assert result.returncode == 0 and counts.get("passed", 0) > 0, (
        result.stdout[-3000:] + result.stderr[-2000:]
    )
    assert set(counts) == {"passed"}, summary  # none failed, errored or skipped


def test_project_and_template_requirements_agree(default_project):
    def names(reqs):
        return {re.split(r"[\[<>=;]", r, maxsplit=1)[0].strip().lower() for r in reqs}

    pyproject = tomllib.loads((default_project / "pyproject.toml").read_text())
    project_deps = names(
        pyproject["project"]["dependencies"]
        + pyproject["project"]["optional-dependencies"]["dev"]
        + pyproject["project"]["optional-dependencies"]["judge"]
    )
    template_reqs = names(
        line for line in (TEMPLATE / "requirements.txt").read_text().splitlines() if line and line[0] != "#"
    )
    assert project_deps <= template_reqs
    assert template_reqs - project_deps == TEMPLATE_ONLY - project_deps


def test_the_package_builds_with_its_chat_template(default_project, tmp_path):
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), "."],
        cwd=default_project)  # fmt: skip
    import zipfile

    [wheel] = Path(tmp_path).glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert f"{PACKAGE}/model/chat_template.jinja" in names and f"{PACKAGE}/human/page.html" in names
    assert {f"{PACKAGE}/{m}.py" for m in MODULES} <= names


# A house rule of the template, not of the user's project: one source per knob, so what a missing
# key means is what the shipped params.yaml says. Only the keys the bake's answers set may differ;
# library sections (trl/peft fields) keep the library's defaults. Run in the baked project's
# interpreter path, so the template's tests never import its package.
DEFAULTS_ARE_SHIPPED = """
import dataclasses, sys
from pathlib import Path
from {package}.params import sections as params

LIBRARY_SECTIONS = {{"train.sft", "train.lora", "train.quantization", "train.dpo.config"}}

def typed(section, prefix=""):
    values = {{}}
    for f in dataclasses.fields(section):
        value, key = getattr(section, f.name), prefix + f.name
        if dataclasses.is_dataclass(value):
            values |= typed(value, key + ".")
        elif key not in LIBRARY_SECTIONS:
            values[key] = value
    return values

shipped, defaults = typed(params.load(Path("params.yaml"))), typed(params.Params())
# set by the answers base_model and training_method; the embedded demo model forgets its general
# skills whatever it replays, so its bake lists their fall instead of failing on it (README)
for key in ("base.model", "train.method", "evaluate.gate.max_regression_by_set", "train.mix.replay"):
    shipped.pop(key), defaults.pop(key)
wrong = sorted(k for k in shipped.keys() | defaults.keys() if shipped.get(k) != defaults.get(k))
for key in wrong:
    print(f"params.yaml: {{key}} is {{shipped.get(key)!r}}, its dataclass default {{defaults.get(key)!r}}")
sys.exit(1 if wrong else 0)
"""


def test_dataclass_defaults_are_the_shipped_params(default_project):
    run([sys.executable, "-c", DEFAULTS_ARE_SHIPPED.format(package=PACKAGE)], cwd=default_project,
        env={"PYTHONPATH": "src"})  # fmt: skip


@pytest.mark.slow  # runs the baked project's pytest: ~50 s on a busy 2-core machine
def test_the_tuning_the_docs_recommend_keeps_the_projects_tests_green(tmp_path):
    # README: "For a real model set `general: 0.1`"; qlora when memory is short; more epochs.
    project = bake(tmp_path)
    text = (project / "params.yaml").read_text()
    for old, new in [
        ("max_regression_by_set: {general: 1.0}", "max_regression_by_set: {general: 0.1}"),
        ("method: lora  #", "method: qlora  #"),
        ("num_train_epochs: 12", "num_train_epochs: 20"),
    ]:
        assert old in text, old
        text = text.replace(old, new)
    (project / "params.yaml").write_text(text)
    pytest = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    run([*pytest, "tests/test_contracts.py"], cwd=project)
