import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("DVC_NO_ANALYTICS", "1")


def chat(user: str, answer: str, bucket: str = "b", **meta) -> dict:
    """A conversation row in the project's data contract."""
    return {
        "messages": [{"role": "user", "content": user}, {"role": "assistant", "content": answer}],
        "meta": {"bucket": bucket, **meta},
    }


@pytest.fixture
def make_chat():
    return chat
