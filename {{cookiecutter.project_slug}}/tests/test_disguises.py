"""Decontamination against copies in disguise, on a generated set the defaults were not tuned on."""

import collections
import sys
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.data.fold import fold
from {{ cookiecutter.package_name }}.data.ngrams import EvalIndex, Segments
from {{ cookiecutter.package_name }}.data.texts import eval_texts, row_texts
from {{ cookiecutter.package_name }}.data.wordhash import word_hashes
from {{ cookiecutter.package_name }}.params.decontaminate import (
    DecontaminateParams,
)

sys.path.insert(0, str(Path(__file__).parents[1] / "bench"))
from disguises import DISGUISES, contamination_set  # noqa: E402


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Ｆｕｌｌｗｉｄｔｈ and 𝐛𝐨𝐥𝐝 𝑖𝑡𝑎𝑙𝑖𝑐", "fullwidth and bold italic"),
        ("zero\u200bwidth word\u2060join soft\u00adhyphen t\U000e0041ag", "zerowidth wordjoin softhyphen tag"),  # noqa: E501
        ("Сyrіllіс рауlоаd and Greek ο and Armenian օ", "cyrillic payload and greek o and armenian o"),
        ("cafe\u0301 na\u0308ive c\u0327a", "cafe naive ca"),
        ("Twenty-three, one hundred and five, 2,024 and two thousand twenty-four", "23 105 2024 and 2024"),
        ("one two three", "1 2 3"),
        ("a thousand words, a hundred and five, one million", "a 1000 words a 105 1000000"),
        ("plain ASCII, stays: as-is!", "plain ascii stays as is"),
    ],
)  # fmt: skip
def test_fold_undoes_what_unicode_says_is_the_same(text, folded):
    assert fold(text).decode().split() == folded.split()


@pytest.mark.parametrize("seed", [1, 2])
def test_the_batched_fold_hashes_what_fold_gives(seed):
    """Segments folds only the texts that need it (non-ASCII, digit groups, number words) and
    must hash every text exactly as fold() reads it."""
    _, rows = contamination_set(seed=seed, per_kind=20)
    texts = [t for r in rows for t in row_texts(r)]
    texts += ["", "ports 8080 443 and 1,000 rows", "someone said: one", "v1.2.3 at 10.0.0.1", "x 1 000", "—"]
    segments = Segments(texts)
    assert len(segments.starts) == len(texts)
    # fold is not idempotent ("two 130" folds to "2 130", a digit group to a second fold), so
    # the index must fold eval texts once, as rows are: a copy holds every n-gram of its prompt
    index = EvalIndex(n=6, min_words=3)
    index.add("eval", "e", ["Then a two 130 zinisi temole and one thousand, 2,024 more words here"])
    copy = Segments(["then A TWO 130 zinisi temole, and one thousand 2,024 more words here!"])
    assert set(index.grams[0].tolist()) <= set(copy.grams(index.weights, 6)[1].tolist())
    for i, text in enumerate(texts):
        expected = word_hashes(b"\n" + fold(text) + b"\n")[0]
        got = segments.hashes[segments.starts[i] : segments.ends[i]]
        assert got.tolist() == expected.tolist(), text


def _recall(seed: int, per_kind: int = 40) -> tuple[dict, dict]:
    p = DecontaminateParams()
    evals, rows = contamination_set(seed=seed, per_kind=per_kind)
    index = EvalIndex(n=p.ngram, min_words=p.min_words, boilerplate=p.boilerplate, window=p.window)
    for e in evals:
        index.add("eval", e["id"], eval_texts(e))
    found = index.match_all([row_texts(r) for r in rows], p.threshold)
    hits, totals = collections.Counter(), collections.Counter()
    for row, matches in zip(rows, found, strict=True):
        totals[row["kind"]] += 1
        if row["eval"] is None:
            hits[row["kind"]] += bool(matches)
        else:
            hits[row["kind"]] += any(item == row["eval"] for _, item, _, _ in matches)
    return hits, totals


@pytest.mark.parametrize("seed", [11, 12])  # the bench measures seed 1
def test_disguised_copies_are_removed_and_clean_look_alikes_kept(seed):
    hits, totals = _recall(seed)
    for kind in DISGUISES:
        assert hits[kind] / totals[kind] >= 0.85, f"{kind}: {hits[kind]}/{totals[kind]} caught"
    assert sum(hits[k] for k in DISGUISES) / sum(totals[k] for k in DISGUISES) >= 0.95
    assert hits["lookalike"] == 0  # the same frames with other fillers
    assert hits["boilerplate"] / totals["boilerplate"] <= 0.02  # only the shared instruction


def test_a_prompt_that_is_only_shared_instruction_is_never_matched_on():
    index = EvalIndex(n=6, min_words=3, boilerplate=3, window=50)
    instruction = "Read the following passage carefully and then answer the question that follows it."
    passages = ["alpha beta gamma delta epsilon zeta eta", "one more passage on rivers and lakes"]
    for i, passage in enumerate([*passages, "a third passage about mountain goats in winter"]):
        index.add("eval", f"e{i}", [f"{instruction} {passage}"])
    index.add("eval", "bare", [instruction])
    assert (
        index.matches([f"{instruction} Another passage of my own about ships."], 1e-9) == []
    )  # even any_hit
    assert index.matches([f"{instruction} A passage of my own about ships."], 0.5) == []
    copied = index.matches(["Notes: a third passage about mountain goats in winter"], 0.7)
    assert [(i, s) for _, i, _, s in copied] == [("e2", "a third passage about mountain goats in winter")]


def test_any_hit_catches_one_shared_n_gram_of_a_very_long_prompt():
    """A score far below 0.001 still passes any_hit's bar: scores are compared before rounding."""
    words = [f"w{i}x" for i in range(15000)]
    index = EvalIndex(n=6, min_words=3, window=0)
    index.add("eval", "long", [" ".join(words)])
    assert [m[:2] for m in index.matches([" ".join(words[100:106])], 1e-9)] == [("eval", "long")]


def test_a_long_passage_copied_in_part_counts():
    words = [f"w{i}x" for i in range(400)]
    index = EvalIndex(n=6, min_words=3, window=50)
    index.add("eval", "long", [" ".join(words)])
    assert index.matches([" ".join(words[100:160])], 0.5)[0][:2] == ("eval", "long")
    assert index.matches([" ".join(words[100:110])], 0.5) == []
    assert EvalIndex(n=6, min_words=3, window=0).matches([" ".join(words[100:160])], 0.5) == []
