"""Eval items are validated before any model loads; reports group failures; the judge is optional."""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from {{ cookiecutter.package_name }}.evals.modeljudge import pairwise
from {{ cookiecutter.package_name }}.evals.reports import (
    confusion_plot,
    failure_report,
)
from {{ cookiecutter.package_name }}.evaluate import (
    EvalSpecError,
    load_items,
)
from {{ cookiecutter.package_name }}.params import JudgeParams


def write_items(path, *rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def test_items_get_their_check_or_the_default(tmp_path, make_chat):
    row = make_chat("Level 7?", "UNSAFE", check={"type": "regex", "pattern": "UNSAFE"})
    items = load_items(write_items(tmp_path / "g.jsonl", make_chat("hi", "hello"), row), "normalized")
    assert [i["check"]["type"] for i in items] == ["normalized", "regex"]
    assert items[0]["id"].endswith("g.jsonl:1")


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("{oops", r"g.jsonl:2: invalid JSON"),
        (
            {"messages": [{"role": "user", "content": "hi"}]},
            r"g.jsonl:2: the last message must come from 'assistant'",
        ),
        (
            {
                "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}],
                "meta": {"check": "fuzzy"},
            },
            r"g.jsonl:2: meta.check.type 'fuzzy' is unknown",
        ),
    ],
)
def test_a_malformed_item_fails_with_file_and_line(tmp_path, make_chat, bad, message):
    path = write_items(tmp_path / "g.jsonl", make_chat("q", "a"), bad)
    with pytest.raises(EvalSpecError, match=message):
        load_items(path, "normalized")


def prediction(id_, bucket, passed, reason="", model="finetuned", reference="SAFE", prediction="UNSAFE"):
    return {
        "model": model,
        "set": "golden",
        "id": id_,
        "bucket": bucket,
        "passed": passed,
        "reason": reason,
        "detail": "expected 'SAFE'",
        "reference": reference,
        "prediction": prediction,
        "request": "q",
    }


def test_failure_report_groups_by_bucket_and_reason_biggest_first():
    preds = [prediction(f"v{i}", "verdict", False, "mismatch") for i in range(5)]
    preds += [prediction("r1", "refusal", False, "no_refusal"), prediction("ok", "verdict", True)]
    preds += [prediction("b1", "verdict", False, "mismatch", model="base")]
    report = failure_report(preds)
    assert report.index("### golden / verdict / mismatch: 5") < report.index(
        "### golden / refusal / no_refusal: 1"
    )
    assert report.count("- `v") == 3  # a few examples per group, not all
    assert "b1" not in report and "`ok`" not in report


def test_confusion_rows_use_the_bucket_labels_and_other():
    preds = [
        prediction("1", "verdict", True, reference="SAFE", prediction="SAFE"),
        prediction("2", "verdict", False, reference="SAFE", prediction="UNSAFE"),
        prediction("3", "verdict", True, reference="UNSAFE", prediction="UNSAFE"),
        prediction("4", "verdict", False, reference="UNSAFE", prediction="maybe"),
        prediction("5", "refusal", False),
    ]
    rows = confusion_plot(preds, ["verdict"])
    rows += confusion_plot(
        [prediction("6", "verdict", True, reference="SAFE", prediction="safe.")], ["verdict"]
    )
    assert [(r["actual"], r["predicted"]) for r in rows] == [
        ("SAFE", "SAFE"),
        ("SAFE", "UNSAFE"),
        ("UNSAFE", "UNSAFE"),
        ("UNSAFE", "other"),
        ("SAFE", "SAFE"),  # matched as the normalized check matches it
    ]


@pytest.fixture
def fake_judge(monkeypatch):
    """A local OpenAI-compatible server that prefers the answer equal to the reference."""
    seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append((self.path, self.headers["Authorization"]))
            text = body["messages"][0]["content"]
            reference = text.split("Reference answer:\n")[1].split("\n")[0]
            a = text.split("Answer A:\n")[1].split("\n")[0]
            b = text.split("Answer B:\n")[1].split("\n")[0]
            choice = "TIE" if a == b else "A" if a == reference else "B"
            reply = json.dumps({"choices": [{"message": {"role": "assistant", "content": choice}}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("TEST_JUDGE_KEY", "sk-test")
    yield (
        JudgeParams(
            enabled=True, base_url=f"http://127.0.0.1:{server.server_port}/v1", api_key_env="TEST_JUDGE_KEY"
        ),
        seen,
    )
    server.shutdown()


def test_pairwise_judge_counts_wins_per_bucket_whatever_the_order(fake_judge):
    params, seen = fake_judge
    preds = []
    for i in range(4):  # the fine-tuned model is right on 3 of 4, the base on none
        right = i < 3
        preds.append(prediction(f"x{i}", "verdict", right, prediction="SAFE" if right else "UNSAFE"))
        preds.append(prediction(f"x{i}", "verdict", False, model="base", prediction="UNSAFE"))
    result = pairwise(preds, params)
    assert result["all"] == {"win": 3, "tie": 1, "n": 4, "win_rate": 0.75}
    assert result["verdict"]["win"] == 3
    assert seen[0] == ("/v1/chat/completions", "Bearer sk-test")
