"""Reject answers that would bake a broken project, with one line saying what is expected.

Free text (names, description, email, base model) may hold quotes, backslashes, '#' or ':':
every file that carries it escapes it (YAML and TOML double-quoted strings), so the baked
project parses and holds the exact answer. What no file can hold is refused here.
"""

import json
import keyword
import re
import sys
import unicodedata

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
TEXT = ("project_name", "description", "author_name", "author_email", "base_model", "dvc_remote_url")
# A password (scheme://user:password@host), or a token as the user of an HTTP URL, would land in
# .dvc/config, which Git tracks. A bare user name (ssh://git@host) is fine.
CREDENTIALS = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://[^/@\s]*:[^/@\s]*@|(https?|webdavs?)://[^/@\s]+@)")


def unprintable(text: str) -> str | None:
    """The first control character (newline, tab, ...) or lone surrogate in `text`."""
    return next((c for c in text if unicodedata.category(c) in ("Cc", "Cs")), None)


def problem(answers: dict) -> str:
    slug, package = answers["project_slug"], answers["package_name"]
    for field in TEXT:
        bad = unprintable(answers[field])
        if bad is not None:
            return f"{field} {answers[field]!r} contains the control character {bad!r}: expected one line"
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
    url = answers["dvc_remote_url"]
    if not url.strip():
        return "dvc_remote_url is empty: expected a path or URL for the DVC remote"
    if CREDENTIALS.match(url):
        return (
            "dvc_remote_url holds credentials (user:password@ or a token): they would go into Git; give the "
            "URL without them and set them later with `dvc remote modify --local storage ...`"
        )
    return ""


if __name__ == "__main__":
    message = problem(ANSWERS)
    if message:
        print(f"ERROR: {message}", file=sys.stderr)
        sys.exit(1)
