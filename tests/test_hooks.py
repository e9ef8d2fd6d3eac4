"""The pre-generation hook refuses bad answers in one line; odd answers bake a project that holds
them exactly; post-gen copes without git."""

import json
import os
import subprocess
import sys
import tomllib
import types
from pathlib import Path

import jinja2
import pytest
import yaml
from conftest import DEFAULT_SLUG, TEMPLATE

GOOD = {
    "project_name": "Security Triage",
    "project_slug": "security-triage",
    "package_name": "security_triage",
    "description": "A model",
    "author_name": "Jane Doe",
    "author_email": "a@b.io",
    "base_model": "Qwen/Qwen2.5-0.5B-Instruct",
    "dvc_remote_url": "s3://bucket/x",
}


def render_hook(context: dict) -> dict:
    """The pre-generation hook as cookiecutter renders it, run as a module, not as a script."""
    source = jinja2.Template((TEMPLATE / "hooks" / "pre_gen_project.py").read_text()).render(
        cookiecutter=context
    )
    namespace = {"__name__": "pre_gen"}
    exec(compile(source, "pre_gen_project.py", "exec"), namespace)
    return namespace


pre_gen = types.SimpleNamespace(**render_hook(GOOD))


def test_good_answers_pass():
    assert pre_gen.problem(GOOD) == ""


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        (
            "project_slug",
            "Security Triage",
            "project_slug 'Security Triage' is not valid: expected lowercase",
        ),
        ("project_slug", "9lives", "starting with a letter"),
        ("project_slug", "a--b", "separated by single '-'"),
        (
            "package_name",
            "security-triage",
            "package_name 'security-triage' is not a valid Python package name",
        ),
        ("package_name", "class", "not a keyword"),
        ("author_email", "nobody", "author_email 'nobody' is not an email address"),
        ("base_model", "my model", "base_model 'my model' is not valid: expected 'embedded', a Hub id"),
        ("dvc_remote_url", " ", "dvc_remote_url is empty"),
        ("author_name", "Jane\nDoe", "author_name 'Jane\\nDoe' contains the control character '\\n'"),
        ("description", "tab\there", "contains the control character '\\t': expected one line"),
        ("dvc_remote_url", "s3://AKIA123:s3cr3t@bucket/x", "dvc_remote_url holds credentials"),
        ("dvc_remote_url", "https://user:pass@dvc.example.com/store", "dvc_remote_url holds credentials"),
        ("dvc_remote_url", "https://ghp_token@dvc.example.com/store", "dvc_remote_url holds credentials"),
    ],
)
def test_bad_answer_is_named_with_what_is_expected(field, value, expected):
    assert expected in pre_gen.problem({**GOOD, field: value})


@pytest.mark.parametrize("url", ["ssh://git@host/srv/dvc", "s3://bucket/x", "../local-store", "gs://b/p"])
def test_a_remote_without_credentials_is_fine(url):
    assert pre_gen.problem({**GOOD, "dvc_remote_url": url}) == ""


def test_credentials_are_not_echoed_in_the_refusal():
    assert "s3cr3t" not in pre_gen.problem({**GOOD, "dvc_remote_url": "s3://AKIA123:s3cr3t@bucket/x"})


def test_cli_prints_one_line_and_fails(tmp_path):
    cmd = [sys.executable, "-m", "cookiecutter", str(TEMPLATE), "--no-input", "-o", str(tmp_path)]
    result = subprocess.run(cmd + ["project_slug=Bad Slug"], capture_output=True, text=True)
    assert result.returncode != 0
    assert "ERROR: project_slug 'Bad Slug' is not valid" in result.stderr
    assert not any(tmp_path.iterdir())  # nothing half-generated is left behind


def test_without_git_on_path_the_skipped_steps_are_printed(tmp_path):
    cmd = [sys.executable, "-m", "cookiecutter", str(TEMPLATE), "--no-input", "-o", str(tmp_path)]
    result = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PATH": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert "git init --initial-branch main" in result.stdout
    assert "dvc add data/raw data/golden data/preferences" in result.stdout
    project = tmp_path / DEFAULT_SLUG
    assert not (project / ".git").exists() and (project / "data" / "raw" / "demo.jsonl").exists()


