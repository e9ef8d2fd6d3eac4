import json

import pytest

from {{ cookiecutter.package_name }}.curate import curate, main
from {{ cookiecutter.package_name }}.params import CurateParams

P = CurateParams()


def lines(*rows):
    """(file, line, bytes) triples as raw_lines yields them."""
    out = []
    for i, row in enumerate(rows, start=1):
        raw = row if isinstance(row, bytes) else (row if isinstance(row, str) else json.dumps(row)).encode()
        out.append(("raw.jsonl", i, raw))
    return out


def reasons(rows):
    return [q["reason"] for q in curate(lines(*rows), P)[1]]


def test_good_row_is_kept_and_normalised(make_chat):
    row = make_chat("  hi\r\nthere  ", "cafe\u0301")
    kept, quarantined = curate(lines(row), P)
    assert quarantined == []
    assert kept[0]["messages"][0]["content"] == "hi\nthere"
    assert kept[0]["messages"][1]["content"] == "caf\u00e9"  # NFC
    assert kept[0]["id"] == "raw:1"


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("{not json", "invalid_json"),
        (b"\xff\xfe{}", "invalid_utf8"),
        ("[1, 2]", "not_object"),
        ({"text": "hello"}, "missing_messages"),
        ({"messages": []}, "bad_messages"),
        ({"messages": ["hi"]}, "bad_message"),
        ({"messages": [{"role": "human", "content": "hi"}]}, "unknown_role"),
        ({"messages": [{"role": "user", "content": 3}]}, "bad_content"),
        (
            {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": " "}]},
            "empty_content",
        ),
        ({"messages": [{"role": "assistant", "content": "hi"}]}, "bad_turn_order"),
        ({"messages": [{"role": "user", "content": "hi"}]}, "bad_turn_order"),
        (
            {
                "messages": [
                    {"role": "user", "content": "a"},
                    {"role": "user", "content": "b"},
                    {"role": "assistant", "content": "c"},
                ]
            },
            "bad_turn_order",
        ),
        (
            {"messages": [{"role": "user", "content": "x" * 9000}, {"role": "assistant", "content": "y"}]},
            "too_long",
        ),
    ],
)
def test_each_problem_is_quarantined_with_its_reason(row, reason):
    assert reasons([row]) == [reason]


def test_message_names_the_field_and_what_was_expected():
    _, [q] = curate(
        lines({"messages": [{"role": "user", "content": "a"}, {"role": "bot", "content": "b"}]}), P
    )
    assert q["file"] == "raw.jsonl" and q["line"] == 1
    assert "messages[1].role is 'bot'" in q["message"] and "assistant" in q["message"]


def test_bom_and_system_prompt_are_accepted(make_chat):
    row = make_chat("hi", "yo")
    row["messages"].insert(0, {"role": "system", "content": "be brief"})
    assert reasons([b"\xef\xbb\xbf" + json.dumps(row).encode()]) == []


def test_exact_duplicates_after_normalisation_point_to_the_kept_row(make_chat):
    first, again = make_chat("hello", "world"), make_chat("hello  ", "world")
    kept, [q] = curate(lines(first, again), P)
    assert len(kept) == 1 and q["reason"] == "duplicate" and "'raw:1'" in q["message"]


def test_counts_add_up_and_nothing_is_lost(tmp_path, make_chat):
    raw = tmp_path / "raw"
    raw.mkdir()
    good = [json.dumps(make_chat(f"q{i}", f"a{i}")) for i in range(20)]
    (raw / "a.jsonl").write_text("\n".join(good + ["{bad", "", good[0]]) + "\n")
    report = main(P, raw, tmp_path / "out", tmp_path / "m.json")
    assert (report["rows_in"], report["kept"], report["quarantined"]) == (22, 20, 2)
    assert report["quarantined_by_reason"] == {"duplicate": 1, "invalid_json": 1}
    quarantine = [json.loads(x) for x in (tmp_path / "out" / "quarantine.jsonl").read_text().splitlines()]
    assert [(q["line"], q["raw"]) for q in quarantine] == [(21, "{bad"), (23, good[0])]
    assert json.loads((tmp_path / "m.json").read_text())["rows_in"] == 22


def test_mostly_garbage_input_fails_loudly(tmp_path, make_chat):
    raw = tmp_path / "raw.jsonl"
    raw.write_text("\n".join(["{bad"] * 5 + [json.dumps(make_chat("q", "a"))]) + "\n")
    with pytest.raises(SystemExit, match=r"83% of 6 rows quarantined.*invalid_json \(5\).*quarantine.jsonl"):
        main(P, raw, tmp_path / "out", tmp_path / "m.json")
