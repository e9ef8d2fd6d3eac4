"""Reject answers that would bake a broken project, with one line saying what is expected."""

import json
import keyword
import re
import sys

ANSWERS = {  # as JSON in raw strings: an answer with quotes or backslashes cannot break this file
    "project_name": json.loads(r""" {{ cookiecutter.project_name | tojson }} """),
    "project_slug": json.loads(r""" {{ cookiecutter.project_slug | tojson }} """),
    "package_name": json.loads(r""" {{ cookiecutter.package_name | tojson }} """),
    "description": json.loads(r""" {{ cookiecutter.description | tojson }} """),
    "author_name": json.loads(r""" {{ cookiecutter.author_name | tojson }} """),
    "author_email": json.loads(r""" {{ cookiecutter.author_email | tojson }} """),
    "base_model": json.loads(r""" {{ cookiecutter.base_model | tojson }} """),
    "dvc_remote_url": json.loads(r""" {{ cookiecutter.dvc_remote_url | tojson }} """),
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
    for field in ("project_name", "description", "author_name", "dvc_remote_url"):
        if any(c in answers[field] for c in '"\\\n'):
            return f"{field} {answers[field]!r} contains a quote, backslash or newline: expected plain text"
    return ""


if __name__ == "__main__":
    message = problem(ANSWERS)
    if message:
        print(f"ERROR: {message}", file=sys.stderr)
        sys.exit(1)