def test_with_git_but_without_dvc_the_data_is_kept_out_of_git(tmp_path, monkeypatch):
    source = jinja2.Template((TEMPLATE / "hooks" / "post_gen_project.py").read_text()).render(
        cookiecutter={**GOOD, "ci": "none"}
    )
    post_gen = {"__name__": "post_gen"}
    exec(compile(source, "post_gen_project.py", "exec"), post_gen)
    post_gen["dvc_command"] = lambda: None  # dvc is importable wherever these tests run
    monkeypatch.chdir(tmp_path)
    for folder in ("raw", "golden", "preferences"):
        (tmp_path / "data" / folder).mkdir(parents=True)
        (tmp_path / "data" / folder / "rows.jsonl").write_text("{}\n")
    (tmp_path / "README.md").write_text("project\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "no-gitconfig"))
    skipped = post_gen["init_repositories"]()
    assert "dvc add data/raw data/golden data/preferences" in skipped
    tracked = subprocess.run(["git", "ls-files"], capture_output=True, text=True, check=True).stdout.split()
    assert tracked == ["README.md", "data/.gitignore"]  # the data waits for `dvc add`, not in Git history
    assert (tmp_path / "data" / ".gitignore").read_text() == "/raw\n/golden\n/preferences\n"


def test_an_answer_with_quotes_cannot_break_the_hook_itself():
    answers = render_hook({**GOOD, "author_name": 'Jane "JD" \\ Doe'})["ANSWERS"]
    assert answers["author_name"] == 'Jane "JD" \\ Doe'  # read back intact, then refused with a message


ODD_ANSWERS = [  # (answers, the slug they bake); each file that carries an answer must hold it exactly
    ({"project_name": "Acme: Bot", "base_model": "yes", "author_email": 'o"neil@example.com'}, "acme-bot"),
    ({"project_name": "Acme #1 Bot", "base_model": "null", "author_name": 'Jane "JD" \\ Doe'}, "acme-1-bot"),
    (
        {"project_name": "O'Brien's Bot", "base_model": "1.0", "description": 'Triage: #1, "fast" \\ yes'},
        "o-brien-s-bot",
    ),
    ({"base_model": "[x]"}, DEFAULT_SLUG),
    ({"base_model": "a:b"}, DEFAULT_SLUG),
    ({"base_model": "~"}, DEFAULT_SLUG),
    ({"base_model": "#x"}, DEFAULT_SLUG),
    ({"base_model": "'q'"}, DEFAULT_SLUG),
]


@pytest.mark.parametrize(
    ("answers", "slug"), ODD_ANSWERS, ids=lambda v: repr(v) if isinstance(v, dict) else v
)
def test_odd_answers_bake_files_that_parse_and_hold_them(tmp_path, answers, slug):
    cmd = [sys.executable, "-m", "cookiecutter", str(TEMPLATE), "--no-input", "-o", str(tmp_path)]
    cmd += [f"{k}={v}" for k, v in answers.items()]
    env = {**os.environ, "PATH": str(tmp_path)}  # no git, no dvc: only the rendering is under test
    result = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    project = tmp_path / slug
    expect = json.loads((TEMPLATE / "cookiecutter.json").read_text()) | answers
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    assert pyproject["authors"] == [{"name": expect["author_name"], "email": expect["author_email"]}]
    assert pyproject["description"] == expect["description"]
    params = yaml.safe_load((project / "params.yaml").read_text())
    assert params["base"]["model"] == expect["base_model"]
    dvc = yaml.safe_load((project / "dvc.yaml").read_text())
    assert dvc["artifacts"][slug]["desc"].startswith(expect["project_name"] + ", fine-tuned")
    stages = {
        "base", "curate", "split", "decontaminate", "replay", "train", "merge", "baseline", "generate",
        "evaluate", "cost",
    }  # fmt: skip
    assert set(dvc["stages"]) == stages
    assert (project / "README.md").read_text().startswith(f"# {expect['project_name']}\n")


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("base_model=a: b", "ERROR: base_model 'a: b' is not valid"),
        ("dvc_remote_url=https://me:hunter2@dvc.example.com/x", "ERROR: dvc_remote_url holds credentials"),
        ("project_name=9 Lives", "ERROR: project_slug '9-lives' is not valid"),
    ],
)
def test_an_answer_no_file_can_hold_is_refused_in_one_line(tmp_path, answer, expected):
    cmd = [sys.executable, "-m", "cookiecutter", str(TEMPLATE), "--no-input", "-o", str(tmp_path), answer]
    result = subprocess.run(cmd, capture_output=True, text=True)
    assert result.returncode != 0
    refusal = [line for line in result.stderr.splitlines() if line.startswith("ERROR:")]
    assert len(refusal) == 1 and refusal[0].startswith(expected), result.stderr
    assert "hunter2" not in result.stderr and not any(Path(tmp_path).iterdir())
