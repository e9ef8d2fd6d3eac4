import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }} import demo_data, feedback
from {{ cookiecutter.package_name }}.data.chat import check_conversation
from {{ cookiecutter.package_name }}.data.jsonl import read_jsonl, write_jsonl
from {{ cookiecutter.package_name }}.data.sources import InputError
from {{ cookiecutter.package_name }}.params.curate import (
    PiiParams,
)
from {{ cookiecutter.package_name }}.params.release import (
    MonitoringParams,
)
from {{ cookiecutter.package_name }}.registry import monitoring

PII = PiiParams()
SYSTEM = {"role": "system", "content": "You triage security indicators."}


def exchange(i: int, verdict: str, bucket: str = "scan_verdict", **extra) -> dict:
    return {
        "id": f"f{i}",
        "at": f"2026-11-0{1 + i % 9}T10:00:00Z",
        "model_version": "v1.0.0",
        "messages": [SYSTEM, {"role": "user", "content": f"Level {i}/10 for file_{i}.exe. Verdict?"}],
        "answer": "SAFE",
        "verdict": verdict,
        "meta": {"bucket": bucket, "knowledge_point": "verdict_clear", "risk": "high"},
        **extra,
    }


def run(tmp_path, rows_or_lines, golden=None, spec=None) -> dict:
    intake = tmp_path / "feedback" / "export.jsonl"
    intake.parent.mkdir(exist_ok=True)
    lines = [r if isinstance(r, str) else json.dumps(r) for r in rows_or_lines]
    intake.write_text("\n".join(lines) + "\n")
    return feedback.main(PII, intake.parent, golden, tmp_path / "out", tmp_path / "feedback.json", spec)


def out(tmp_path, name: str) -> list[dict]:
    return list(read_jsonl(tmp_path / "out" / f"{name}.jsonl"))


def test_bad_answers_become_candidates_for_a_human_to_promote(tmp_path):
    rows = [exchange(1, "good"), exchange(2, "bad", correction="UNSAFE"), exchange(3, "bad")]
    r = run(tmp_path, rows)
    assert (r["golden_candidates"], r["preference_candidates"], r["to_label"]) == (1, 1, 1)
    [golden] = out(tmp_path, "golden_candidates")
    assert check_conversation(golden) is None and golden["messages"][-1]["content"] == "UNSAFE"
    assert golden["meta"] == {
        "bucket": "scan_verdict",
        "knowledge_point": "verdict_clear",
        "risk": "high",
        "source": "feedback",
        "feedback_id": "f2",
        "model_version": "v1.0.0",
    }
    assert golden["id"] == "fb-f2"
    [pair] = out(tmp_path, "preference_candidates")
    assert (pair["chosen"][0]["content"], pair["rejected"][0]["content"]) == ("UNSAFE", "SAFE")
    [label] = out(tmp_path, "to_label")
    assert label["answer"] == "SAFE" and label["messages"][-1]["role"] == "user"
    assert r["by_bucket"] == {"scan_verdict": {"verdicts": 3, "bad": 2, "bad_rate": 0.6667}}


def test_malformed_lines_are_rejected_with_file_line_and_reason(tmp_path):
    rows = [
        "{not json",
        exchange(1, "meh"),
        {**exchange(2, "bad"), "answer": "  "},
        {**exchange(3, "good"), "at": "yesterday"},
        {**exchange(4, "good"), "messages": [{"role": "bot", "content": "hi"}]},
        exchange(5, "good"),
        exchange(5, "bad"),
    ]
    r = run(tmp_path, rows)
    rejected = out(tmp_path, "rejected")
    assert [(x["line"], x["reason"]) for x in rejected] == [
        (1, "invalid_json"),
        (2, "bad_verdict"),
        (3, "bad_answer"),
        (4, "bad_at"),
        (5, "unknown_role"),
        (7, "duplicate_id"),
    ]
    assert all(x["file"].endswith("export.jsonl") and x["message"] for x in rejected)
    assert (
        r["rows_in"] == len(rows) and r["by_bucket"]["scan_verdict"]["verdicts"] == 1
    )  # in = kept + rejected


