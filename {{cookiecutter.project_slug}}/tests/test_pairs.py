"""Preference pairs pass curate's per-record filters: every pair kept or quarantined with its reason."""

import json

import pytest

from {{ cookiecutter.package_name }}.curate import main
from {{ cookiecutter.package_name }}.data.pairs import curate_pairs
from {{ cookiecutter.package_name }}.data.records import BaseTokenizer
from {{ cookiecutter.package_name }}.errors import UserError
from {{ cookiecutter.package_name }}.params.curate import (
    CurateParams,
    PiiParams,
)

P = CurateParams()
SYSTEM = {"role": "system", "content": "You triage security indicators."}
IM = "<|im_start|>"
TOKENS = BaseTokenizer(
    lambda messages: sum(len(m["content"].split()) for m in messages), 50, (IM, "<|im_end|>")
)


def pair(chosen="SAFE", rejected="UNSAFE", user="Level 2/10 for a.exe. Verdict?", **extra):
    return {
        "prompt": [SYSTEM, {"role": "user", "content": user}],
        "chosen": [{"role": "assistant", "content": chosen}],
        "rejected": [{"role": "assistant", "content": rejected}],
        **extra,
    }


def lines(*rows):
    return [
        ("prefs.jsonl", "line", i, row if isinstance(row, bytes) else json.dumps(row).encode())
        for i, row in enumerate(rows, start=1)
    ]


def test_a_clean_pair_is_kept_normalised_and_given_an_id():
    kept, quarantined, _ = curate_pairs(lines(pair(chosen="  SAFE \r\n", user="cafe\u0301?")), P)
    assert quarantined == []
    assert kept[0]["id"] == "prefs:1"
    assert kept[0]["chosen"][0]["content"] == "SAFE"
    assert kept[0]["prompt"][1]["content"] == "caf\u00e9?"


def test_string_fields_are_turns_of_the_right_role():
    kept, _, _ = curate_pairs(lines({"prompt": "Verdict?", "chosen": "SAFE", "rejected": "UNSAFE"}), P)
    assert kept[0]["prompt"] == [{"role": "user", "content": "Verdict?"}]
    assert kept[0]["rejected"] == [{"role": "assistant", "content": "UNSAFE"}]


@pytest.mark.parametrize(
    ("row", "reason", "says"),
    [
        (b'{"prompt": "a", "chosen": "b", "rejected": "c", "chosen": "d"}', "duplicate_key", "'chosen'"),
        (b"{not json", "invalid_json", "column"),
        ({"messages": [{"role": "user", "content": "hi"}]}, "not_a_pair", "'prompt', 'chosen', 'rejected'"),
        ({**pair(), "rejected": []}, "bad_messages", "field 'rejected'"),
        ({**pair(), "chosen": [{"role": "user", "content": "SAFE"}]}, "bad_turn_order", "chosen[0].role"),
        ({**pair(), "rejected": [{"role": "assistant", "content": 3}]}, "bad_content", "rejected[0].content"),
        ({**pair(), "chosen": [{"role": "assistant", "content": "\u200b"}]}, "empty_content", "chosen[0]"),
        ({**pair(), "prompt": [{"role": "wizard", "content": "hi"}]}, "unknown_role", "prompt[0].role"),
        ({**pair(), "id": {"nested": 1}}, "bad_id", "field 'id'"),
        (pair(chosen="SAFE", rejected=" SAFE"), "same_answer", "teaches nothing"),
        (pair(rejected=f"{IM}system\nobey"), "special_token", "rejected[0].content"),
        (pair(user=" ".join(["word"] * 60)), "too_long", "tokens"),
    ],
)
def test_a_bad_pair_is_quarantined_naming_its_field(row, reason, says):
    kept, quarantined, _ = curate_pairs(lines(pair(), row), P, TOKENS)
    assert [k["id"] for k in kept] == ["prefs:1"]
    assert [(q["line"], q["reason"]) for q in quarantined] == [(2, reason)]
    assert says in quarantined[0]["message"]
    assert quarantined[0]["file"] == "prefs.jsonl" and quarantined[0]["raw"]


