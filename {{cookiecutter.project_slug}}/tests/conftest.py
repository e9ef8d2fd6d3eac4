import os
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.params import BaseParams, EmbeddedParams

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("DVC_NO_ANALYTICS", "1")

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
