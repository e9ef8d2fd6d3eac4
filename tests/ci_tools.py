"""Does every command a CI job runs exist where it runs? Its image ships it or an earlier step installs it.

A CI file can pass its schema and still die on its third line: `npm` in a `python:` image. For
every job of a baked `.gitlab-ci.yml` or GitHub workflow, `problems()` reads each shell line,
takes its command words (also after `&&`, `|`, `;` and inside `$(...)`, skipping `VAR=value`
prefixes) and looks each one up in PROVIDERS: the images or runners that ship it, the earlier
lines or actions of the same job that install it. A word that no row knows is a problem too:
whoever adds a tool to a CI file says here how it gets there.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml

PYTHON_IMAGE = r"^python:3\.\d+$"  # Docker's full images (buildpack-deps): git, curl, make; not -slim
GITHUB_HOSTED = r"^ubuntu-(latest|\d\d\.\d\d)$"
SELF_HOSTED = r"\bself-hosted\b"  # the project README asks for git, make and curl on such a runner
PROJECT_INSTALL = r"pip install -e '\.\[dev\]'"  # the project and its dependencies
CML_BINARY = r"curl .*-o /usr/local/bin/cml .*/iterative/cml/releases/download/"
EVERYWHERE = (
    "cat",
    "chmod",
    "cp",
    "cut",
    "echo",
    "grep",
    "head",
    "ls",
    "mkdir",
    "mv",
    "rm",
    "sed",
    "tail",
    "uname",
)

# tool -> [(what provides it, pattern)]: "image" is matched against the job's image or runner,
# "line" against the earlier shell lines of the job, "uses" against its earlier actions.
PROVIDERS: dict[str, list[tuple[str, str]]] = {
    "python": [("image", PYTHON_IMAGE), ("uses", r"^actions/setup-python@")],
    "pip": [("image", PYTHON_IMAGE), ("uses", r"^actions/setup-python@")],
    "git": [("image", PYTHON_IMAGE), ("image", GITHUB_HOSTED), ("image", SELF_HOSTED)],
    "make": [("image", PYTHON_IMAGE), ("image", GITHUB_HOSTED), ("image", SELF_HOSTED)],
    "curl": [("image", PYTHON_IMAGE), ("image", GITHUB_HOSTED), ("image", SELF_HOSTED)],
    "apt-get": [("image", PYTHON_IMAGE), ("image", GITHUB_HOSTED)],
    "node": [("image", GITHUB_HOSTED), ("line", r"apt-get install .*\bnodejs\b")],
    "npm": [("image", GITHUB_HOSTED), ("line", r"apt-get install .*\bnpm\b")],
    "cml": [("uses", r"^iterative/setup-cml@"), ("line", CML_BINARY)],
    **{
        tool: [("line", PROJECT_INSTALL)]
        for tool in ("dvc", "gto", "pytest", "ruff", "pre-commit", "accelerate")
    },
    **{tool: [("image", ".")] for tool in EVERYWHERE},
}
OPERATORS = {"&&", "||", ";", "|", "(", ")", "&", "$("}
KEYWORDS = {
    "if",
    "then",
    "else",
    "fi",
    "for",
    "do",
    "done",
    "while",
    "export",
    "cd",
    "test",
    "[",
    "set",
    "true",
}


def commands(line: str) -> list[str]:
    """The command words of one shell line: `A=1 dvc repro && make gate  # x` -> [dvc, make]."""
    line = re.sub(r"\$\{\{.*?\}\}", "EXPR", line)  # GitHub expressions are not shell
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    words, expect = [], True
    for token in lexer:
        if token in OPERATORS or token.endswith("$"):  # `x=$(` arrives as "x=$" then "("
            expect = True
        elif expect and re.fullmatch(r"[A-Za-z_]\w*=.*", token):
            continue  # an assignment before the command
        elif expect:
            words.append(token.rsplit("/", 1)[-1])
            expect = False
    return [w for w in words if w not in KEYWORDS]


def shell_lines(script: str) -> list[str]:
    """A run block's lines, continuation lines joined, comments and blanks dropped."""
    joined = re.sub(r"\\\n\s*", " ", script)
    return [line for line in joined.splitlines() if line.strip() and not line.strip().startswith("#")]


def gitlab_jobs(ci: dict):
    for name, job in ci.items():
        if isinstance(job, dict) and "script" in job:
            image = job.get("image", ci.get("image", ""))
            image = image.get("name", "") if isinstance(image, dict) else image
            entries = [*job.get("before_script", []), *job["script"]]
            yield name, image, [("line", line) for entry in entries for line in shell_lines(entry)]


def github_jobs(workflow: dict):
    for name, job in workflow.get("jobs", {}).items():
        runs_on = job.get("runs-on", "")
        image = job.get("container") or (runs_on if isinstance(runs_on, str) else " ".join(runs_on))
        steps = []
        for step in job.get("steps", []):
            if "uses" in step:
                steps.append(("uses", step["uses"]))
            steps += [("line", line) for line in shell_lines(str(step.get("run", "")))]
        yield name, image, steps


def job_problems(image: str, steps: list[tuple[str, str]]) -> list[str]:
    found, seen = [], []
    for kind, text in steps:
        for tool in commands(text) if kind == "line" else []:
            ways = PROVIDERS.get(tool)
            if ways is None:
                found.append(
                    f"`{tool}` in `{text.strip()}`: not in ci_tools.PROVIDERS, say how it is provided"
                )
            elif not any(
                re.search(pattern, image)
                if how == "image"
                else any(k == how and re.search(pattern, s) for k, s in seen)
                for how, pattern in ways
            ):
                found.append(
                    f"`{tool}` in `{text.strip()}`: not in image {image!r} and no earlier step installs it"
                )
        seen.append((kind, text))
    return found


def problems(project: Path) -> list[str]:
    """`file :: job: problem` for every command of every CI job of the project."""
    files = [(project / ".gitlab-ci.yml", gitlab_jobs)]
    files += [(p, github_jobs) for p in sorted((project / ".github" / "workflows").glob("*.yml"))]
    found = []
    for path, jobs in files:
        if path.exists():
            for name, image, steps in jobs(yaml.safe_load(path.read_text())):
                found += [f"{path.relative_to(project)} :: {name}: {p}" for p in job_problems(image, steps)]
    return found
