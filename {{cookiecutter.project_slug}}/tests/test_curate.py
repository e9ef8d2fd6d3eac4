import json

import pytest

from {{ cookiecutter.package_name }}.curate import main
from {{ cookiecutter.package_name }}.data import records as curator_mod
from {{ cookiecutter.package_name }}.data.records import BaseTokenizer, curate
from {{ cookiecutter.package_name }}.errors import UserError
from {{ cookiecutter.package_name }}.params.curate import (
    CurateNearDupParams,
    CurateParams,
    PiiParams,
)

P = CurateParams()


def lines(*rows):
    """(file, "line", number, bytes) records as data/sources.py yields them."""
    out = []
    for i, row in enumerate(rows, start=1):
        raw = row if isinstance(row, bytes) else (row if isinstance(row, str) else json.dumps(row)).encode()
        out.append(("raw.jsonl", "line", i, raw))
    return out


def reasons(rows, p=P, tokenizer=None):
    return [q["reason"] for q in curate(lines(*rows), p, tokenizer)[1]]


def run_main(tmp_path, raw, p=P, **kwargs):
    return main(p, raw, tmp_path / "out", tmp_path / "reports", tmp_path / "m.json", **kwargs)


def read(path):
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_good_row_is_kept_and_normalised(make_chat):
    row = make_chat("  hi\r\nthere  ", "cafe\u0301")
    kept, quarantined, _ = curate(lines(row), P)
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
        ({"text": "hello"}, "unknown_format"),
        ({"messages": None}, "missing_messages"),
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
            {"messages": [{"role": "user", "content": "x" * 30000}, {"role": "assistant", "content": "y"}]},
            "too_long",
        ),
        (
            {
                "id": {"a": 1},
                "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}],
            },
            "bad_id",
        ),
    ],
)
def test_each_problem_is_quarantined_with_its_reason(row, reason):
    assert reasons([row]) == [reason]


def test_one_bad_line_never_stops_curate(make_chat):
    good = json.dumps(make_chat("a question", "an answer"))
    bad = [
        '{"messages": ' + "[" * 100_000 + "]" * 100_000 + "}",  # RecursionError in the JSON reader
        '{"id": ' + "1" * 5000 + ", " + good[1:],  # ValueError: more than 4300 digits
        good.replace('"an answer"', "NaN"),  # json.loads accepts NaN and Infinity: standard JSON does not
        good.replace('"an answer"', "-Infinity"),
        good.replace("a question", "\\ud800"),  # a lone surrogate parses but is no text
    ]
    kept, quarantined, _ = curate(lines(*bad, good), P)
    assert [q["reason"] for q in quarantined] == [
        "too_deep", "invalid_json", "invalid_json", "invalid_json", "invalid_unicode"
    ]  # fmt: skip
    assert "4300" in quarantined[1]["message"] and "NaN is not valid JSON" in quarantined[2]["message"]
    assert [q["line"] for q in quarantined] == [1, 2, 3, 4, 5] and len(kept) == 1


def test_a_key_given_twice_is_quarantined_not_resolved(make_chat, tmp_path):
    # Python's json keeps the last value, other readers the first: the record means two things
    good = json.dumps(make_chat("a question", "an answer"))
    twice = good[:-1] + ', "messages": []}'
    nested = good.replace('"role": "user"', '"role": "user", "role": "assistant"')
    kept, quarantined, _ = curate(lines(twice, nested, good), P)
    assert [(q["line"], q["reason"]) for q in quarantined] == [(1, "duplicate_key"), (2, "duplicate_key")]
    assert "key 'messages' appears twice" in quarantined[0]["message"]
    assert "key 'role' appears twice" in quarantined[1]["message"] and len(kept) == 1

    from {{ cookiecutter.package_name }}.data.jsonl import read_records

    written = tmp_path / "pairs.jsonl"
    written.write_text(good + "\n" + twice + "\n")
    with pytest.raises(UserError, match=r"pairs.jsonl:2: key 'messages' appears twice in one object"):
        list(read_records(written))


def test_an_exception_inside_a_filter_quarantines_only_that_row(make_chat):
    def explode(row):
        if "boom" in row["messages"][0]["content"]:
            raise KeyError("surprise")

    kept, quarantined, curator = curate([], P)
    curator.filters.insert(0, explode)
    outcome = list(
        curator.run(lines(make_chat("fine", "a"), make_chat("boom", "b"), make_chat("also fine", "c")))
    )
    assert [record["reason"] if record else "kept" for _, record in outcome] == ["kept", "row_error", "kept"]
    assert outcome[1][1]["message"] == "KeyError: 'surprise'"


