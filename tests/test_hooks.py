"""The pre-generation hook rejects bad answers with one actionable line; post-gen copes without git."""

import os
import subprocess
import sys
import types

import jinja2
import pytest
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
        (
            "author_name",
            'Jane "JD" Doe',
            "author_name 'Jane \"JD\" Doe' contains a quote, backslash or newline",
        ),
        ("description", "back\\slash", "description 'back\\\\slash' contains a quote"),
    ],
)
def test_bad_answer_is_named_with_what_is_expected(field, value, expected):
    assert expected in pre_gen.problem({**GOOD, field: value})


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


def test_an_answer_with_quotes_cannot_break_the_hook_itself():
    answers = render_hook({**GOOD, "author_name": 'Jane "JD" \\ Doe'})["ANSWERS"]
    assert answers["author_name"] == 'Jane "JD" \\ Doe'  # read back intact, then refused with a message