def test_feedback_reads_its_folder_as_curate_reads_data_raw(tmp_path):
    intake = tmp_path / "feedback"
    intake.mkdir()
    (intake / "a.ndjson").write_text(json.dumps(exchange(1, "bad")) + "\n")
    (intake / "b.jsonl.gz").write_bytes(gzip.compress(json.dumps(exchange(2, "good")).encode() + b"\n"))
    (intake / "c.json").write_text(json.dumps([exchange(3, "good"), {"id": 4}]))
    (intake / ".DS_Store").write_bytes(b"\0")
    r = feedback.main(PII, intake, None, tmp_path / "out", tmp_path / "feedback.json", None)
    assert (
        r["rows_in"] == 4
        and r["to_label"] == 1
        and [f.rsplit("/", 1)[1] for f in r["files"]]
        == [
            "a.ndjson",
            "b.jsonl.gz",
            "c.json",
        ]
    )
    assert r["files_ignored"] == [str(intake / ".DS_Store")]
    [rejected] = out(tmp_path, "rejected")
    assert (rejected["file"], rejected["row"], rejected["reason"]) == (
        str(intake / "c.json"),
        1,
        "bad_id",
    )
    (intake / "notes.txt").write_text("export of 2 Nov")
    with pytest.raises(InputError, match=r"notes.txt: not a supported data file"):
        feedback.main(PII, intake, None, tmp_path / "out", tmp_path / "feedback.json", None)


def test_personal_data_goes_through_the_curate_policy(tmp_path):
    leaky = exchange(1, "bad", correction="UNSAFE, mail soc@example.com")
    leaky["messages"][-1]["content"] += " Call me at +44 20 7946 0958."
    r = run(tmp_path, [leaky])
    [golden] = out(tmp_path, "golden_candidates")
    text = json.dumps(golden)
    assert "[PHONE]" in text and "[EMAIL]" in text and "example.com" not in text
    assert r["pii_found_by_type"] == {"email": 1, "phone": 1}
    dropped = feedback.main(
        PiiParams(policy="drop"),
        tmp_path / "feedback",
        None,
        tmp_path / "o2",
        tmp_path / "m2.json",
        None,
    )
    assert dropped["rejected_by_reason"] == {"pii": 1} and dropped["golden_candidates"] == 0


def test_prompts_already_golden_and_repeats_are_left_out(tmp_path):
    golden = tmp_path / "golden.jsonl"
    known = exchange(1, "bad", correction="UNSAFE")
    write_jsonl(golden, [{"messages": [*known["messages"], {"role": "assistant", "content": "UNSAFE"}]}])
    again = {**exchange(2, "bad", correction="UNSAFE"), "id": "f2b"}
    r = run(tmp_path, [known, exchange(2, "bad", correction="UNSAFE"), again], golden=golden)
    assert r["golden_candidates"] == 1 and r["left_out"] == {"in_golden": 1, "repeated": 1}
    assert r["golden"] == {"items": 1, "rejected": 0}


def test_the_same_prompt_as_curate_means_it_is_already_golden(tmp_path):
    golden = tmp_path / "golden"
    golden.mkdir()
    fed = exchange(1, "bad", correction="UNSAFE")
    shouted = [SYSTEM, {"role": "user", "content": "  LEVEL 1/10 for FILE_1.EXE.  Verdict?!"}]
    write_jsonl(golden / "a.jsonl", [{"messages": [*shouted, {"role": "assistant", "content": "UNSAFE"}]}])
    r = run(tmp_path, [fed], golden=golden)
    assert r["left_out"] == {"in_golden": 1, "repeated": 0} and r["golden_candidates"] == 0
    other_system = [{"role": "system", "content": "Another policy."}, shouted[1]]
    write_jsonl(golden / "a.jsonl", [{"messages": [*other_system, {"role": "assistant", "content": "X"}]}])
    assert run(tmp_path, [fed], golden=golden)["golden_candidates"] == 1  # a system prompt is the prompt too


