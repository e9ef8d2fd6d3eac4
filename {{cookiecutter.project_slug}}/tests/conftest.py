import os
import subprocess
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.params.base import (
    BaseParams,
    EmbeddedParams,
)

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("DVC_NO_ANALYTICS", "1")


def sh(*cmd: str) -> str:
    """Run a command in the current directory; its stdout, or CalledProcessError."""
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def git_dvc_repo(name: str = "t", email: str = "t@example.com") -> None:
    """A fresh Git + DVC repository in the current directory, with a committer."""
    sh("git", "init", "--quiet", "--initial-branch", "main")
    sh("git", "config", "user.email", email)
    sh("git", "config", "user.name", name)
    sh("dvc", "init", "--quiet")


# The embedded architecture at toy size: builds in about a second, enough to train and merge.
TINY = EmbeddedParams(vocab_size=400, pretrain_examples=200, pretrain_steps=3, pretrain_batch_size=8)


def chat(user: str, answer: str, bucket: str = "b", **meta) -> dict:
    """A conversation row in the project's data contract."""
    return {
        "messages": [{"role": "user", "content": user}, {"role": "assistant", "content": answer}],
        "meta": {"bucket": bucket, **meta},
    }


@pytest.fixture
def make_chat():
    return chat


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory) -> Path:
    """A tiny embedded base model with its lineage, built once for every model test."""
    from {{ cookiecutter.package_name }} import base

    out = tmp_path_factory.mktemp("tiny") / "base"
    base.main(BaseParams(embedded=TINY), out, out.parent / "base.json")
    return out
