"""The PR comparison report, releases and rollbacks, in scratch Git + DVC repositories."""

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import git_dvc_repo, sh
from {{ cookiecutter.package_name }} import compare, release, rollback
from {{ cookiecutter.package_name }}.registry import audit, cards, workspace
from {{ cookiecutter.package_name }}.views import tables
from {{ cookiecutter.package_name }}.views.tables import comparison_table

ROOT = Path(__file__).resolve().parents[1]


def evaluation(rate: float, passed: bool) -> dict:
    summary = {
        "pass_rate": rate,
        "n": 10,
        "passed": int(rate * 10),
        "by_bucket": {"verdict": {"pass_rate": rate}},
        "by_risk": {"critical": {"pass_rate": rate, "n": 10, "passed": int(rate * 10)}},
    }
    reasons = [] if passed else ["golden: risk tier 'critical' pass rate 0.70 < 1.00 (3 of 10 failed)"]
    return {
        "base": {"golden": {**summary, "pass_rate": 0.0}},
        "finetuned": {"golden": summary},
        "gate": {"passed": passed, "reasons": reasons},
    }


def write_run(rate: float, passed: bool, losses: list[float]) -> None:
    Path("metrics").mkdir(exist_ok=True)
    Path("metrics/evaluate.json").write_text(json.dumps(evaluation(rate, passed)))
    curve = Path("plots/train/plots/metrics/loss.tsv")
    curve.parent.mkdir(parents=True, exist_ok=True)
    curve.write_text("step\tloss\n" + "".join(f"{i}\t{x}\n" for i, x in enumerate(losses)))


