"""Eval sets are read line by line, the prompted baseline is fair, the probes are sound, and the
stage runs end to end."""

import dataclasses
import gzip
import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.errors import (
    UserError,
)
from {{ cookiecutter.package_name }}.evals import (
    fewshot,
)
from {{ cookiecutter.package_name }}.evals import sets as sets_mod
from {{ cookiecutter.package_name }}.evals.checks import (
    judge,
)
from {{ cookiecutter.package_name }}.evals.general import (
    probes,
)
from {{ cookiecutter.package_name }}.evals.items import (
    load_items,
)
from {{ cookiecutter.package_name }}.params.evaluate import (
    ConsistencyParams,
    EvaluateParams,
    GeneralParams,
    JudgeParams,
)


def write_items(path, *rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def test_items_get_their_check_or_the_default(tmp_path, make_chat):
    row = make_chat("Level 7?", "UNSAFE", check={"type": "regex", "pattern": "UNSAFE"})
    items, rejected = load_items(
        write_items(tmp_path / "g.jsonl", make_chat("hi", "hello"), row), "normalized", "g"
    )
    assert [i["check"]["type"] for i in items] == ["normalized", "regex"] and rejected == []
    assert items[0]["id"].endswith("g.jsonl:1")


def test_every_bad_line_is_rejected_with_its_reason_and_the_rest_is_kept(tmp_path, make_chat):
    good = make_chat("q", "a")
    null_content = {"messages": [{"role": "user", "content": None}, {"role": "assistant", "content": "a"}]}
    lines = [
        good,
        "{oops",
        "[" * 100_000,  # nesting deeper than the recursion limit
        '{"messages": [], "n": ' + "7" * 5000 + "}",  # more digits than int() takes from text
        '{"messages": [{"role": "user", "content": NaN}, {"role": "assistant", "content": "a"}]}',
        null_content,
        {"messages": [{"role": "user", "content": "hi"}]},
        make_chat("q2", "a2", check="fuzzy"),
        {"id": "x", **make_chat("q3", "a3")},
        {"id": "x", **make_chat("q4", "a4")},
        {"id": True, **make_chat("q5", "a5")},
        "42",
    ]
    items, rejected = load_items(write_items(tmp_path / "g.jsonl", *lines), "normalized", "golden")
    assert [i["messages"][0]["content"] for i in items] == ["q", "q3"]
    assert [(r["line"], r["reason"]) for r in rejected] == [
        (2, "invalid_json"),
        (3, "invalid_json"),
        (4, "invalid_json"),
        (5, "invalid_json"),  # NaN is not standard JSON
        (6, "bad_content"),
        (7, "bad_turn_order"),
        (8, "bad_check"),
        (10, "duplicate_id"),
        (11, "bad_id"),
        (12, "invalid_json"),
    ]
    assert len(items) + len(rejected) == len(lines)  # nothing silently dropped
    assert all(r["set"] == "golden" and r["file"].endswith("g.jsonl") and r["message"] for r in rejected)
    assert "RecursionError" in rejected[1]["message"] and rejected[0]["raw"] == "{oops"
    assert "meta.check.type 'fuzzy' is unknown" in rejected[6]["message"]


def test_a_golden_set_of_every_input_kind_is_read_in_full(tmp_path, make_chat):
    golden = tmp_path / "golden"
    golden.mkdir()
    write_items(golden / "a.jsonl", make_chat("qa1", "a"), make_chat("qa2", "a"))
    (golden / "b.json").write_text(json.dumps([make_chat("qb1", "b"), {"id": "b2", **make_chat("qb2", "b")}]))
    with gzip.open(golden / "c.jsonl.gz", "wt") as f:
        f.write(json.dumps(make_chat("qc1", "c")) + "\n")
    items, rejected = load_items(golden, "normalized", "golden")
    assert [i["messages"][0]["content"] for i in items] == ["qa1", "qa2", "qb1", "qb2", "qc1"]
    assert rejected == []
    ids = [i["id"] for i in items]
    assert ids[0].endswith("a.jsonl:1") and ids[2].endswith("b.json[row 0]") and ids[3] == "b2"
    assert ids[4].endswith("c.jsonl.gz:1")


def test_a_bad_element_of_a_json_array_is_rejected_with_its_row(tmp_path, make_chat):
    path = tmp_path / "g.json"
    path.write_text(
        "[" + ", ".join([json.dumps(make_chat("q0", "a")), '{"messages": [{"role": "user", "content": NaN}]}',
                         json.dumps(make_chat("q2", "a")), "42"]) + "]"
    )  # fmt: skip
    items, rejected = load_items(path, "normalized", "golden")
    assert [i["messages"][0]["content"] for i in items] == ["q0", "q2"]
    assert [(r["row"], r["reason"]) for r in rejected] == [(1, "invalid_json"), (3, "invalid_json")]
    assert all("line" not in r and r["file"] == str(path) for r in rejected)
    assert "NaN is not valid JSON" in rejected[0]["message"] and rejected[1]["raw"] == "42"


def test_an_unsupported_file_in_an_eval_set_stops_evaluate_naming_it(tmp_path, make_chat):
    golden = tmp_path / "golden"
    golden.mkdir()
    write_items(golden / "a.jsonl", make_chat("q", "a"))
    (golden / "notes.txt").write_text("remember to add more")
    (golden / ".DS_Store").write_bytes(b"\0")  # hidden files are not eval files
    with pytest.raises(UserError, match=r"^eval set golden: .*notes.txt: not a supported data file") as e:
        sets_mod.read_sets({"golden": golden}, EvaluateParams())
    assert "\n" not in str(e.value)
    (golden / "notes.txt").unlink()
    (golden / "a.jsonl").unlink()
    with pytest.raises(UserError, match=r"^eval set golden: .*golden: no eval files in this directory"):
        sets_mod.read_sets({"golden": golden}, EvaluateParams())


def train_rows(make_chat):
    rows = [make_chat(f"verdict {i}?", "SAFE", bucket="verdict") for i in range(5)]
    rows += [make_chat("verdict 5?", "UNSAFE", bucket="verdict")]
    rows += [make_chat(f"refang {i}", "a.com", bucket="ioc") for i in range(4)]
    rows += [make_chat("poem?", "Out of scope.", bucket="refusal")]
    for row in rows:
        row["messages"].insert(0, {"role": "system", "content": "Train system."})
    return rows


def test_few_shot_examples_are_k_per_bucket_interleaved_deterministic_and_never_an_eval_prompt(
    tmp_path, make_chat
):
    train = write_items(tmp_path / "train.jsonl", *train_rows(make_chat), "{broken")
    asked = {fewshot.request_of([{"role": "user", "content": f"Verdict {i}?"}]) for i in (0, 1)}
    examples, skipped = fewshot.pick_examples(train, 2, seed=0, exclude=asked)
    assert [e["meta"]["bucket"] for e in examples] == ["ioc", "refusal", "verdict", "ioc", "verdict"]
    assert skipped == 3  # two eval prompts and the broken line
    assert not asked & {fewshot.request_of(e["messages"]) for e in examples}
    verdicts = [e["messages"][-1]["content"] for e in examples if e["meta"]["bucket"] == "verdict"]
    assert sorted(verdicts) == ["SAFE", "UNSAFE"]  # different answers first: both labels are shown
    assert (
        fewshot.pick_examples(train, 2, seed=0, exclude=set())[0]
        == fewshot.pick_examples(train, 2, seed=0, exclude=set())[0]
    )
    assert (
        fewshot.pick_examples(train, 2, seed=1, exclude=set())[0]
        != fewshot.pick_examples(train, 2, seed=0, exclude=set())[0]
    )


def test_the_prompted_prompt_keeps_the_item_system_prompt_and_fits_the_context(make_chat):
    examples = [make_chat("e1", "r1"), make_chat("e2", "r2"), make_chat("e3", "r3")]
    prompt = [{"role": "system", "content": "Triage."}, {"role": "user", "content": "Level 7?"}]
    messages = fewshot.prompted(prompt, examples, "Answer with one word.")
    assert messages[0] == {"role": "system", "content": "Triage.\n\nAnswer with one word."}
    assert [m["content"] for m in messages[1:]] == ["e1", "r1", "e2", "r2", "e3", "r3", "Level 7?"]
    assert fewshot.prompted(prompt[1:], examples[:1], "")[0] == {"role": "user", "content": "e1"}
    messages, used = fewshot.fit(prompt, examples, "", fits=lambda m: len(m) <= 6)
    assert used == 2 and [m["content"] for m in messages[1:3]] == ["e2", "r2"]  # the oldest went first
    assert fewshot.fit(prompt, examples, "", fits=lambda m: False)[1] == 0


def test_general_probes_are_deterministic_and_their_references_pass_their_checks():
    p = GeneralParams()
    items = probes(p.skills, p.per_skill, p.seed)
    assert items == probes(p.skills, p.per_skill, p.seed)
    assert len(items) == len({i["id"] for i in items}) == 7 * 12
    assert {i["meta"]["bucket"] for i in items} == {f"general_{s}" for s in p.skills}
    assert probes(["copy"], 12, 0) == [i for i in items if i["meta"]["bucket"] == "general_copy"]
    for item in items:
        reference = item["messages"][-1]["content"]
        assert judge(item["check"], reference, reference, [])[0], item
        assert not judge(item["check"], "Out of scope: I only triage security indicators.", reference, [])[0]


@pytest.mark.parametrize(
    ("skill", "answer", "passed"),
    [
        ("compare", "The larger number is {ref}.", True),
        ("compare", "{ref} is larger than {other}.", False),  # the last number must be the answer
        ("next_number", "{ref}", True),
        ("next_number", "1{ref}", False),
        ("first_word", "The first word is '{ref}'.", True),
        ("first_word", "{listing}", False),  # echoing the list is not an answer
        ("greeting", "{ref} How can I help?", True),
        ("greeting", "How can I help?", False),
        ("arithmetic", "The answer is {ref}.", True),
        ("arithmetic", "{ref}0", False),
        ("capital", "{ref} is the capital.", True),
        ("capital", "I do not know.", False),
        ("copy", "Sure: {ref}", True),
        ("copy", "{cut}", False),  # all but the first character
        ("copy", "{ref} is a town in Peru.", False),  # going on from the prompt is not copying
    ],
)
def test_probe_checks_accept_a_sentence_but_not_a_wrong_answer(skill, answer, passed):
    item = probes([skill], 1, seed=0)[0]
    prompt, ref = item["messages"][1]["content"], item["messages"][2]["content"]
    other = " ".join(n for n in re.findall(r"\d+", prompt) if n != ref)
    text = answer.format(ref=ref, other=other, listing=prompt.split(": ", 1)[-1], cut=ref[1:])
    assert judge(item["check"], text, ref, [])[0] == passed, (prompt, text)


def test_the_stage_cli_reports_a_missing_set_in_one_line(tmp_path):
    (tmp_path / "params.yaml").write_text("{}\n")
    paths = {k: str(tmp_path / k) for k in ("answers", "test", "golden", "out", "plots", "metrics")}
    cmd = [
        sys.executable,
        "-m",
        "{{ cookiecutter.package_name }}.evaluate",
        "--params",
        str(tmp_path / "params.yaml"),
    ]
    cmd += [arg for k, v in paths.items() for arg in (f"--{k}", v)]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    result = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert result.returncode == 1
    assert result.stderr == f"evaluate: eval set test: {paths['test']}: no such file or directory\n"


def test_an_extra_set_may_not_take_the_probe_set_name(tmp_path, make_chat):
    sets = {"test": write_items(tmp_path / "t.jsonl", make_chat("q", "a")), "general": tmp_path / "t.jsonl"}
    with pytest.raises(UserError, match="'general' is the name of the generated probe set"):
        sets_mod.read_sets(sets, EvaluateParams())
    items, rejected, inputs = sets_mod.read_sets(sets, EvaluateParams(general=GeneralParams(enabled=False)))
    assert set(items) == {"test", "general"} and inputs["general"] == str(tmp_path / "t.jsonl")


def dead_url() -> str:
    """An address where nothing listens: the judge's outage."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


@pytest.mark.slow
def test_baseline_generate_and_evaluate_end_to_end_on_a_tiny_model(tiny_base, tmp_path, make_chat, capsys):
    from {{ cookiecutter.package_name }} import baseline, evaluate, generate

    verdicts = [
        make_chat(f"Level {i}/10?", "UNSAFE" if i >= 7 else "SAFE", "scan_verdict", risk="critical")
        for i in (3, 6, 7, 9)
    ]
    write_items(tmp_path / "test.jsonl", *verdicts[:2], '{"messages": "not a list"}')
    tool = make_chat(
        "Look up 1.2.3.4", "{}", "tool_use", risk="high", check={"type": "tool_call", "name": "lookup_ip"}
    )
    (tmp_path / "golden").mkdir()
    write_items(
        tmp_path / "golden" / "golden.jsonl",
        *verdicts[2:],
        tool,
        make_chat("Hi", "Hello", "chat", check="no_tool_call"),
    )
    train = write_items(tmp_path / "train.jsonl", *train_rows(make_chat))
    p = EvaluateParams(
        max_new_tokens=6,
        consistency=ConsistencyParams(samples=2),
        general=GeneralParams(per_skill=2, skills=["copy", "compare"]),
        judge=JudgeParams(enabled=True, base_url=dead_url(), timeout_s=1.0, max_retries=0),
    )
    sets = {"test": tmp_path / "test.jsonl", "golden": tmp_path / "golden"}
    answers, m = tmp_path / "answers", tmp_path / "metrics"
    base_run = baseline.main(p, tiny_base, sets, train, answers / "baseline", m / "baseline.json")
    tuned_run = generate.main(p, tiny_base, sets, answers / "finetuned", m / "generate.json")
    assert base_run["fewshot"]["examples"] == 5 and set(tuned_run["consistency"]) == {"test", "golden"}
    log = capsys.readouterr().err
    assert "Traceback" not in log  # a few seconds per set: no progress line, the stage's summary says it

    out, plots, metrics = tmp_path / "reports", tmp_path / "plots", m / "evaluate.json"
    folders = [answers / "baseline", answers / "finetuned"]
    report = evaluate.main(p, sets, folders, out, plots, metrics, [m / "baseline.json", m / "generate.json"])

    assert json.loads(metrics.read_text()) == report
    assert set(report["base"]) == set(report["finetuned"]) == {"test", "golden", "general"}
    assert set(report["base_prompted"]) == {"test", "golden"}  # a task baseline: not on the probes
    assert report["fewshot"] == {
        "shots": 2, "examples": 5, "examples_used_mean": 5.0, "examples_used_min": 5, "trimmed_items": 0,
    }  # fmt: skip
    assert (
        report["finetuned"]["test"]["n"],
        report["finetuned"]["golden"]["n"],
        report["finetuned"]["general"]["n"],
    ) == (2, 4, 4)
    assert report["delta"] == {"test": 0.0, "golden": 0.0, "general": 0.0}  # the same model twice, greedy
    assert set(report["finetuned"]["golden"]["by_tool"]) == {"lookup_ip", "_no_call"}
    assert (
        "consistency" in report["finetuned"]["golden"] and "consistency" not in report["finetuned"]["general"]
    )
    assert "consistency" not in report["base"]["golden"]  # sampled for the model to release only
    assert report["rejected"] == {"test": 1, "golden": 0, "general": 0}
    [rejected] = [json.loads(line) for line in (out / "rejected.jsonl").read_text().splitlines()]
    assert (rejected["line"], rejected["reason"]) == (3, "bad_messages")
    predictions = (out / "predictions.jsonl").read_text().splitlines()
    assert len(predictions) == 2 * (2 + 4 + 4) + (2 + 4)  # base and fine-tuned on all, prompted on tasks
    assert report["judge"]["judged"] == 0 and "APIConnectionError" in report["judge"]["error"]
    assert not report["gate"]["passed"]  # a model that answers nothing right
    text = (out / "report.md").read_text()
    assert "| golden bucket | n | base | base (2-shot) | fine-tuned | delta vs best baseline |" in text
    assert "## Rejected eval lines: 1" in text and "**The judge failed**" in text and "| lookup_ip |" in text
    assert json.loads((plots / "buckets.json").read_text())["buckets"]

    # Judging is evaluate's alone: a stricter gate changes the verdict without generating again, and
    # answers that are older than the eval set are refused, naming the item.
    strict = dataclasses.replace(p, judge=JudgeParams(), refusal_patterns=["^never$"])
    again = evaluate.main(strict, sets, folders, out, plots, metrics)
    assert again["base"]["test"]["n"] == 2 and "generate" not in capsys.readouterr().err
    write_items(tmp_path / "test.jsonl", *verdicts[:2], make_chat("New item", "SAFE", "scan_verdict"))
    with pytest.raises(
        UserError, match=r"base has no answer to test item '.*test.jsonl:3'.*re-run dvc repro"
    ):
        evaluate.main(strict, sets, folders, out, plots, metrics)
