"""Reject answers that would bake a broken project, with one line saying what is expected."""

import keyword
import re
import sys

ANSWERS = {
    "project_slug": "{{ cookiecutter.project_slug }}",
    "package_name": "{{ cookiecutter.package_name }}",
    "author_email": "{{ cookiecutter.author_email }}",
    "base_model": "{{ cookiecutter.base_model }}",
    "dvc_remote_url": "{{ cookiecutter.dvc_remote_url }}",
}


def problem(answers: dict) -> str:
    slug, package = answers["project_slug"], answers["package_name"]
    if not re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", slug):
        return (
            f"project_slug {slug!r} is not valid: expected lowercase letters and digits separated "
            "by single '-', starting with a letter (e.g. 'security-triage')"
        )
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", package) or keyword.iskeyword(package):
        return (
            f"package_name {package!r} is not a valid Python package name: expected lowercase "
            "letters, digits and '_', not starting with a digit and not a keyword (e.g. 'security_triage')"
        )
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", answers["author_email"]):
        return f"author_email {answers['author_email']!r} is not an email address (e.g. 'you@example.com')"
    if not answers["base_model"].strip() or " " in answers["base_model"]:
        return (
            f"base_model {answers['base_model']!r} is not valid: expected 'embedded', a Hub id such "
            "as 'Qwen/Qwen2.5-0.5B-Instruct' or a local directory, without spaces"
        )
    if not answers["dvc_remote_url"].strip():
        return "dvc_remote_url is empty: expected a path or URL for the DVC remote"
    return ""


if __name__ == "__main__":
    message = problem(ANSWERS)
    if message:
        print(f"ERROR: {message}", file=sys.stderr)
        sys.exit(1)
