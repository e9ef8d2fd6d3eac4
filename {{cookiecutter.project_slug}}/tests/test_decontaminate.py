import json

import numpy as np
import pytest

from {{ cookiecutter.package_name }}.data.ngrams import (
    EvalIndex,
    WordTable,
    words,
)
from {{ cookiecutter.package_name }}.data.texts import (
    TextError,
    eval_texts,
    row_texts,
)
from {{ cookiecutter.package_name }}.decontaminate import main
from {{ cookiecutter.package_name }}.errors import UserError
from {{ cookiecutter.package_name }}.params.decontaminate import (
    DecontaminateParams,
)
from {{ cookiecutter.package_name }}.params.loader import (
    ParamsError,
)
from {{ cookiecutter.package_name }}.params.sections import (
    load,
)

QUESTION = (
    "Scanner result for invoice_2231.pdf reports level 7 of 10 on the perimeter gateway, verdict please?"
)


def write(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_the_word_table_finds_what_a_sorted_search_finds():
    rng = np.random.default_rng(0)
    vocab = np.unique(rng.integers(0, 2**63, size=5000, dtype=np.uint64))
    table = WordTable(vocab)
    assert table.probes > 1  # some slots collide, so lookups walk on
    queries = np.concatenate([vocab, rng.integers(0, 2**63, size=5000, dtype=np.uint64), vocab[::7]])
    expected = np.searchsorted(vocab, queries)
    expected[(expected == len(vocab)) | (vocab[np.minimum(expected, len(vocab) - 1)] != queries)] = -1
    assert table.find(queries).tolist() == expected.tolist()
    assert WordTable(vocab[:0]).find(queries[:3]).tolist() == [-1, -1, -1]


def test_words_ignore_case_punctuation_and_spacing():
    assert words("  Hello,   WORLD!\tfoo_bar ") == ["hello", "world", "foo", "bar"]


def test_planted_leaks_are_caught_and_common_phrases_are_not(tmp_path, make_chat):
    leaks = {
        "exact": make_chat(QUESTION, "UNSAFE"),
        "disguised": make_chat(QUESTION.upper().replace(",", " ;  ").replace("?", "!!"), "UNSAFE"),
        "embedded": make_chat("Context first. " + QUESTION + " Also check the logs.", "UNSAFE"),
        "in_answer": make_chat("What did the analyst ask?", QUESTION),
        "swapped": {
            "messages": [
                {"role": "user", "content": "Another ticket"},
                {"role": "assistant", "content": "ok"},
                {"role": "user", "content": QUESTION},
                {"role": "assistant", "content": "UNSAFE"},
            ]
        },
        "short": make_chat("what is the capital of peru", "Out of scope"),
    }
    clean = {
        "shares_phrase": make_chat("Scanner result for report.docx: level 2 of 10. Verdict please?", "SAFE"),
        "same_answer": make_chat("Level 9 for setup.exe on the mail relay?", "UNSAFE"),
        "shares_words": make_chat("The capital city question is out of scope here", "Out of scope"),
    }
    train = [{"id": k, **r} for k, r in {**leaks, **clean}.items()]
    write(tmp_path / "split" / "train.jsonl", train)
    write(tmp_path / "split" / "val.jsonl", [])
    write(tmp_path / "test.jsonl", [{"id": "t1", **make_chat(QUESTION, "UNSAFE")}])
    write(
        tmp_path / "golden" / "golden.jsonl",
        [{"id": "g1", **make_chat("What is the capital of Peru?", "Out of scope")}],
    )
    report = main(
        DecontaminateParams(),
        tmp_path / "split",
        [tmp_path / "test.jsonl", tmp_path / "golden"],
        tmp_path / "out",
        tmp_path / "m.json",
    )
    removed = {
        json.loads(x)["id"]: json.loads(x)
        for x in (tmp_path / "out" / "removed.jsonl").read_text().splitlines()
    }
    assert set(removed) == set(leaks)  # recall 1.0 on the planted set, no false positive
    span = "scanner result for invoice 2231 pdf reports level 7 of 10 on the perimeter gateway verdict please"
    assert removed["exact"]["matched"] == [{"eval_set": "test", "id": "t1", "overlap": 1.0, "span": span}]
    assert removed["short"]["matched"][0]["eval_set"] == "golden"
    kept = [json.loads(x)["id"] for x in (tmp_path / "out" / "train.jsonl").read_text().splitlines()]
    assert kept == list(clean)
    assert report["train"] == {"kept": 3, "removed": 6, "rejected": 0, "frame_siblings_kept": 0}
    assert report["removed_by_eval_set"] == {"golden": 1, "test": 5}


def test_siblings_of_a_frame_the_training_data_repeats_are_kept_and_copies_are_not(tmp_path, make_chat):
    """Template-made data: test and train share frames ("Please help. What is the capital of X?")
    by construction. A row with the same frame and another filler is not a copy; the prompt
    itself, or the prompt in a longer row, is."""
    frames = [
        "Please help. What is the capital of {}?",
        "Off topic, but tell me a joke about {} and the weather.",
        "Hey! Translate 'good morning' into the language of {}.",
    ]
    fillers = ["Peru", "Chile", "Nepal", "Ghana", "Laos", "Fiji", "Iceland", "Oman", "Mali", "Cuba"]
    rows = [
        {"id": f"f{i}-{x}", **make_chat(frame.format(x), "Out of scope")}
        for i, frame in enumerate(frames)
        for x in fillers[1:]
    ]
    rows += [
        {"id": "copy", **make_chat(frames[0].format("Peru"), "Out of scope")},
        {"id": "inside", **make_chat("Quick one. " + frames[2].format("Peru") + " Thanks", "Out of scope")},
    ]
    write(tmp_path / "split" / "train.jsonl", rows)
    write(tmp_path / "split" / "val.jsonl", [])
    write(
        tmp_path / "test.jsonl",
        [{"id": f"t{i}", **make_chat(f.format("Peru"), "x")} for i, f in enumerate(frames)],
    )
    report = main(
        DecontaminateParams(),
        tmp_path / "split",
        [tmp_path / "test.jsonl"],
        tmp_path / "out",
        tmp_path / "m.json",
    )
    removed = [json.loads(x) for x in (tmp_path / "out" / "removed.jsonl").read_text().splitlines()]
    assert {r["id"]: [m["id"] for m in r["matched"]] for r in removed} == {"copy": ["t0"], "inside": ["t2"]}
    # the first pass found the siblings of the short frames (7 of their 8 or 9 words); the second kept them
    assert report["train"]["removed"] == 2 and report["train"]["kept"] == len(rows) - 2
    assert report["train"]["frame_siblings_kept"] >= 9
    kept = [json.loads(x)["id"] for x in (tmp_path / "out" / "train.jsonl").read_text().splitlines()]
    assert kept == [r["id"] for r in rows if r["id"] not in ("copy", "inside")]  # input order


def test_too_short_eval_prompts_are_counted_not_matched():
    index = EvalIndex(n=8, min_words=3)
    index.add("golden", "g", ["Verdict?"])
    assert index.skipped_short == 1
    assert index.matches(["Verdict? It is a verdict."], threshold=0.8) == []


def test_benchmarks_as_text_lines_any_hit_and_processes(tmp_path, make_chat):
    bench = tmp_path / "bench.txt"
    bench.write_text(
        "first benchmark line that nobody should ever train on again under any circumstances\n\nsecond one\n"
    )
    unrelated = [{"id": "t", **make_chat("an unrelated test question about lunch menus", "x")}]
    rows = [{"id": f"r{i}", **make_chat(f"clean row number {i} about triage", "ok")} for i in range(4500)]
    rows[4321] = {
        "id": "leak",
        **make_chat(
            "So: First benchmark line that NOBODY should ever train on, again! Under any circumstances", "x"
        ),
    }
    rows[7] = {"id": "one_gram", **make_chat("a row that nobody should ever train on, and more", "x")}
    write(tmp_path / "split" / "train.jsonl", rows)
    write(tmp_path / "split" / "val.jsonl", [])
    write(tmp_path / "test.jsonl", unrelated)

    def removed(**overrides):
        p = DecontaminateParams(benchmarks=[str(bench)], **overrides)
        main(p, tmp_path / "split", [tmp_path / "test.jsonl"], tmp_path / "out", tmp_path / "m.json")
        lines = (tmp_path / "out" / "removed.jsonl").read_text().splitlines()
        return {json.loads(x)["id"]: json.loads(x)["matched"] for x in lines}

    one = removed(num_proc=1)
    span = "first benchmark line that nobody should ever train on again under any circumstances"
    assert one == {"leak": [{"eval_set": "bench", "id": "bench.txt:1", "overlap": 1.0, "span": span}]}
    assert removed(num_proc=2) == one  # three batches over two processes, same answer, same order
    assert set(removed(any_hit=True)) == {"leak", "one_gram"}
    kept = (tmp_path / "out" / "train.jsonl").read_text().splitlines()
    assert len(kept) == 4498 and json.loads(kept[0])["id"] == "r0"


@pytest.mark.parametrize("num_proc", [1, 2])
def test_a_broken_preference_line_is_rejected_not_hung_on(tmp_path, make_chat, num_proc):
    rows = [{"id": f"r{i}", **make_chat(f"row {i} about triage", "ok")} for i in range(5000)]
    write(tmp_path / "split" / "train.jsonl", rows)
    write(tmp_path / "split" / "val.jsonl", [])
    write(tmp_path / "test.jsonl", [{"id": "t", **make_chat("an unrelated test question about lunch", "x")}])
    prefs = tmp_path / "preferences.jsonl"
    pair = {"prompt": [{"role": "user", "content": "q"}], "chosen": [{"role": "assistant", "content": "a"}]}
    null = {**pair, "rejected": [{"role": "assistant", "content": None}]}
    prefs.write_text(
        "\n".join([json.dumps(pair)] * 4500 + ["{broken", json.dumps(null), json.dumps(pair)]) + "\n"
    )
    p = DecontaminateParams(num_proc=num_proc)
    report = main(
        p, tmp_path / "split", [tmp_path / "test.jsonl"], tmp_path / "out", tmp_path / "m.json", prefs
    )
    assert report["preferences"] == {"kept": 4501, "removed": 0, "rejected": 2, "frame_siblings_kept": 0}
    rejected = [json.loads(x) for x in (tmp_path / "out" / "rejected.jsonl").read_text().splitlines()]
    assert [(r["line"], r["set"], r["reason"]) for r in rejected] == [
        (4501, "preferences", "invalid_json"),
        (4502, "preferences", "bad_item"),
    ]
    assert "preferences.jsonl:4501: invalid JSON" in rejected[0]["message"]
    assert rejected[1]["message"] == "rejected[0].content must be a string, got NoneType"


def test_a_malformed_eval_item_is_reported_and_fails_the_stage_unless_told(tmp_path, make_chat):
    write(tmp_path / "split" / "train.jsonl", [{"id": "leak", **make_chat(QUESTION, "UNSAFE")}])
    write(tmp_path / "split" / "val.jsonl", [])
    golden = tmp_path / "golden" / "golden.jsonl"
    golden.parent.mkdir()
    null = {
        "id": "g2",
        "messages": [{"role": "user", "content": None}, {"role": "assistant", "content": "x"}],
    }
    good = {"id": "g4", **make_chat(QUESTION, "UNSAFE")}
    golden.write_text(
        "\n".join(
            [
                json.dumps(make_chat("fine item here", "a")),
                json.dumps(null),
                "[1, 2]",
                json.dumps(good),
                "{bad",
            ]
        )
        + "\n"
    )
    args = (tmp_path / "split", [golden], tmp_path / "out", tmp_path / "m.json")
    with pytest.raises(
        UserError,
        match=r"3 eval item\(s\) could not be read.*golden.jsonl:2: messages\[0\].content must be a string, "
        r"got NoneType.*rejected.jsonl \(decontaminate.bad_eval_items=fail\)",
    ):
        main(DecontaminateParams(), *args)
    rejected = [json.loads(x) for x in (tmp_path / "out" / "rejected.jsonl").read_text().splitlines()]
    assert [(r["line"], r["set"], r["reason"]) for r in rejected] == [
        (2, "golden", "bad_item"), (3, "golden", "invalid_json"), (5, "golden", "invalid_json")
    ]  # fmt: skip
    assert "expected a JSON object per line, got list" in rejected[1]["message"]
    report = main(DecontaminateParams(bad_eval_items="warn"), *args)
    assert (
        report["rejected_eval_items"] == 3 and report["train"]["removed"] == 1
    )  # the good items still count
    assert report["eval_sets"]["golden"] == {"items": 2, "rejected": 3, "texts_indexed": 2, "too_short": 0}


@pytest.mark.parametrize("kind", ["empty file", "empty dir"])
def test_an_empty_eval_set_is_never_decontaminated_against_silently(tmp_path, make_chat, kind):
    write(tmp_path / "split" / "train.jsonl", [{"id": "r", **make_chat("q", "a")}])
    write(tmp_path / "split" / "val.jsonl", [])
    golden = tmp_path / "golden"
    golden.mkdir()
    if kind == "empty file":
        (golden / "golden.jsonl").write_text("\n")
    with pytest.raises(UserError, match=rf"{golden}: no eval items, so nothing would be checked against it"):
        main(DecontaminateParams(), tmp_path / "split", [golden], tmp_path / "out", tmp_path / "m.json")


def test_a_set_of_only_unreadable_items_stops_the_stage_even_when_warning(tmp_path, make_chat):
    write(tmp_path / "split" / "train.jsonl", [{"id": "r", **make_chat("q", "a")}])
    write(tmp_path / "split" / "val.jsonl", [])
    bench = tmp_path / "bench.jsonl"
    bench.write_text('{"label": 1}\n{"messages": [{"role": "user", "content": null}]}\n')
    p = DecontaminateParams(bad_eval_items="warn")
    with pytest.raises(
        UserError, match=r"bench.jsonl: no readable eval items.*\(2 unreadable, listed in .*rejected.jsonl\)"
    ):
        main(p, tmp_path / "split", [bench], tmp_path / "out", tmp_path / "m.json")
    assert len((tmp_path / "out" / "rejected.jsonl").read_text().splitlines()) == 2


def test_text_benchmarks_are_split_at_newlines_only(tmp_path, make_chat):
    bench = tmp_path / "bench.txt"
    bench.write_bytes("one benchmark text\u2028that goes on past a line separator\n".encode())
    write(
        tmp_path / "split" / "train.jsonl",
        [{"id": "r", **make_chat("that goes on past a line separator", "a")}],
    )
    write(tmp_path / "split" / "val.jsonl", [])
    p = DecontaminateParams(threshold=0.9)  # the row holds 7 of the text's 10 words: a whole line if split
    report = main(p, tmp_path / "split", [bench], tmp_path / "out", tmp_path / "m.json")
    assert report["eval_sets"]["bench"]["texts_indexed"] == 1 and report["train"]["removed"] == 0


def test_eval_items_in_every_format_give_their_prompts():
    assert eval_texts({"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "q"},
                                    {"role": "assistant", "content": "a"}]}) == ["q"]  # fmt: skip
    assert eval_texts({"instruction": "do it", "input": "x", "output": "y"}) == ["do it\n\nx"]
    assert eval_texts(
        {"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]}
    ) == ["q"]
    assert eval_texts({"question": "what?", "answer": "that"}) == ["what?"]
    assert eval_texts({"prompt": [{"role": "user", "content": "p"}], "chosen": "c"}) == ["p"]
    with pytest.raises(TextError, match="no text to check: expected 'messages'"):
        eval_texts({"label": 3})
    with pytest.raises(TextError, match="conversations\\[0\\].from is 'robot'"):
        eval_texts({"conversations": [{"from": "robot", "value": "q"}]})


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        (
            "decontaminate:\n  bad_eval_items: ignore\n",
            "decontaminate.bad_eval_items: 'ignore' is not a choice; expected one of: fail, warn",
        ),
        ("decontaminate:\n  threshold: 0\n", r"decontaminate.threshold must be in \(0, 1\], got 0"),
        ("decontaminate:\n  min_words: 2\n", "decontaminate.min_words must be >= 3, got 2"),
        ("decontaminate:\n  num_proc: -1\n", "decontaminate.num_proc must be >= 0"),
        ("decontaminate:\n  ngram: 0\n", "decontaminate.ngram must be >= 1, got 0"),
    ],
)
def test_decontaminate_params_are_strict(tmp_path, yaml_text, message):
    path = tmp_path / "params.yaml"
    path.write_text(yaml_text)
    with pytest.raises(ParamsError, match=message):
        load(path)


def test_min_words_below_the_anchor_size_is_refused():
    with pytest.raises(ValueError, match="decontaminate.min_words is 2; it must be at least 3"):
        EvalIndex(n=8, min_words=2)


def test_standard_preference_pairs_with_plain_strings_are_read():
    assert row_texts({"prompt": "Q?", "chosen": "yes", "rejected": "no"}) == ["Q?", "yes", "no"]
    with pytest.raises(TextError, match="expected 'messages', or a preference pair's"):
        row_texts({"text": "x"})