def test_message_names_the_field_and_what_was_expected():
    _, [q], _ = curate(
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
    kept, [q], _ = curate(lines(first, again), P)
    assert len(kept) == 1 and q["reason"] == "duplicate" and "'raw:1'" in q["message"]


def test_counts_add_up_and_nothing_is_lost(tmp_path, make_chat):
    raw = tmp_path / "raw"
    raw.mkdir()
    good = [json.dumps(make_chat(f"q{i}", f"a{i}")) for i in range(20)]
    (raw / "a.jsonl").write_text("\n".join(good + ["{bad", "", good[0]]) + "\n")
    report = run_main(tmp_path, raw)
    assert (report["rows_in"], report["kept"], report["quarantined"], report["blank_lines"]) == (22, 20, 2, 1)
    assert report["quarantined_by_reason"] == {"duplicate": 1, "invalid_json": 1}
    quarantine = read(tmp_path / "out" / "quarantine.jsonl")
    assert [(q["line"], q["raw"]) for q in quarantine] == [(21, "{bad"), (23, good[0])]
    assert json.loads((tmp_path / "m.json").read_text())["rows_in"] == 22


def test_rows_in_is_counted_by_the_readers_and_a_lost_row_fails_the_stage(tmp_path, make_chat, monkeypatch):
    raw = tmp_path / "raw.jsonl"
    raw.write_text("".join(json.dumps(make_chat(f"q{i}", "a")) + "\n" for i in range(3)))
    run = curator_mod.Curator.run
    monkeypatch.setattr(curator_mod.Curator, "run", lambda self, items: list(run(self, items))[1:])
    with pytest.raises(
        UserError, match=r"read 3 rows from .*raw.jsonl but wrote 2 kept \+ 0 quarantined = 2"
    ):
        run_main(tmp_path, raw)


def test_empty_input_says_so_and_names_the_path(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    with pytest.raises(UserError, match=rf"no input rows in {raw}: no data files"):
        run_main(tmp_path, raw)
    (raw / "a.jsonl").write_text("\n\n")
    with pytest.raises(UserError, match=r"1 data file\(s\), all empty \(2 blank lines\)"):
        run_main(tmp_path, raw)


def test_mostly_garbage_input_fails_loudly(tmp_path, make_chat):
    raw = tmp_path / "raw.jsonl"
    raw.write_text("\n".join(["{bad"] * 5 + [json.dumps(make_chat("q", "a"))]) + "\n")
    with pytest.raises(
        UserError, match=r"83% of 6 rows in .* quarantined.*invalid_json \(5\).*quarantine.jsonl"
    ):
        run_main(tmp_path, raw)


def test_alpaca_and_sharegpt_rows_are_converted_and_counted(tmp_path, make_chat):
    raw = tmp_path / "raw"
    raw.mkdir()
    alpaca = {"instruction": "Refang this", "input": "a[.]b[.]com", "output": "a.b.com", "source": "x"}
    sharegpt = {"conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "hello"}]}
    bad_sharegpt = {"conversations": [{"from": "robot", "value": "hi"}]}
    (raw / "a.jsonl").write_text(json.dumps(alpaca) + "\n" + json.dumps(make_chat("q", "a")) + "\n")
    (raw / "s.jsonl").write_text(json.dumps(sharegpt) + "\n" + json.dumps(bad_sharegpt) + "\n")
    report = run_main(tmp_path, raw, CurateParams(max_quarantine_share=0.5))
    assert report["rows_by_format"] == {"alpaca": 1, "messages": 1, "sharegpt": 1}
    assert report["quarantined_by_reason"] == {"unknown_role": 1}
    rows = read(tmp_path / "out" / "curated.jsonl")
    assert rows[0]["messages"] == [
        {"role": "user", "content": "Refang this\n\na[.]b[.]com"},
        {"role": "assistant", "content": "a.b.com"},
    ]
    assert rows[0]["meta"] == {"source": "x"}  # unknown fields are kept, in meta
    assert [m["role"] for m in rows[2]["messages"]] == ["user", "assistant"]
    quarantine = (tmp_path / "out" / "quarantine.jsonl").read_text()
    assert "conversations[0].from is 'robot'" in quarantine


def test_forced_format_rejects_other_shapes():
    p = CurateParams(format="alpaca")
    row = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}
    assert reasons([row], p) == ["unknown_format"]


def test_over_long_lines_and_token_limit_are_quarantined_not_truncated(make_chat):
    p = CurateParams(max_line_bytes=200)
    assert reasons([make_chat("x" * 300, "y")], p) == ["line_too_long"]
    words = BaseTokenizer(lambda messages: sum(len(m["content"].split()) for m in messages), max_tokens=4)
    kept, quarantined, _ = curate(
        lines(make_chat("short", "ok"), make_chat("one two three four five six", "ok")), P, words
    )
    assert len(kept) == 1 and quarantined[0]["reason"] == "too_long"
    assert "7 tokens with the chat template; train.sft.max_length is 4" in quarantined[0]["message"]


def test_pii_policies(make_chat):
    row = make_chat("Mail me at jane.doe@example.com", "Will do")
    kept, _, curator = curate(lines(row), P)
    assert kept[0]["messages"][0]["content"] == "Mail me at [EMAIL]" and curator.pii.by_type["email"] == 1
    drop = CurateParams(pii=PiiParams(policy="drop"))
    assert reasons([row], drop) == ["pii"]
    report = CurateParams(pii=PiiParams(policy="report"))
    assert curate(lines(row), report)[0][0]["messages"][0]["content"] == "Mail me at jane.doe@example.com"


def test_near_duplicates_are_quarantined_or_clustered(make_chat):
    text = (
        "the scanner flagged invoice 2231 at level seven on the perimeter gateway of the branch office "
        "after the nightly backup job had copied the finance share to the cold storage bucket in the "
        "secondary region and the analyst on call opened a ticket to check the file today"
    )
    a, b = make_chat(text, "UNSAFE"), make_chat(text.replace("today", "this morning"), "UNSAFE")
    other = make_chat("write a poem about cats and rain in the autumn evening by the river bank", "No")
    kept, quarantined, _ = curate(lines(a, b, other), P)
    assert [q["reason"] for q in quarantined] == ["near_duplicate"] and "'raw:1'" in quarantined[0]["message"]
    keep = CurateParams(near_dup=CurateNearDupParams(action="keep"))
    kept, quarantined, _ = curate(lines(a, b, other), keep)
    assert quarantined == [] and [r["cluster"] for r in kept] == ["raw:1", "raw:1", "raw:3"]


def test_batched_near_duplicate_signatures_change_nothing(make_chat, monkeypatch):
    # Signatures are computed per batch of records; which row is kept must not depend on the batch size.
    base = " ".join(f"w{i}" for i in range(30))
    rows = [make_chat(f"{base} {i % 7} {i % 5}", "a" if i % 3 else "b") for i in range(60)]
    rows[10] = rows[3]  # an exact duplicate
    rows[11] = "{broken"

    def outcome():
        return [
            (r and r["id"], q and (q["reason"], q["message"]))
            for r, q in curator_mod.Curator(P).run(lines(*rows))
        ]

    whole = outcome()
    monkeypatch.setattr(curator_mod, "BATCH", 7)
    assert outcome() == whole
    monkeypatch.setattr(curator_mod, "BATCH", 1)
    assert outcome() == whole
    assert {q[0] for _, q in whole if q} == {"duplicate", "invalid_json", "label_conflict", "near_duplicate"}


def test_coverage_flags_points_with_too_few_distinct_prompts(tmp_path, make_chat):
    rows = [make_chat(f"question {i}", "a", bucket="b", knowledge_point="rich") for i in range(5)]
    rows += [make_chat("same", "a", bucket="b", knowledge_point="thin")] * 2
    raw = tmp_path / "raw.jsonl"
    raw.write_text("".join(json.dumps(r) + "\n" for r in rows))
    report = run_main(tmp_path, raw)
    assert report["coverage_flagged"] == ["b/thin"] and report["required_points_flagged"] == []
    table = (tmp_path / "reports" / "coverage.md").read_text()
    assert "| b | rich | no | 5 | 5 | 5 | 0% |  |" in table
    assert "| b | thin | no | 5 | 1 | 1 | 50% | too few cards |" in table


def test_ids_surrogates_and_meta_are_validated_not_crashed_on(make_chat):
    a = {"id": "x", **make_chat("first question here", "one")}
    b = {"id": "x", **make_chat("a different question", "two")}
    assert reasons([a, b]) == ["duplicate_id"]
    assert reasons(
        ['{"messages": [{"role": "user", "content": "\\ud800"}, {"role": "assistant", "content": "a"}]}']
    ) == ["invalid_unicode"]
    assert reasons([{**make_chat("q", "a"), "meta": "not an object"}]) == ["bad_meta"]
    assert reasons([make_chat("q", "a", bucket=["a", "list"])]) == ["bad_meta"]
    assert reasons([{"instruction": "q", "output": "a", "meta": 3}]) == ["bad_meta"]
    assert reasons([{"text": "no conversations"}], CurateParams(format="sharegpt")) == ["bad_messages"]


def test_a_duplicate_points_at_a_row_that_was_kept(make_chat):
    text = " ".join(f"word{i}" for i in range(40))
    original, near, again = (
        make_chat(text, "x"),
        make_chat(text + " extra", "x"),
        make_chat(text + " extra", "x"),
    )
    kept, quarantined, _ = curate(lines(original, near, again), P)
    assert [q["reason"] for q in quarantined] == ["near_duplicate", "near_duplicate"]
    assert all("'raw:1'" in q["message"] for q in quarantined)


def test_a_row_that_breaks_the_signature_batch_costs_only_itself(make_chat, monkeypatch):
    from {{ cookiecutter.package_name }}.data import dedup

    real = dedup.Dedup.prepare

    def fragile(self, rows):
        if any("poison" in r["messages"][0]["content"] for r in rows):
            raise MemoryError("numpy ran out")
        return real(self, rows)

    monkeypatch.setattr(dedup.Dedup, "prepare", fragile)
    kept, quarantined, _ = curate(
        lines(make_chat("one", "a"), make_chat("poison", "b"), make_chat("three", "c")), P
    )
    assert [r["id"] for r in kept] == ["raw:1", "raw:3"]
    assert [(q["line"], q["reason"], q["message"]) for q in quarantined] == [
        (2, "row_error", "MemoryError: numpy ran out")
    ]