def test_a_malformed_golden_line_is_counted_and_stops_nothing(tmp_path):
    golden = tmp_path / "golden"
    golden.mkdir()
    known = exchange(1, "bad", correction="UNSAFE")
    good = json.dumps({"messages": [*known["messages"], {"role": "assistant", "content": "UNSAFE"}]})
    (golden / "g.jsonl").write_text("{broken\n" + good + "\n" + '{"messages": "no"}\n')
    r = run(tmp_path, [known, exchange(2, "bad", correction="UNSAFE")], golden=golden)
    assert r["golden"] == {"items": 1, "rejected": 2}
    assert r["left_out"]["in_golden"] == 1 and r["golden_candidates"] == 1


def spec(**limits) -> dict:
    p = MonitoringParams(**{"min_verdicts": 4, **limits})
    evaluate = {"finetuned": {"golden": {"by_bucket": {"scan_verdict": {"pass_rate": 1.0}}}}}
    return monitoring.spec("m", "v1.0.0", "v0.9.0", evaluate, p)


def test_monitoring_fires_on_a_bad_bucket_in_the_window_only(tmp_path):
    s = spec(max_bad_rate=0.5)
    assert s["rollback"]["command"] == "make rollback VERSION=v0.9.0 STAGE=prod"
    recent = [
        {**exchange(i, "bad" if i < 8 else "good"), "at": f"2026-11-1{i}T10:00:00Z"} for i in range(4, 10)
    ]
    old = [{**exchange(i, "good"), "at": "2026-10-01T00:00:00Z"} for i in range(20, 40)]  # outside 7 days
    other = [{**exchange(i, "bad"), "model_version": "v0.9.0"} for i in range(40, 50)]  # another version
    r = run(tmp_path, recent + old + other, spec=s)
    assert r["monitoring"]["verdicts_in_window"] == 6
    assert r["monitoring"]["triggered"] == ["bucket 'scan_verdict': 4 of 6 verdicts bad (0.67 > 0.50)"]
    assert r["monitoring"]["rollback"]["to"] == "v0.9.0"
    calm = run(tmp_path, recent[-4:] + old, spec=s)
    assert calm["monitoring"]["triggered"] == [] and calm["monitoring"]["rollback"] is None


def test_one_bad_critical_answer_is_enough(tmp_path):
    critical = exchange(1, "bad")
    critical["meta"]["risk"] = "critical"
    assert monitoring.triggered(spec(), {}, 1) == ["1 bad verdicts on critical requests (> 0)"]
    assert run(tmp_path, [critical], spec=spec())["monitoring"]["triggered"]


@pytest.mark.parametrize("with_alarm", [False, True])
def test_the_command_exits_3_on_a_rollback_trigger(tmp_path, with_alarm):
    root = Path(__file__).resolve().parents[1]
    demo_data.main(tmp_path / "data", n_per_bucket=40, seed=0, feedback=True)
    cmd = [sys.executable, "-m", feedback.__name__, str(tmp_path / "data" / "feedback")]
    cmd += ["--golden", str(tmp_path / "data" / "golden"), "--out", str(tmp_path / "out")]
    cmd += ["--metrics", str(tmp_path / "m.json"), "--params", str(root / "params.yaml")]
    if with_alarm:
        (tmp_path / "spec.yaml").write_text(json.dumps(spec(max_bad_rate=0.01, min_verdicts=1)))
        cmd += ["--monitoring", str(tmp_path / "spec.yaml")]
    done = subprocess.run(cmd, capture_output=True, text=True, env={"PYTHONPATH": str(root / "src")})
    assert done.returncode == (3 if with_alarm else 0), done.stderr
    assert ("ROLLBACK TRIGGER" in done.stderr) == with_alarm
    assert "golden candidates" in done.stdout
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert metrics["rows_in"] == 20 and metrics["pii_found_by_type"] == {"email": 1}


def test_an_id_the_export_already_prefixed_is_kept(tmp_path):
    run(tmp_path, [{**exchange(2, "bad", correction="UNSAFE"), "id": "fb-0002"}])
    assert [c["id"] for c in out(tmp_path, "golden_candidates")] == ["fb-0002"]  # not fb-fb-0002
