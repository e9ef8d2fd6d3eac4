"""The pre-generation hook rejects bad answers with one actionable line; post-gen copes without git."""

import importlib.util
import os
import subprocess
import sys

import pytest
from conftest import DEFAULT_SLUG, TEMPLATE

spec = importlib.util.spec_from_file_location("pre_gen", TEMPLATE / "hooks" / "pre_gen_project.py")
pre_gen = importlib.util.module_from_spec(spec)
spec.loader.exec_module(pre_gen)

GOOD = {
    "project_slug": "security-triage",
    "package_name": "security_triage",
    "author_email": "a@b.io",
    "base_model": "Qwen/Qwen2.5-0.5B-Instruct",
    "dvc_remote_url": "s3://bucket/x",
}


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
