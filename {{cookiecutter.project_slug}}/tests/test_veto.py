"""Data review before training: a data-only sheet, verdicts, a veto list that curate honours."""

import json
import random
from collections import Counter

import pytest

from {{ cookiecutter.package_name }} import review
from {{ cookiecutter.package_name }}.curate import main as curate_main
from {{ cookiecutter.package_name }}.data import veto as veto_mod
from {{ cookiecutter.package_name }}.data.jsonl import read_jsonl, write_jsonl
from {{ cookiecutter.package_name }}.errors import UserError
from {{ cookiecutter.package_name }}.human import sheet
from {{ cookiecutter.package_name }}.params.curate import CurateParams
from {{ cookiecutter.package_name }}.params.review import ReviewParams

POINTS = {("alpha", "common"): 300, ("alpha", "rare"): 3, ("beta", "mid"): 80, ("beta", "one"): 1}


def raw_rows():
    rng, rows = random.Random(0), []
    for (bucket, point), n in POINTS.items():
        for i in range(n):
            user = " ".join(f"w{rng.randrange(10**6)}" for _ in range(8))  # no two rows near-duplicates
            rows.append(
                {
                    "id": f"{point}-{i}",
                    "messages": [
                        {"role": "user", "content": user},
                        {"role": "assistant", "content": f"a{i}"},
                    ],
                    "meta": {"bucket": bucket, "knowledge_point": point},
                }
            )
    return rows


@pytest.fixture
def project(tmp_path):
    write_jsonl(tmp_path / "raw" / "raw.jsonl", raw_rows())
    report = curate_main(
        CurateParams(), tmp_path / "raw", tmp_path / "curated", tmp_path / "rep", tmp_path / "m.json"
    )
    assert report["kept"] == sum(POINTS.values())
    return tmp_path


def test_the_data_sheet_reads_every_knowledge_point_not_only_the_common_ones(project):
    data = review.export_data(
        ReviewParams(data_rows=120), project / "curated" / "curated.jsonl", project / "rd"
    )
    points = Counter((i["bucket"], i["knowledge_point"]) for i in data["items"])
    assert len(data["items"]) == 120 and len({i["row_id"] for i in data["items"]}) == 120
    assert points[("alpha", "rare")] == 3 and points[("beta", "one")] == 1  # all they have
    # buckets take turns (60 rows each), and within a bucket its points
    assert (points[("alpha", "common")], points[("beta", "mid")]) == (57, 59)
    assert data["predictions_sha256"] is None and (project / "rd" / "review.html").exists()
    again = review.export_data(
        ReviewParams(data_rows=120), project / "curated" / "curated.jsonl", project / "rd"
    )
    assert again["created_at"] == data["created_at"]  # same data: reviewers carry on


def test_a_flagged_row_is_quarantined_by_the_next_curate_with_the_note(project):
    rd = project / "rd"
    data = review.export_data(ReviewParams(data_rows=20), project / "curated" / "curated.jsonl", rd)
    bad, good = data["items"][0], data["items"][1]
    verdicts = [
        {"reviewer": "ana", "item": bad["id"], "verdict": "bad", "note": "answer is wrong", "at": "t1"},
        {"reviewer": "bo", "item": bad["id"], "verdict": "bad", "note": "", "at": "t2"},
        {"reviewer": "ana", "item": good["id"], "verdict": "bad", "note": "", "at": "t3"},
        {"reviewer": "ana", "item": good["id"], "verdict": "ok", "note": "", "at": "t4"},  # changed her mind
    ]
    write_jsonl(rd / "verdicts.jsonl", verdicts)
    result = review.veto(rd, project / "veto.jsonl")
    assert result == {"rows_reviewed": 2, "flagged": 1, "added": 1, "removed": 0, "veto_total": 1}
    (entry,) = read_jsonl(project / "veto.jsonl")
    assert (entry["row_id"], entry["reviewers"], entry["notes"]) == (
        bad["row_id"],
        ["ana", "bo"],
        ["answer is wrong"],
    )
    assert review.veto(rd, project / "veto.jsonl")["added"] == 0  # idempotent

    # the row moves to another file and line: the veto follows its content, not its id
    rows = raw_rows()
    moved = next(r for r in rows if r["id"] == bad["row_id"])
    rows.remove(moved)
    del moved["id"]
    write_jsonl(project / "raw" / "raw.jsonl", rows)
    write_jsonl(project / "raw" / "more.jsonl", [moved])
    report = curate_main(
        CurateParams(),
        project / "raw",
        project / "c2",
        project / "rep",
        project / "m2.json",
        veto=project / "veto.jsonl",
    )
    assert report["quarantined_by_reason"] == {"vetoed": 1}
    assert (report["rows_in"], report["kept"], report["veto_unmatched"]) == (
        sum(POINTS.values()),
        report["rows_in"] - 1,
        0,
    )
    (record,) = read_jsonl(project / "c2" / "quarantine.jsonl")
    assert record["file"].endswith("more.jsonl") and record["line"] == 1
    assert "ana, bo: answer is wrong" in record["message"] and "veto.jsonl" in record["message"]


def test_a_reviewer_who_changes_her_mind_clears_her_veto_by_time_not_file_order(project):
    rd = project / "rd"
    data = review.export_data(ReviewParams(data_rows=5), project / "curated" / "curated.jsonl", rd)
    item = data["items"][0]["id"]
    write_jsonl(
        rd / "verdicts.jsonl", [{"reviewer": "ana", "item": item, "verdict": "bad", "note": "", "at": "t1"}]
    )
    assert review.veto(rd, project / "veto.jsonl")["veto_total"] == 1
    # her later "ok" comes from an offline page's file, which sorts before the server's
    write_jsonl(
        rd / "verdicts-ana.jsonl",
        [{"reviewer": "ana", "item": item, "verdict": "ok", "note": "", "at": "t2"}],
    )
    result = review.veto(rd, project / "veto.jsonl")
    assert (result["removed"], result["veto_total"]) == (1, 0)
    assert list(read_jsonl(project / "veto.jsonl")) == []


