import json

import pytest

from {{ cookiecutter.package_name }}.params import (
    ParamsError,
    SplitParams,
)
from {{ cookiecutter.package_name }}.split import assign, main


def rows(make_chat, per_bucket=100):
    return [
        {"id": f"{b}-{i}", **make_chat(f"q {b} {i}", "a", bucket=b, knowledge_point=f"kp{i % 10}")}
        for b in ("x", "y")
        for i in range(per_bucket)
    ]


def test_ratios_hold_per_bucket(make_chat):
    parts = assign(rows(make_chat), SplitParams())
    for bucket in ("x", "y"):
        sizes = [sum(r["meta"]["bucket"] == bucket for r in parts[s]) for s in ("train", "val", "test")]
        assert sizes == [80, 10, 10]


def test_same_input_and_seed_give_byte_identical_files(tmp_path, make_chat):
    src = tmp_path / "curated.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows(make_chat)))
    main(SplitParams(), src, tmp_path / "a", tmp_path / "a.json")
    main(SplitParams(), src, tmp_path / "b", tmp_path / "b.json")
    for name in ("train", "val", "test"):
        assert (tmp_path / "a" / f"{name}.jsonl").read_bytes() == (
            tmp_path / "b" / f"{name}.jsonl"
        ).read_bytes()
    assert json.loads((tmp_path / "a.json").read_text())["test"]["rows"] == 20


def test_seed_changes_the_assignment(make_chat):
    a = {r["id"] for r in assign(rows(make_chat), SplitParams(seed=1))["test"]}
    b = {r["id"] for r in assign(rows(make_chat), SplitParams(seed=2))["test"]}
    assert a != b


def test_adding_rows_does_not_move_existing_test_rows_into_train(make_chat):
    before = assign(rows(make_chat), SplitParams())
    grown = assign(rows(make_chat, per_bucket=110), SplitParams())
    train_after = {r["id"] for r in grown["train"]}
    moved = [r["id"] for r in before["test"] if r["id"] in train_after]
    assert len(moved) <= 2  # at most the rows at each bucket's cut point


def test_group_by_keeps_a_knowledge_point_in_one_split(make_chat):
    parts = assign(rows(make_chat), SplitParams(group_by="knowledge_point"))
    where = {}
    for split, part in parts.items():
        for r in part:
            where.setdefault((r["meta"]["bucket"], r["meta"]["knowledge_point"]), set()).add(split)
    assert all(len(s) == 1 for s in where.values())
    assert {"train", "val", "test"} == set().union(*where.values())


def test_ratios_must_sum_to_one(make_chat):
    with pytest.raises(ParamsError, match="must be 1.0"):
        assign(rows(make_chat), SplitParams(train=0.9))


def test_a_group_spanning_buckets_still_lands_in_one_split(make_chat):
    rows = [
        {"id": f"r{i}", "cluster": f"c{i // 2}", **make_chat(f"q{i}", "a", bucket="x" if i % 2 else "y")}
        for i in range(400)
    ]
    parts = assign(rows, SplitParams(group_by="cluster"))
    where = {}
    for split, part in parts.items():
        for r in part:
            where.setdefault(r["cluster"], set()).add(split)
    assert all(len(s) == 1 for s in where.values())
