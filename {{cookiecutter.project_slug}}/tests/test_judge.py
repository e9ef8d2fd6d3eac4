"""The optional pairwise judge, against a local OpenAI-compatible server: answers, outages, timeouts."""

import json
import sys
import threading
import time
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from {{ cookiecutter.package_name }}.errors import (
    UserError,
)
from {{ cookiecutter.package_name }}.evals.modeljudge import (
    pairwise,
    verdict,
)
from {{ cookiecutter.package_name }}.params.evaluate import (
    JudgeParams,
)


def prediction(id_, right: bool, model: str) -> dict:
    answer = "SAFE" if right else "UNSAFE"
    return {"model": model, "set": "golden", "id": id_, "bucket": "verdict", "reference": "SAFE",
            "prediction": answer, "request": "Level 3?"}  # fmt: skip


# The fine-tuned model is right on 3 of 4, the base model on none.
PREDICTIONS = [
    p for i in range(4) for p in (prediction(f"x{i}", i < 3, "finetuned"), prediction(f"x{i}", False, "base"))
]


@pytest.fixture
def judge_server(monkeypatch):
    """Serves /v1/chat/completions: prefers the answer equal to the reference, or fails as told."""
    seen, behaviour = [], {"fails": lambda n: False, "delay": 0.0}  # n: the request's number, from 1

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append((self.path, self.headers["Authorization"]))
            time.sleep(behaviour["delay"])
            if behaviour["fails"](len(seen)):
                return self.reply(500, {"error": {"message": "judge is down"}})
            text = body["messages"][0]["content"]
            reference = text.split("Reference answer:\n")[1].split("\n")[0]
            a = text.split("Answer A:\n")[1].split("\n")[0]
            b = text.split("Answer B:\n")[1].split("\n")[0]
            choice = "TIE" if a == b else "A" if a == reference else "B"
            self.reply(200, {"id": "c", "object": "chat.completion", "created": 0, "model": body["model"],
                             "choices": [{"index": 0, "finish_reason": "stop",
                                          "message": {"role": "assistant", "content": choice}}]})  # fmt: skip

        def reply(self, status, payload):
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("TEST_JUDGE_KEY", "sk-test")
    url = f"http://127.0.0.1:{server.server_port}/v1"
    params = JudgeParams(enabled=True, base_url=url, api_key_env="TEST_JUDGE_KEY", timeout_s=5, max_retries=1)
    yield params, seen, behaviour
    server.shutdown()


def test_pairwise_judge_counts_wins_per_bucket_whatever_the_order(judge_server):
    params, seen, _ = judge_server
    result = pairwise(PREDICTIONS, params)
    assert result["all"] == {"win": 3, "tie": 1, "n": 4, "win_rate": 0.75}
    assert result["verdict"]["win"] == 3 and "error" not in result
    assert seen[0] == ("/v1/chat/completions", "Bearer sk-test")


def test_a_passing_500_is_retried(judge_server):
    params, seen, behaviour = judge_server
    behaviour["fails"] = lambda n: n == 1
    result = pairwise(PREDICTIONS, params)
    assert result["all"]["n"] == 4 and "error" not in result and len(seen) == 5


def test_a_judge_that_keeps_failing_is_recorded_not_raised(judge_server):
    params, seen, behaviour = judge_server
    behaviour["fails"] = lambda n: True
    result = pairwise(PREDICTIONS, params)
    assert result["judged"] == 0 and "InternalServerError" in result["error"] and "500" in result["error"]
    assert "at item 1 of 4" in result["error"] and "key from $TEST_JUDGE_KEY: set" in result["error"]
    assert len(seen) == 2  # the request and its one retry, then judging stops


def test_an_outage_midway_keeps_what_was_judged(judge_server):
    params, seen, behaviour = judge_server
    behaviour["fails"] = lambda n: n > 2
    result = pairwise(PREDICTIONS, replace(params, max_retries=0))
    assert result["judged"] == result["all"]["n"] == 2 and "at item 3 of 4" in result["error"]


def test_a_judge_that_times_out_is_recorded(judge_server):
    params, seen, behaviour = judge_server
    behaviour["delay"] = 1.0
    result = pairwise(PREDICTIONS, replace(params, timeout_s=0.2, max_retries=0))
    assert result["judged"] == 0 and result["error"].startswith("APITimeoutError")


def test_a_missing_openai_client_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "openai", None)  # import openai now raises ImportError
    with pytest.raises(UserError, match=r"pip install -e '\.\[judge\]'"):
        pairwise(PREDICTIONS, JudgeParams(enabled=True))


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("A", "A"), ("b", "B"), (" TIE.\n", "TIE"), ("**B**", "B"), ("Answer A", "A"), ('"tie"', "TIE"),
        ("It is a tie; B is slightly better", "INVALID"),  # the article "a" is not a verdict
        ("A is better than B", "INVALID"), ("a tie", "INVALID"), ("", "INVALID"), ("C", "INVALID"),
    ],
)  # fmt: skip
def test_only_a_reply_that_is_one_verdict_counts(reply, expected):
    assert verdict(reply) == expected
