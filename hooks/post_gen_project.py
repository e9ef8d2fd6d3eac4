"""After baking: generate the demo data, then git init, dvc init, the DVC remote, a first commit.

Standard library only. Each tool that is missing is skipped with the command to run later.
Inside the scratch renders of `cruft update` / `cruft diff` only the files of unchosen options
are removed: those renders exist to be diffed, so demo data, Git and DVC have no place there.
"""

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PACKAGE = json.loads(r""" {{ cookiecutter.package_name | tojson }} """)
REMOTE_URL = json.loads(r""" {{ cookiecutter.dvc_remote_url | tojson }} """)
AUTHOR = (
    json.loads(r""" {{ cookiecutter.author_name | tojson }} """),
    json.loads(r""" {{ cookiecutter.author_email | tojson }} """),
)
TRACKED_INPUTS = ["data/raw", "data/golden", "data/preferences"]
CI = json.loads(r""" {{ cookiecutter.ci | tojson }} """)
# cruft renders through cookiecutter's generate_files(), whose context has cruft's `_commit` but
# not the `_output_dir` that the cookiecutter CLI and API add.
BY_CRUFT = json.loads(
    r""" {{ ('_commit' in cookiecutter and '_output_dir' not in cookiecutter) | tojson }} """
)
# Files that belong to an option not chosen.
REMOVE = {
    "github": [".gitlab-ci.yml"],
    "gitlab": [".github"],
    "none": [".github", ".gitlab-ci.yml"],
}


def run(cmd: list[str]) -> None:
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def dvc_command() -> list[str] | None:
    if shutil.which("dvc"):
        return ["dvc"]
    if importlib.util.find_spec("dvc"):  # installed next to cookiecutter, not on PATH
        return [sys.executable, "-m", "dvc"]
    return None


def prune() -> None:
    for name in REMOVE[CI]:
        path = Path(name)
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def cruft_scratch_render() -> bool:
    """True in a render made by `cruft update`/`diff`/`check`: cruft puts it alone in a fresh
    tempfile.TemporaryDirectory (`<tmp>/tmpXXXXXXXX/<slug>`), where `cruft create` writes to the
    directory it was given. `mktemp -d` names differ (`tmp.XXXXXXXXXX`), so they are not mistaken."""
    if not BY_CRUFT:
        return False
    here = Path.cwd().resolve()
    scratch = here.parent
    return (
        scratch.parent == Path(tempfile.gettempdir()).resolve()
        and re.fullmatch(r"tmp[a-z0-9_]{8}", scratch.name) is not None
        and [p.name for p in scratch.iterdir()] == [here.name]
    )


def make_demo_data() -> None:
    env = {**os.environ, "PYTHONPATH": "src", "PYTHONDONTWRITEBYTECODE": "1"}
    subprocess.run([sys.executable, "-m", f"{PACKAGE}.demo_data", "--out", "data"], check=True, env=env)


def init_repositories() -> list[str]:
    """Returns the commands that were skipped because a tool is missing."""
    skipped = []
    git = shutil.which("git")
    if git:
        run([git, "init", "--quiet", "--initial-branch", "main"])
    else:
        skipped.append("git init --initial-branch main")
    dvc = dvc_command()
    if dvc and git:
        os.environ.setdefault("DVC_NO_ANALYTICS", "1")
        run(dvc + ["init", "--quiet"])
        run(dvc + ["remote", "add", "--default", "storage", REMOTE_URL])
        run(dvc + ["add", "--quiet"] + TRACKED_INPUTS)
    else:
        skipped += [
            "dvc init",
            f"dvc remote add --default storage {REMOTE_URL}",
            "dvc add " + " ".join(TRACKED_INPUTS),
        ]
        if git:  # the data belongs in DVC: kept out of Git as `dvc add` would, which then takes over the file
            ignored = "".join(f"/{Path(p).name}\n" for p in TRACKED_INPUTS)
            Path("data/.gitignore").write_text(ignored, encoding="utf-8")
    if git:
        run([git, "add", "--all"])
        name, email = AUTHOR
        run(
            [
                git,
                "-c",
                f"user.name={name}",
                "-c",
                f"user.email={email}",
                "commit",
                "--quiet",
                "--message",
                "Initial project from cookiecutter-llm-finetune",
            ]
        )
    else:
        skipped.append('git add --all && git commit -m "Initial project"')
    return skipped


if __name__ == "__main__":
    prune()
    if cruft_scratch_render():
        print(f"post-gen: {Path.cwd()} is a cruft scratch render: no demo data, Git or DVC made there")
        sys.exit(0)
    make_demo_data()
    try:
        skipped = init_repositories()
    except subprocess.CalledProcessError as e:
        print(f"ERROR: {' '.join(e.cmd)} failed: {e.stderr.strip()}", file=sys.stderr)
        sys.exit(1)
    if skipped:
        print("git or dvc was not found, so these steps were skipped; run them in the project:")
        print("".join(f"  {cmd}\n" for cmd in skipped))
    if BY_CRUFT:  # cruft writes .cruft.json after this hook returns: the first commit cannot hold it
        print(
            "cruft writes .cruft.json next; commit it: git add .cruft.json && git commit -m 'Add .cruft.json'"
        )
    print(f"""Next:
  cd {Path.cwd().name}
  pip install torch==2.13.0        # or the torch build for your GPU
  pip install -e '.[dev]'
  make hooks                       # Git hooks: ruff on commit, dvc push on push, dvc checkout on checkout
  dvc repro                        # curate -> split -> decontaminate -> train -> merge -> evaluate
  dvc metrics show""")
