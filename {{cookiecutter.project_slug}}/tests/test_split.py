import json

import pytest

from {{ cookiecutter.package_name }}.errors import UserError
from {{ cookiecutter.package_name }}.params.loader import (
    ParamsError,
)
from {{ cookiecutter.package_name }}.params.sections import (
    load,
)
from {{ cookiecutter.package_name }}.params.split import (
    SplitParams,
)
from {{ cookiecutter.package_name }}.split import (
    assign,
    main,
    pilot,
    small_strata,
)


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


def test_a_pilot_keeps_a_share_of_every_bucket_in_every_split_and_only_those_rows(make_chat):
    full = assign(rows(make_chat), SplitParams())
    assert pilot(full, SplitParams()) is full  # 1.0: the full run, untouched
    quarter = pilot(full, SplitParams(pilot=0.25))
    for name, per_bucket in (("train", 20), ("val", 3), ("test", 3)):  # 80, 10, 10 per bucket, rounded up
        for bucket in ("x", "y"):
            assert sum(r["meta"]["bucket"] == bucket for r in quarter[name]) == per_bucket
        assert all(r in full[name] for r in quarter[name])  # a pilot never moves a row across splits
    assert quarter == pilot(full, SplitParams(pilot=0.25))


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


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("split:\n  train: 0.9\n", r"split.train: train \+ val \+ test must be 1.0, got 1.1"),
        ("split:\n  test: -0.1\n  train: 1.0\n", r"split.test must be in \[0, 1\], got -0.1"),
        ("split:\n  stratify_by: 3\n", "split.stratify_by: expected str, got 3"),
    ],
)
def test_split_params_are_strict(tmp_path, yaml_text, message):
    path = tmp_path / "params.yaml"
    path.write_text(yaml_text)
    with pytest.raises(ParamsError, match=message):
        load(path)


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


def test_a_bucket_too_small_for_val_and_test_is_named_with_the_knobs(tmp_path, make_chat):
    data = rows(make_chat) + [{"id": f"z-{i}", **make_chat(f"q z {i}", "a", bucket="z")} for i in range(3)]
    warnings = small_strata(data, SplitParams())
    assert warnings == [
        "bucket 'z' has 3 group(s), none in val or test: it needs at least 6 for split.val=0.1 and "
        "split.test=0.1 (or change split.stratify_by='bucket' / split.group_by='cluster')"
    ]
    src = tmp_path / "curated.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in data))
    assert main(SplitParams(), src, tmp_path / "out", tmp_path / "m.json")["warnings"] == warnings
    assert json.loads((tmp_path / "m.json").read_text())["warnings"] == warnings


def test_an_empty_val_or_test_split_stops_here_naming_the_knob(tmp_path, make_chat):
    src = tmp_path / "curated.jsonl"
    src.write_text("".join(json.dumps({"id": f"r{i}", **make_chat(f"q{i}", "a")}) + "\n" for i in range(4)))
    with pytest.raises(
        UserError,
        match=r"the val split is empty: 4 rows are too few for split.val=0.1 .*"
        r"set split.val: 0 and train.sft.eval_strategy: 'no'",
    ):
        main(SplitParams(), src, tmp_path / "out", tmp_path / "m.json")
    with pytest.raises(
        UserError, match=r"the test split is empty: .*split.group_by='cluster' and split.stratify_by='bucket'"
    ):
        main(SplitParams(train=0.5, val=0.4, test=0.1), src, tmp_path / "out", tmp_path / "m.json")
    no_test = SplitParams(train=0.7, val=0.3, test=0.0)
    report = main(no_test, src, tmp_path / "out", tmp_path / "m.json")  # test: 0 is a choice, not an accident
    assert report["test"]["rows"] == 0 and report["val"]["rows"] == 1


def test_no_rows_at_all_points_back_to_curate(tmp_path):
    src = tmp_path / "curated.jsonl"
    src.write_text("")
    with pytest.raises(UserError, match=r"curated.jsonl: no rows to split; see metrics/curate.json"):
        main(SplitParams(), src, tmp_path / "out", tmp_path / "m.json")


def test_a_meta_that_is_not_an_object_is_named_with_its_line(tmp_path, make_chat):
    src = tmp_path / "curated.jsonl"
    good = rows(make_chat, per_bucket=2)
    src.write_text(
        "\n".join(json.dumps(r) for r in [*good, {**good[0], "id": "odd", "meta": "bucket=x"}]) + "\n"
    )
    with pytest.raises(UserError, match=r"curated.jsonl:5: field 'meta' must be an object, got str"):
        main(SplitParams(), src, tmp_path / "out", tmp_path / "m.json")