def test_a_stale_veto_is_reported_and_a_bad_veto_line_names_file_line_and_field(project, tmp_path):
    stale = {"row_sha256": "0" * 64, "row_id": "gone", "reviewers": ["ana"], "notes": []}
    (tmp_path / "veto.jsonl").write_text(json.dumps(stale) + "\n")
    with pytest.raises(UserError, match=r"1 of 1 rows in the veto list match no curated row"):
        curate_main(
            CurateParams(),
            project / "raw",
            project / "c3",
            project / "rep",
            project / "m.json",
            veto=tmp_path / "veto.jsonl",
        )
    report = curate_main(
        CurateParams(stale_veto="warn"),
        project / "raw",
        project / "c3",
        project / "rep",
        project / "m3.json",
        veto=tmp_path / "veto.jsonl",
    )
    assert (report["veto_entries"], report["veto_unmatched"], report["quarantined"]) == (1, 1, 0)
    (tmp_path / "veto.jsonl").write_text(json.dumps(stale) + "\n" + json.dumps({"row_sha256": "abc"}) + "\n")
    with pytest.raises(UserError, match=r"veto.jsonl:2: field 'row_sha256' must be 64 lowercase hex digits"):
        veto_mod.load(tmp_path / "veto.jsonl")
    (tmp_path / "veto.jsonl").write_text(json.dumps({**stale, "notes": [1]}) + "\n")
    with pytest.raises(UserError, match=r"veto.jsonl:1: field 'notes' must be a list of strings"):
        veto_mod.load(tmp_path / "veto.jsonl")
    (tmp_path / "veto.jsonl").write_text("{oops\n")
    with pytest.raises(UserError, match=r"veto.jsonl:1: invalid JSON"):
        veto_mod.load(tmp_path / "veto.jsonl")


def test_export_data_needs_curated_rows_and_guards_verdicts_on_other_data(project):
    with pytest.raises(UserError, match=r"no curated rows to review; run `dvc repro curate` first"):
        review.export_data(ReviewParams(), project / "nothing.jsonl", project / "rd")
    curated = project / "curated" / "curated.jsonl"
    review.export_data(ReviewParams(data_rows=5), curated, project / "rd")
    write_jsonl(project / "rd" / "verdicts.jsonl", [])
    curated.write_text(curated.read_text().splitlines(keepends=True)[0])
    with pytest.raises(UserError, match=r"holds verdicts on other curated data"):
        review.export_data(ReviewParams(data_rows=5), curated, project / "rd")
    assert (
        len(review.export_data(ReviewParams(data_rows=5), curated, project / "rd", force=True)["items"]) == 1
    )


def test_rows_are_drawn_in_turn_and_never_twice():
    rows = [
        {
            "id": str(i),
            "messages": [{"role": "user", "content": str(i)}],
            "meta": {"knowledge_point": str(i % 3)},
        }
        for i in range(10)
    ]
    items = sheet.data_items(rows, rows=100, seed=1)
    assert sorted(int(i["row_id"]) for i in items) == list(range(10))
    assert Counter(i["knowledge_point"] for i in sheet.data_items(rows, rows=6, seed=1)) == {
        "0": 2,
        "1": 2,
        "2": 2,
    }


def test_a_bucket_with_many_points_does_not_crowd_out_another():
    rows = [
        {"id": f"{b}{i}", "messages": [{"role": "user", "content": f"{b}{i}"}],
         "meta": {"bucket": b, "knowledge_point": f"p{i % n}"}}
        for b, n, count in (("ioc", 150, 300), ("tool_use", 20, 40)) for i in range(count)
    ]  # fmt: skip
    buckets = Counter(i["bucket"] for i in sheet.data_items(rows, rows=120, seed=0))
    assert buckets == {"ioc": 80, "tool_use": 40}  # tool_use has 40 rows in all, ioc takes the rest


def test_a_vetoed_rows_near_duplicates_stay_out_and_a_corrected_row_is_kept():
    from {{ cookiecutter.package_name }}.data.filters import Veto, fingerprint
    from {{ cookiecutter.package_name }}.data.records import curate

    def row(system, answer):
        user = "Scanner result for invoice.pdf.exe: level 7/10. Verdict? Please answer in one word."
        return {"messages": [{"role": "system", "content": system}, {"role": "user", "content": user},
                             {"role": "assistant", "content": answer}]}  # fmt: skip

    wrong, copy, fixed = row("Triage.", "SAFE"), row("You triage.", "SAFE"), row("Triage.", "UNSAFE")
    items = [("raw.jsonl", "line", i, json.dumps(r).encode()) for i, r in enumerate([wrong, copy, fixed], 1)]
    veto = Veto({fingerprint(wrong["messages"]): {"reviewers": ["ana"], "notes": ["level 7 is UNSAFE"]}})
    kept, quarantined, _ = curate(items, CurateParams(), veto=veto)
    assert [(q["line"], q["reason"]) for q in quarantined] == [(1, "vetoed"), (2, "near_duplicate")]
    assert "vetoed row 'raw:1'" in quarantined[1]["message"]
    assert [k["messages"][-1]["content"] for k in kept] == ["UNSAFE"]  # no label conflict with a vetoed row
