import json

import pytest

from {{ cookiecutter.package_name }}.data.ngrams import EvalIndex, words
from {{ cookiecutter.package_name }}.decontaminate import main
from {{ cookiecutter.package_name }}.params import DecontaminateParams

QUESTION = (
    "Scanner result for invoice_2231.pdf reports level 7 of 10 on the perimeter gateway, verdict please?"
)


def write(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


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
    assert removed["exact"]["matched"] == [{"eval_set": "test", "id": "t1", "overlap": 1.0}]
    assert removed["short"]["matched"][0]["eval_set"] == "golden"
    kept = [json.loads(x)["id"] for x in (tmp_path / "out" / "train.jsonl").read_text().splitlines()]
    assert kept == list(clean)
    assert report["train"] == {"kept": 3, "removed": 6}
    assert report["removed_by_eval_set"] == {"golden": 1, "test": 5}


def test_too_short_eval_prompts_are_counted_not_matched():
    index = EvalIndex(n=8, min_words=3)
    index.add("golden", "g", ["Verdict?"])
    assert index.skipped_short == 1
    assert index.matches(["Verdict? It is a verdict."], threshold=0.8) == []


def test_benchmarks_as_text_lines_any_hit_and_processes(tmp_path, make_chat):
    bench = tmp_path / "bench.txt"
    bench.write_text("first benchmark line that nobody should ever train on again\n\nsecond one\n")
    rows = [{"id": f"r{i}", **make_chat(f"clean row number {i} about triage", "ok")} for i in range(4500)]
    rows[4321] = {
        "id": "leak",
        **make_chat("So: First benchmark line that NOBODY should ever train on, again!", "x"),
    }
    rows[7] = {"id": "one_gram", **make_chat("a line that nobody should ever train on again, and more", "x")}
    write(tmp_path / "split" / "train.jsonl", rows)
    write(tmp_path / "split" / "val.jsonl", [])
    write(tmp_path / "test.jsonl", [])

    def removed(**overrides):
        p = DecontaminateParams(benchmarks=[str(bench)], **overrides)
        main(p, tmp_path / "split", [tmp_path / "test.jsonl"], tmp_path / "out", tmp_path / "m.json")
        lines = (tmp_path / "out" / "removed.jsonl").read_text().splitlines()
        return {json.loads(x)["id"]: json.loads(x)["matched"] for x in lines}

    one = removed(num_proc=1)
    assert one == {"leak": [{"eval_set": "bench", "id": "bench.txt:1", "overlap": 1.0}]}
    assert removed(num_proc=2) == one  # three batches over two processes, same answer, same order
    assert set(removed(any_hit=True)) == {"leak", "one_gram"}
    kept = (tmp_path / "out" / "train.jsonl").read_text().splitlines()
    assert len(kept) == 4498 and json.loads(kept[0])["id"] == "r0"


@pytest.mark.parametrize("num_proc", [1, 2])
def test_a_broken_preference_line_is_named_not_hung_on(tmp_path, make_chat, num_proc):
    rows = [{"id": f"r{i}", **make_chat(f"row {i} about triage", "ok")} for i in range(5000)]
    write(tmp_path / "split" / "train.jsonl", rows)
    write(tmp_path / "split" / "val.jsonl", [])
    write(tmp_path / "test.jsonl", [])
    prefs = tmp_path / "preferences.jsonl"
    prefs.write_text("\n".join([json.dumps(make_chat("q", "a"))] * 4500 + ["{broken"]) + "\n")
    p = DecontaminateParams(num_proc=num_proc)
    with pytest.raises(ValueError, match=r"preferences.jsonl:4501: invalid JSON"):
        main(p, tmp_path / "split", [tmp_path / "test.jsonl"], tmp_path / "out", tmp_path / "m.json", prefs)


def test_min_words_below_the_anchor_size_is_refused():
    with pytest.raises(ValueError, match="decontaminate.min_words is 2; it must be at least 3"):
        EvalIndex(n=8, min_words=2)


def test_standard_preference_pairs_with_plain_strings_are_read():
    from {{ cookiecutter.package_name }}.decontaminate import message_texts

    assert message_texts({"prompt": "Q?", "chosen": "yes", "rejected": "no"}) == ["Q?", "yes", "no"]
