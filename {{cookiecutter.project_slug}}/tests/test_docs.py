"""The docs say what the code does: generated tables match their command, make targets exist."""

import re
import subprocess
import sys
from pathlib import Path

from {{ cookiecutter.package_name }}.params import doc as params_doc
from {{ cookiecutter.package_name }}.training import budget

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = budget.__name__.split(".")[0]
DOCS = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]


def test_the_decision_table_is_what_the_estimate_command_prints():
    doc = (ROOT / "docs" / "decide.md").read_text()
    embedded = re.search(r"<!-- estimate-table:.*?-->\n(.*?)\n<!-- /estimate-table -->", doc, re.S).group(1)
    printed = subprocess.run(
        [sys.executable, "-m", f"{PACKAGE}.estimate", "--table"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT / "src")},
    ).stdout.strip()
    assert embedded == printed == budget.decision_table()


def test_the_table_rests_on_known_lora_sizes():
    # r=16 on q, k, v, o, gate, up, down of Llama 3.1 8B: the adapter PEFT reports, 41.9 M.
    assert budget.lora_parameters(*budget.REFERENCE_MODELS["Llama-3.1-8B"][:4]) == 41_943_040
    table = budget.decision_table()
    assert table.count("\n") == 1 + 4 * 3  # header rule + three methods for each of four models
    assert "| Llama-3.1-8B | qlora | 41.9M |" in table


def test_make_help_lists_every_target_from_its_comment():
    makefile = (ROOT / "Makefile").read_text()
    targets = re.findall(r"^([\w-]+):", makefile, re.M)
    assert targets == re.findall(r"^([\w-]+):  ## ", makefile, re.M), "a target without a ## comment"
    listed = subprocess.run(
        ["make", "-s", "help"], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    assert [line.split()[0] for line in listed.splitlines()] == targets


def test_every_make_target_the_docs_mention_exists():
    targets = set(re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(), re.M))
    mentioned = {t for doc in DOCS for t in re.findall(r"`make ([\w-]+)", doc.read_text())}
    assert mentioned and mentioned <= targets, sorted(mentioned - targets)


def test_every_module_the_docs_run_exists():
    package = ROOT / "src" / "{{ cookiecutter.package_name }}"
    run = {
        m
        for doc in DOCS
        for m in re.findall(
            r"python -m {{ cookiecutter.package_name }}\.(\w+)",
            doc.read_text(),
        )
    }
    missing = {
        m for m in run if not (package / f"{m}.py").exists() and not (package / m / "__main__.py").exists()
    }
    assert run and missing == set()


def test_the_params_page_is_generated_from_the_help_under_each_field():
    assert params_doc.undocumented() == []  # a knob's help is written once, under its field
    assert (ROOT / "docs" / "params.md").read_text() == params_doc.markdown(), (
        f"docs/params.md is stale: run `python -m {PACKAGE}.params --doc`"
    )
    assert '| `split.group_by` | `"cluster"` | Field whose rows stay in one split:' in params_doc.markdown()