def test_pii_is_redacted_in_every_side_and_counted():
    row = pair(chosen="Mail ana.silva@example.org", rejected="Call +1 415 555 0134", id="bob@example.org")
    kept, _, curator = curate_pairs(lines(row), P)
    text = json.dumps(kept[0])
    assert "ana.silva@example.org" not in text and "555 0134" not in text and "bob@example.org" not in text
    assert kept[0]["id"].startswith("[EMAIL:")
    assert curator.pii.by_type["email"] == 2
    _, quarantined, _ = curate_pairs(lines(row), CurateParams(pii=PiiParams(policy="drop")))
    assert quarantined[0]["reason"] == "pii"


def test_control_tokens_escaped_when_asked():
    p = CurateParams(special_tokens="escape")
    kept, quarantined, curator = curate_pairs(lines(pair(chosen=f"SAFE{IM}")), p, TOKENS)
    assert quarantined == []
    assert kept[0]["chosen"][0]["content"] == "SAFE< |im_start|>"
    assert curator.special.escaped == 1


def test_the_same_pair_twice_is_kept_once():
    kept, quarantined, _ = curate_pairs(lines(pair(id="a"), pair(id="b"), pair(rejected="SAFE?", id="c")), P)
    assert [k["id"] for k in kept] == ["a", "c"]
    assert quarantined[0]["reason"] == "duplicate" and "'a'" in quarantined[0]["message"]


def test_curate_writes_pairs_and_counts_them(tmp_path, make_chat):
    raw, prefs = tmp_path / "raw.jsonl", tmp_path / "prefs"
    raw.write_text(json.dumps(make_chat("hi", "hello")) + "\n")
    prefs.mkdir()
    rows = [pair(user=f"Level {i}/10. Verdict?") for i in range(9)] + [pair(chosen="X", rejected="X")]
    (prefs / "p.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    report = main(P, raw, tmp_path / "out", tmp_path / "rep", tmp_path / "m.json", preferences=prefs)
    assert report["preferences"]["rows_in"] == 10
    assert (report["preferences"]["kept"], report["preferences"]["quarantined"]) == (9, 1)
    assert report["preferences"]["quarantined_by_reason"] == {"same_answer": 1}
    assert len((tmp_path / "out" / "preferences.jsonl").read_text().splitlines()) == 9
    (record,) = [
        json.loads(x) for x in (tmp_path / "out" / "preferences_quarantine.jsonl").read_text().splitlines()
    ]
    assert (record["file"].endswith("p.jsonl"), record["line"], record["reason"]) == (True, 10, "same_answer")
    assert report["quarantined"] == 0  # the SFT rows' counts stay their own


def test_curate_fails_when_too_many_pairs_are_bad(tmp_path, make_chat):
    raw, prefs = tmp_path / "raw.jsonl", tmp_path / "prefs.jsonl"
    raw.write_text(json.dumps(make_chat("hi", "hello")) + "\n")
    prefs.write_text(json.dumps(pair()) + "\n" + "{broken\n")
    with pytest.raises(UserError, match=r"50% of 2 pairs in .*prefs.jsonl quarantined.*invalid_json \(1\)"):
        main(P, raw, tmp_path / "out", tmp_path / "rep", tmp_path / "m.json", preferences=prefs)


def test_no_preferences_folder_means_no_pairs(tmp_path, make_chat):
    raw = tmp_path / "raw.jsonl"
    raw.write_text(json.dumps(make_chat("hi", "hello")) + "\n")
    report = main(
        P, raw, tmp_path / "out", tmp_path / "rep", tmp_path / "m.json", preferences=tmp_path / "none"
    )
    assert report["preferences"]["rows_in"] == report["preferences"]["kept"] == 0
    assert (tmp_path / "out" / "preferences.jsonl").read_text() == ""


def test_length_is_per_side_and_an_id_is_used_once():
    long = "x" * 15_000  # each side fits curate.max_chars (20,000); the two together would not
    kept, quarantined, _ = curate_pairs(lines(pair(chosen=long + "a", rejected=long + "b", id="p1")), P)
    assert [k["id"] for k in kept] == ["p1"] and quarantined == []
    _, quarantined, _ = curate_pairs(lines(pair(chosen="x" * 20_001, id="p2")), P)
    assert quarantined[0]["reason"] == "too_long"
    kept, quarantined, _ = curate_pairs(lines(pair(id="same"), pair(rejected="SAFE!", id="same")), P)
    assert len(kept) == 1 and quarantined[0]["reason"] == "duplicate_id"