@pytest.fixture
def repo(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copy(ROOT / "dvc.yaml", "dvc.yaml")
    shutil.copy(ROOT / "params.yaml", "params.yaml")
    git_dvc_repo()
    write_run(0.9, True, [2.0, 1.0, 0.5])
    sh("git", "add", "-A")
    sh("git", "commit", "--quiet", "-m", "main run")
    return tmp_path


def test_compare_shows_both_runs_params_and_the_gate(repo):
    sh("git", "checkout", "--quiet", "-b", "pr")
    params = Path("params.yaml")
    params.write_text(params.read_text().replace("num_train_epochs:", "num_train_epochs: 2 #", 1))
    write_run(0.7, False, [2.0, 1.5, 1.2])
    sh("git", "commit", "--quiet", "-am", "fewer epochs")
    report = compare.main("main", Path("reports/compare"))
    assert "**Gate: FAILED**" in report and "risk tier 'critical' pass rate 0.70" in report
    assert "| golden/all | 0.90 | 0.70 | -0.20 |" in report
    assert "| golden/verdict | 0.90 | 0.70 | -0.20 |" in report
    assert "train.sft.num_train_epochs" in report  # from `dvc params diff`
    svg = Path("reports/compare/training-loss.svg").read_text()
    assert ">main<" in svg and ">this<" in svg  # both revisions' curves, named in the legend


def test_release_refuses_without_a_clean_tree_a_valid_version_or_a_passed_gate(repo):
    with pytest.raises(release.ReleaseError, match="expected semantic version like v1.2.0"):
        release.main("1.2", None, push=False)
    Path("scratch.txt").write_text("x")
    with pytest.raises(release.ReleaseError, match="uncommitted changes"):
        release.main("v1.0.0", None, push=False)
    Path("scratch.txt").unlink()
    with pytest.raises(release.ReleaseError, match="`dvc status` is not clean"):  # never reproduced
        release.main("v1.0.0", None, push=False)
    assert sh("git", "tag") == ""


# A pipeline in miniature: the same shape of outputs as the real one, made in a blink, so that
# releases, pushes and rollbacks run end to end against real Git, DVC and GTO.
MAKE = """import json, sys, yaml
from pathlib import Path
seed = yaml.safe_load(Path("params.yaml").read_text())["train"]["sft"]["seed"]
if sys.argv[1] == "base":
    Path("models/base").mkdir(parents=True, exist_ok=True)
    lineage = {"source": "embedded", "model": "embedded", "revision": "r0"}
    Path("models/base/lineage.json").write_text(json.dumps(lineage))
else:
    for d in ("models/merged", "metrics", "reports/evaluate"):
        Path(d).mkdir(parents=True, exist_ok=True)
    Path("models/merged/model.safetensors").write_bytes(bytes([seed % 256]) * 4096)
    Path("models/merged/config.json").write_text(json.dumps({"seed": seed}))
    Path("metrics/evaluate.json").write_text(json.dumps(EVALUATION))
    Path("reports/evaluate/predictions.jsonl").write_text(json.dumps({"seed": seed}) + "\\n")
"""


def full_evaluation() -> dict:
    def summary(rate: float) -> dict:
        stats = {"n": 10, "passed": int(rate * 10), "pass_rate": rate}
        return {**stats, "by_bucket": {"verdict": stats, "tool_use": stats}, "by_risk": {"critical": stats}}

    return {
        "base": {"golden": summary(0.2), "test": summary(0.3)},
        "base_prompted": {"golden": summary(0.5), "test": summary(0.4)},
        "fewshot": {"shots": 2, "examples": 6, "examples_used_mean": 6.0, "trimmed_items": 0},
        "finetuned": {"golden": {**summary(0.9), "consistency": {"agreement": 0.95}}, "test": summary(0.8)},
        "gate": {"passed": True, "reasons": []},
    }


def test_the_model_card_shows_the_tables_of_the_evaluation_report():
    metrics = full_evaluation()
    shown = tables.evaluation_tables(metrics)
    assert shown.startswith("Baselines: the base model as it is, and with 6 solved train-split examples")
    for table in (comparison_table(metrics, s, g, t) for s in ("golden", "test")
                  for g, t in (("by_bucket", "bucket"), ("by_risk", "risk tier"))):  # fmt: skip
        assert table in shown
    assert "| golden bucket | n | base | base (2-shot) | fine-tuned | delta vs best baseline |" in shown
    assert "| tool_use | 10 | 0.20 | 0.50 | 0.90 | +0.40 |" in shown
    del metrics["base_prompted"], metrics["fewshot"]  # evaluate.prompted.enabled: false
    assert "| tool_use | 10 | 0.20 | – | 0.90 | +0.70 |" in tables.evaluation_tables(metrics)


def test_the_merged_model_card_is_a_hub_card_with_its_base_and_lineage():
    from huggingface_hub import ModelCard

    info = {"method": "lora", "dtype": "float32", "results": {"train_loss": 1.25, "eval_loss": 1.5}}
    report = {"merged": {"max_rel_diff": 1e-6, "top1_agreement": 1.0}, "rtol": 1e-4}
    base = {"model": "Qwen/Qwen2.5-0.5B-Instruct", "revision": "abc123"}
    card = cards.merged_card(info, base, "1a2b3c4", {"models/trained": "d41d8cd9.dir"}, report)
    data = ModelCard(card).data  # the front matter the Hub reads
    assert (data.base_model, data.base_model_revision) == ("Qwen/Qwen2.5-0.5B-Instruct", "abc123")
    assert data.tags == ["fine-tuned", "lora"]
    assert "with **lora**" in card and "| `models/trained` | `d41d8cd9.dir` |" in card
    assert "mean train loss over the run 1.25, validation loss 1.5" in card  # trainer's train_loss is a mean


def test_the_card_puts_the_task_before_the_general_probes_and_says_how_reviewers_agree():
    metrics = full_evaluation()
    copy = {"n": 8, "passed": 0, "pass_rate": 0.0}
    probes = {**copy, "by_bucket": {"general_copy": copy}}
    metrics["finetuned"] = {"general": probes, **metrics["finetuned"]}
    metrics["base"]["general"] = metrics["base_prompted"]["general"] = probes
    text = "\n".join(tables.results_tables(metrics))
    first = [text.index(f"| {s} bucket |") for s in ("golden", "test", "general")]
    assert first == sorted(first)
    assert cards._weakest(metrics) == "test/tool_use at 0.80"  # a probe is not the weakest task bucket
    review = {"reviewers": ["a", "b"], "ab": {"votes": 10, "win_rate": 0.7}}
    agreed = {"ab": {"reviewer_pairs": 1, "shared_items": 5, "raw": 0.8, "kappa": 0.6}, "sample": None}
    assert cards._review_text({**review, "agreement": agreed}).endswith(
        "win rate 0.7; reviewers agree on 80% of 5 shared items, Cohen's kappa 0.60."
    )
    assert "agreement not measured" in cards._review_text({**review, "agreement": {"ab": None}})


def dvc_yaml() -> dict:
    python = sys.executable
    return {
        "stages": {
            "base": {"cmd": f"{python} make.py base", "deps": ["make.py"], "outs": ["models/base"]},
            "evaluate": {
                "cmd": f"{python} make.py evaluate",
                "deps": ["make.py", "models/base"],
                "params": ["train.sft.seed"],
                "outs": ["models/merged", {"reports/evaluate": {"cache": False}}],
                "metrics": [{"metrics/evaluate.json": {"cache": False}}],
            },
        },
        "artifacts": {"triage": {"path": "models/merged", "type": "model"}},
    }


def commit_all(message: str) -> None:
    sh("git", "add", "-A")
    sh("git", "commit", "--quiet", "-m", message)


def train(seed: int | None = None) -> None:
    """A new model version: change the seed, reproduce, commit."""
    if seed is not None:
        params = Path("params.yaml")
        params.write_text(re.sub(r"seed: \d+\n    bf16", f"seed: {seed}\n    bf16", params.read_text()))
    sh("dvc", "repro", "--quiet")
    commit_all(f"train seed={seed}")


@pytest.fixture
def pipeline(tmp_path, monkeypatch):
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.chdir(project)
    shutil.copy(ROOT / "params.yaml", "params.yaml")
    Path("make.py").write_text(MAKE.replace("EVALUATION", repr(full_evaluation())))
    Path("dvc.yaml").write_text(yaml.safe_dump(dvc_yaml(), sort_keys=False))
    git_dvc_repo("Ana Silva", "ana@example.com")
    sh("git", "init", "--quiet", "--bare", str(tmp_path / "origin.git"))
    sh("git", "remote", "add", "origin", str(tmp_path / "origin.git"))
    sh("dvc", "remote", "add", "--default", "storage", str(tmp_path / "storage"))
    train()
    return project


def test_outputs_that_differ_from_dvc_lock_are_found_by_dvc_status(pipeline):
    assert workspace.mismatches() == []
    Path("models/merged/config.json").write_text("{}")
    shutil.rmtree("reports/evaluate")  # an output with `cache: false`: DVC compares it with dvc.lock too
    wrong = workspace.mismatches()
    assert [m.split(":")[0] for m in wrong] == ["models/merged", "reports/evaluate"]
    assert wrong[0].startswith("models/merged: modified (stage ") and "deleted" in wrong[1]


def test_a_release_writes_its_record_cards_audit_line_and_tags(pipeline):
    produced_by = sh("git", "rev-parse", "HEAD").strip()
    record = release.main("v1.0.0", "prod", push=False)
    assert sh("git", "status", "--porcelain") == ""
    assert sh("git", "log", "-1", "--format=%s").strip() == "Release triage v1.0.0"
    assert set(sh("git", "tag").split()) == {"triage@v1.0.0", "triage#prod#1"}
    assert record["git_commit"] == produced_by and record["released_by"] == "Ana Silva <ana@example.com>"
    assert json.loads(Path("releases/v1.0.0.json").read_text()) == record
    card = Path("releases/v1.0.0.md").read_text()
    assert "## Gate: PASSED" in card and "base_model: embedded" in card
    assert "| tool_use | 10 | 0.20 | 0.50 | 0.90 | +0.40 |" in card  # golden, both baselines
    assert "| test risk tier | n |" in card and "| critical | 10 | 0.30 | 0.40 | 0.80 | +0.40 |" in card
    assert f"`{record['dvc_lock_outs']['models/merged']}`" in card
    assert Path("releases/v1.0.0.data.md").read_text().startswith("# Data card: v1.0.0")
    spec = yaml.safe_load(Path("releases/v1.0.0.monitoring.yaml").read_text())
    assert spec["baseline_pass_rates"]["golden"] == {"verdict": 0.9, "tool_use": 0.9}
    assert spec["rollback"] == {"trigger": spec["rollback"]["trigger"], "to": None, "command": None}
    [event] = audit.entries()
    assert (event["event"], event["version"], event["commit"], event["prev"]) == (
        "release",
        "v1.0.0",
        produced_by,
        "",
    )
    assert event["data_and_models"] == {
        k: v for k, v in record["dvc_lock_outs"].items() if k.startswith("models/")
    }
    assert event["gate"]["passed"] and event["signoff"] is None and event["by"].startswith("Ana Silva")
    again = release.main("v1.0.0", "prod", push=False)  # the same command again changes nothing
    assert again == record and sh("git", "tag").split().count("triage#prod#1") == 1


@pytest.mark.slow
def test_the_audit_log_is_a_chain_that_refuses_edits(pipeline):
    release.main("v1.0.0", None, push=False)
    train(seed=7)
    release.main("v2.0.0", None, push=False)
    first, second = Path("releases/audit.jsonl").read_bytes().splitlines()
    assert json.loads(second)["prev"] == hashlib.sha256(first).hexdigest()
    spec = yaml.safe_load(Path("releases/v2.0.0.monitoring.yaml").read_text())
    assert spec["rollback"]["command"] == "make rollback VERSION=v1.0.0 STAGE=prod"
    with pytest.raises(release.ReleaseError, match="already released at commit"):
        release.main("v1.0.0", None, push=False)
    log = Path("releases/audit.jsonl")
    log.write_bytes(log.read_bytes().replace(b"Ana Silva", b"Someone Else", 1))
    commit_all("tidy the log")
    train(seed=8)
    with pytest.raises(release.ReleaseError, match="the log was edited|lines were edited"):
        release.main("v3.0.0", None, push=False)


def test_an_edit_of_the_last_audit_line_is_found_against_the_head_anchored_in_git(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    git_dvc_repo()
    event = {"by": "ana", "at": "2026-01-01T00:00:00Z", "commit": "c0ffee"}
    audit.append({**event, "event": "release", "version": "v1.0.0"})
    sh("git", "add", "-A")
    sh("git", "commit", "--quiet", "-m", audit.message("Release triage v1.0.0"))
    audit.append({**event, "event": "rollback", "reason": "tool_use failures"})
    sh("git", "add", "-A")
    sh("git", "commit", "--quiet", "-m", audit.message("Roll back triage"))
    assert audit.git_problems() == [] and "Audit-Log-Head: 2 " in sh("git", "log", "-1", "--format=%B")
    log = Path("releases/audit.jsonl")
    log.write_bytes(log.read_bytes().replace(b"tool_use failures", b"routine maintenance"))
    assert audit.problems() == []  # the chain cannot see it: nothing follows the last line
    [found] = audit.git_problems()
    assert found.startswith("releases/audit.jsonl:2 differs from the log anchored in commit")
    commit_all("tidy the log")  # committed, then chained in by the next event: still found
    audit.append({**event, "event": "release", "version": "v2.0.0"})
    assert audit.git_problems()[0].startswith("releases/audit.jsonl:2 differs")
    sh("git", "add", "-A")
    sh("git", "commit", "--quiet", "-m", audit.message("Release triage v2.0.0"))  # a forged anchor
    assert "releases/audit.jsonl:2 at commit" in audit.git_problems()[0]


def test_rollback_push_from_a_detached_head_is_refused_before_anything_changes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    git_dvc_repo()
    sh("git", "commit", "--quiet", "--allow-empty", "-m", "start")
    sh("git", "checkout", "--quiet", "--detach")  # how CI checks out a commit
    with pytest.raises(
        release.ReleaseError, match="--push from a detached HEAD would push a branch named HEAD"
    ):
        rollback.main("v1.0.0", "prod", reason="r", push=True)
    assert sh("git", "status", "--porcelain") == "" and sh("git", "log", "--format=%s") == "start\n"


def test_a_changed_output_stops_the_release(pipeline):
    Path("models/merged/model.safetensors").write_bytes(b"tampered")  # ignored by Git, tracked by DVC
    assert sh("git", "status", "--porcelain") == ""
    with pytest.raises(release.ReleaseError, match="does not hold the outputs(.|\n)*models/merged: modified"):
        release.main("v1.0.0", None, push=False)
    assert sh("git", "tag") == ""


def require_review(win_rate: float = 0.0) -> None:
    params = Path("params.yaml")
    text = params.read_text().replace("require_review: false", "require_review: true")
    params.write_text(text.replace("min_review_win_rate: 0.0", f"min_review_win_rate: {win_rate}"))
    commit_all("review required")


def review_metrics(predictions_sha256: str, win_rate: float) -> None:
    sheet = {"created_at": "2026-11-01T00:00:00Z", "predictions_sha256": predictions_sha256, "seed": 0}
    ab = {"votes": 12, "win_rate": win_rate, "coverage": 1.0}
    review = {"sheet": sheet, "reviewers": ["ana", "ben"], "ab": ab, "agreement": {"ab": {"raw": 0.9}}}
    Path("metrics/review.json").write_text(json.dumps(review))
    commit_all("review")


def test_a_required_review_must_be_of_this_model_or_signed_off(pipeline):
    require_review(win_rate=0.7)
    with pytest.raises(
        release.ReleaseError, match="require_review is true and metrics/review.json is missing"
    ):
        release.main("v1.0.0", None, push=False)
    review_metrics("0" * 64, 0.9)
    with pytest.raises(release.ReleaseError, match="review.json is of another model's answers"):
        release.main("v1.0.0", None, push=False)
    current = hashlib.sha256(Path("reports/evaluate/predictions.jsonl").read_bytes()).hexdigest()
    review_metrics(current, 0.6)
    with pytest.raises(
        release.ReleaseError, match="0.60 of A/B verdicts, below release.min_review_win_rate=0.7"
    ):
        release.main("v1.0.0", None, push=False)
    review_metrics(current, 0.9)
    record = release.main("v1.0.0", None, push=False)
    assert record["review"]["source"] == "review" and record["review"]["reviewers"] == ["ana", "ben"]
    assert audit.entries()[-1]["signoff"]["ab"]["win_rate"] == 0.9
    assert (
        "2 reviewer(s), 12 blind A/B verdicts: fine-tuned win rate 0.9"
        in Path("releases/v1.0.0.md").read_text()
    )


def test_signed_off_by_stands_in_for_a_review(pipeline):
    require_review()
    release.main("v1.0.0", None, push=False, signed_off_by="Dana Lead")
    assert audit.entries()[-1]["signoff"] == {"source": "flag", "signed_off_by": "Dana Lead"}


def origin_tags(project: Path) -> set[str]:
    return set(sh("git", "--git-dir", str(project.parent / "origin.git"), "tag").split())


@pytest.mark.slow
def test_push_sends_data_first_shows_why_it_failed_and_resumes_without_a_second_commit(pipeline):
    storage = pipeline.parent / "storage"
    storage.write_text("a file where the remote directory should be")
    head = sh("git", "rev-parse", "HEAD")
    with pytest.raises(release.ReleaseError, match="pushing DVC data") as failed:
        release.main("v1.0.0", "prod", push=True)
    assert "nothing was committed or tagged" in str(failed.value) and "dvc push" in str(failed.value)
    assert sh("git", "rev-parse", "HEAD") == head and sh("git", "tag") == ""
    storage.unlink()
    release.main("v1.0.0", "prod", push=True)
    assert origin_tags(pipeline) == {"triage@v1.0.0", "triage#prod#1"} and any(storage.rglob("*"))

    train(seed=7)
    sh("git", "remote", "set-url", "origin", str(pipeline.parent / "nowhere.git"))
    with pytest.raises(release.ReleaseError, match="pushing the release commit and tags") as failed:
        release.main("v2.0.0", None, push=True)
    assert "nowhere.git" in str(failed.value)  # git's own words say why
    released = sh("git", "rev-parse", "HEAD")
    record = Path("releases/v2.0.0.json").read_bytes()
    sh("git", "remote", "set-url", "origin", str(pipeline.parent / "origin.git"))
    release.main("v2.0.0", None, push=True)
    assert sh("git", "rev-parse", "HEAD") == released  # resumed: no second release commit
    assert Path("releases/v2.0.0.json").read_bytes() == record and len(audit.entries()) == 2
    assert "triage@v2.0.0" in origin_tags(pipeline)
    assert sh("git", "--git-dir", str(pipeline.parent / "origin.git"), "rev-parse", "main") == released


@pytest.mark.slow
def test_rollback_refuses_when_the_restored_dvc_lock_is_not_the_released_one(pipeline):
    release.main("v1.0.0", "prod", push=True)
    record = json.loads(Path("releases/v1.0.0.json").read_text())
    record["dvc_lock_outs"]["models/merged"] = "0" * 32 + ".dir"
    Path("releases/v1.0.0.json").write_text(json.dumps(record))
    commit_all("edit the record")
    with pytest.raises(release.ReleaseError, match="models/merged: .* in dvc.lock, 0{32}.dir in the release"):
        rollback.main("v1.0.0", "prod")


def test_rollback_restores_files_data_and_stage_in_a_new_commit(pipeline):
    release.main("v1.0.0", "prod", push=True)
    v1 = {p: Path(p).read_bytes() for p in ("params.yaml", "dvc.lock", "models/merged/model.safetensors")}
    train(seed=7)
    release.main("v2.0.0", "prod", push=True)
    assert Path("models/merged/model.safetensors").read_bytes() != v1["models/merged/model.safetensors"]
    shutil.rmtree(".dvc/cache")  # only the remote still has version 1's weights
    with pytest.raises(release.ReleaseError, match="released: v1.0.0, v2.0.0"):
        rollback.main("v0.9.0", "prod")
    before = sh("git", "rev-parse", "HEAD").strip()
    event = rollback.main("v1.0.0", "prod", reason="tool_use failures in production")
    assert {p: Path(p).read_bytes() for p in v1} == v1
    assert "Data and pipelines are up to date" in sh("dvc", "status")
    assert sh("git", "status", "--porcelain") == "" and Path("releases/v2.0.0.json").exists()
    assert (
        sh("git", "log", "-1", "--format=%s").strip()
        == "Roll back triage to v1.0.0: tool_use failures in production"
    )
    assert (event["event"], event["from_commit"], audit.entries()[-1]) == ("rollback", before, event)
    assert sh("gto", "show", "triage#prod", "--ref").strip() == "triage@v1.0.0"
    assert audit.problems() == []
    log = Path("releases/audit.jsonl")
    log.write_bytes(log.read_bytes().replace(b"tool_use failures in production", b"routine"))
    commit_all("tidy the log")
    train(seed=8)
    with pytest.raises(release.ReleaseError, match=r"audit.jsonl:3 differs from the log anchored"):
        release.main("v3.0.0", None, push=False)


# The runbook's steps, run as it writes them: its ```bash blocks, in a shell, in a scratch project.
RUNBOOK = (ROOT / "docs" / "runbook.md").read_text()


def runbook_commands(section: str) -> list[str]:
    text = RUNBOOK.split(f"\n## {section}\n")[1].split("\n## ")[0]
    blocks = re.findall(r"```bash\n(.*?)```", text, re.S)
    return [line.split("  # ")[0].strip() for block in blocks for line in block.splitlines() if line.strip()]


def shell(command: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src"),
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    return subprocess.run(["bash", "-c", command], capture_output=True, text=True, env=env)


def verdict(i: int, answer: str, verdict: str) -> dict:
    return {
        "id": f"x{i}",
        "at": "2026-11-10T10:00:00Z",
        "model_version": "v1.3.0",
        "messages": [{"role": "user", "content": f"Is host{i}.example.net on the blocklist?"}],
        "answer": answer,
        "verdict": verdict,
        "meta": {"bucket": "verdict", "risk": "critical"},
    }


@pytest.mark.slow
def test_the_runbook_watch_and_roll_back_steps_do_what_it_says(pipeline):
    for name in ("Makefile", ".gitignore"):
        shutil.copy(ROOT / name, name)
    commit_all("the project's Makefile and .gitignore")
    release.main("v1.2.0", "prod", push=True)
    train(seed=7)
    [release_step] = [c for c in runbook_commands("Release a version") if ".release v1.3.0" in c]
    assert shell(release_step).returncode == 0

    [by_hand, scheduled] = runbook_commands("Watch it")
    feedback_dir = Path("data/feedback")
    feedback_dir.mkdir(parents=True)
    (feedback_dir / "export.jsonl").write_text(
        json.dumps({**verdict(0, "BLOCK", "good"), "model_version": "v1.0"})
    )
    quiet = shell(scheduled)  # no verdicts on v1.3.0: said, not silent
    assert quiet.returncode == 0 and "v1.3.0: no verdicts on it in data/feedback" in quiet.stdout, (
        quiet.stderr
    )
    commit_all("feedback, none on v1.3.0")

    (feedback_dir / "export.jsonl").write_text(json.dumps(verdict(1, "ALLOW", "bad")) + "\n")
    assert shell(by_hand).returncode == 2  # make's own status for any failure
    alarm = shell(scheduled)
    assert alarm.returncode == 3, alarm.stderr  # what the runbook pages on
    printed = alarm.stderr.strip().splitlines()[-1].removeprefix("feedback: ")
    assert "make rollback VERSION=v1.2.0 STAGE=prod REASON=" in printed
    rolled = shell(printed)  # the command it prints runs on the tree it just changed
    assert rolled.returncode == 0, rolled.stderr + rolled.stdout
    assert audit.entries()[-1]["reason"] == "1 bad verdicts on critical requests (> 0)"
    assert sh("gto", "show", "triage#prod", "--ref").strip() == "triage@v1.2.0"
