import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from {{ cookiecutter.package_name }}.data import neardup
from {{ cookiecutter.package_name }}.data.neardup import (
    FALSE_NEGATIVE_WEIGHT,
    NearDupIndex,
    jaccard_estimate,
    lsh_params,
    signature,
    signatures,
)
from {{ cookiecutter.package_name }}.params.curate import (
    NearDupParams,
)

BASE = (
    "The analyst reviewed the firewall logs from the perimeter gateway and found repeated login "
    "attempts against the VPN portal from a small range of foreign addresses. Each attempt used a "
    "different username taken from the public staff directory, which suggests password spraying rather "
    "than a targeted attack. The accounts were locked and the addresses were blocked at the network edge."
)
OTHER = (
    "Quarterly backup restore drills confirmed that the finance database can be recovered within "
    "four hours, although the archive tapes stored offsite took longer to retrieve than the runbook "
    "assumes. The storage team will update the retrieval contract, add a second courier, and repeat "
    "the drill next month with the payroll system and HR records included in scope this time around."
)
PHRASE = "please let me know if you need anything else from the security team"


def words(text: str) -> list[str]:
    return re.sub(r"[\W_]+", " ", text.lower()).split()


def true_jaccard(a: str, b: str, k: int = 5) -> float:
    """Exact Jaccard of the k-word shingle sets, the quantity the signatures estimate."""
    sa, sb = ({tuple(w[i : i + k]) for i in range(len(w) - k + 1)} for w in (words(a), words(b)))
    return len(sa & sb) / len(sa | sb)


def replace_words(text: str, changes: dict[int, str]) -> str:
    tokens = text.split()
    for i, word in changes.items():
        tokens[i] = word
    return " ".join(tokens)


def test_fixtures_are_what_the_tests_assume():
    assert len(words(BASE)) == len(words(OTHER)) == 60
    assert true_jaccard(BASE, OTHER) == 0.0


def test_exact_and_near_duplicates_point_to_the_kept_key():
    reformatted = BASE.upper().replace(".", " !").replace(",", ";").replace(" ", "   ")
    last_word = replace_words(BASE, {59: "perimeter."})
    assert true_jaccard(BASE, last_word) == 55 / 57
    index = NearDupIndex(NearDupParams())
    assert index.add("base", BASE) is None
    assert index.add("other", OTHER) is None
    assert index.add("exact", BASE) == "base"
    assert index.add("reformatted", reformatted) == "base"
    assert index.add("last_word", last_word) == "base"
    assert index.add("other_again", "  " + OTHER.lower()) == "other"
    assert (len(index), index.kept) == (6, 2)


def test_a_few_changed_words_are_found_with_short_chat_settings():
    # With 5-word shingles one changed word removes up to 5 of a 60-word text's 56 shingles, so three
    # spread-out changes leave a Jaccard near 0.58; 3-word shingles suit short chat turns better.
    edited = replace_words(BASE, {10: "noticed", 30: "name", 50: "accounts"})
    assert true_jaccard(BASE, edited, k=3) == 49 / 67
    assert true_jaccard(BASE, edited, k=5) == 41 / 71
    index = NearDupIndex(NearDupParams(threshold=0.6, shingle_size=3))
    assert index.add("base", BASE) is None
    assert index.add("other", OTHER) is None
    assert index.add("edited", edited) == "base"
    strict = NearDupIndex(NearDupParams())
    assert strict.add("base", BASE) is None
    assert strict.add("edited", edited) is None  # 0.58 is below the default 0.8


def test_unrelated_texts_and_a_shared_phrase_are_not_flagged():
    first = "The laptop reported malware in a downloaded invoice attachment. " + PHRASE
    second = PHRASE + ". Our printer in room four keeps jamming whenever a duplex job is sent."
    index = NearDupIndex(NearDupParams())
    answers = [index.add(k, t) for k, t in [("base", BASE), ("other", OTHER), ("1", first), ("2", second)]]
    assert answers == [None, None, None, None]
    assert index.kept == 4
    p = NearDupParams()
    assert true_jaccard(first, second) == 9 / 31
    assert jaccard_estimate(signature(first, p), signature(second, p)) < 0.5


def test_cluster_ids_are_the_first_kept_member():
    index = NearDupIndex(NearDupParams())
    items = [
        ("a", BASE),
        ("b", OTHER),
        ("a_copy", BASE.lower()),
        ("b_copy", OTHER + "  "),
        ("a_edit", replace_words(BASE, {59: "perimeter."})),
    ]
    answers = [index.add(k, t) for k, t in items]
    assert answers == [None, None, "a", "b", "a"]
    clusters = {k: index.cluster_of(k) for k, _ in items}
    assert clusters == {"a": "a", "b": "b", "a_copy": "a", "b_copy": "b", "a_edit": "a"}
    with pytest.raises(KeyError):
        index.cluster_of("never_added")
    with pytest.raises(ValueError, match="already added"):
        index.add("a_copy", OTHER)


def test_add_many_answers_like_add_one_by_one():
    items = [
        ("a", BASE),
        ("b", OTHER),
        ("c", BASE + " "),
        ("d", ""),
        ("e", "..."),
        ("f", "Reset my password"),
        ("g", "reset my PASSWORD!"),
    ]
    one_by_one = NearDupIndex(NearDupParams())
    expected = [(k, one_by_one.add(k, t)) for k, t in items]
    assert dict(expected) == {"a": None, "b": None, "c": "a", "d": None, "e": "d", "f": None, "g": "f"}
    batched = NearDupIndex(NearDupParams())
    assert list(batched.add_many(iter(items), batch_size=3)) == expected
    assert [batched.cluster_of(k) for k, _ in items] == [one_by_one.cluster_of(k) for k, _ in items]


def test_prepare_then_add_prepared_is_add_with_the_caller_choosing_what_to_add():
    texts = [BASE, OTHER, BASE + " ", "reset my PASSWORD!"]
    index = NearDupIndex(NearDupParams())
    prepared = index.prepare(texts)
    assert index.add_prepared("a", prepared[0]) is None
    # the caller skips "b" (e.g. an exact duplicate): it never enters the index
    assert index.add_prepared("c", prepared[2]) == "a"
    assert index.add_prepared("d", prepared[3]) is None
    assert index.kept == 2 and len(index) == 3
    single = NearDupIndex(NearDupParams())
    assert [single.add(k, texts[i]) for k, i in (("a", 0), ("c", 2), ("d", 3))] == [None, "a", None]


def test_add_signature_takes_precomputed_signatures():
    p = NearDupParams()
    sigs = signatures([BASE, BASE.upper()], p)
    index = NearDupIndex(p)
    assert index.add_signature("a", sigs[0]) is None
    assert index.add_signature("b", sigs[1]) == "a"
    with pytest.raises(ValueError, match="shape"):
        index.add_signature("c", sigs[0][:64])


def test_a_shared_band_is_verified_on_the_whole_signature():
    p = NearDupParams()
    base = signature(BASE, p)

    def edited(positions: range) -> np.ndarray:
        out = base.copy()
        out[positions] += np.uint32(1)  # a different value at each of these positions
        return out

    # same first bands (so an LSH candidate), but only 102 of 128 positions agree: 0.797 < 0.8
    assert jaccard_estimate(base, edited(range(102, 128))) == 102 / 128
    for agree, expected in [(102, None), (103, "base")]:  # 103 / 128 = 0.805
        index = NearDupIndex(p)
        assert index.add_signature("base", base) is None
        assert index.add_signature("edited", edited(range(agree, 128))) == expected


def test_the_most_similar_kept_item_is_reported():
    p = NearDupParams()
    z = signature(BASE, p)
    x, y = z.copy(), z.copy()
    x[105:] += np.uint32(1)  # agrees with z on 105 positions
    y[:18] += np.uint32(1)  # agrees with z on 110, with x on only 87, so both are kept
    index = NearDupIndex(p)
    assert [index.add_signature("x", x), index.add_signature("y", y)] == [None, None]
    assert index.add_signature("z", z) == "y"
    assert index.add_signature("x_again", x) == "x"


def test_signatures_are_uint32_and_pinned():
    sig = signature("The quick brown fox jumps over the lazy dog", NearDupParams())
    assert sig.dtype == np.uint32 and sig.shape == (128,)
    # pinned: a change here invalidates every signature computed before it
    assert sig[:4].tolist() == [74938640, 669933673, 201102508, 359050392]


def test_signatures_are_deterministic_across_processes():
    p = NearDupParams()
    here = signature(BASE, p)
    assert np.array_equal(here, signature(BASE, p))
    assert not np.array_equal(here, signature(BASE, NearDupParams(seed=1)))
    src = str(Path(neardup.__file__).parents[2])
    code = (
        "import importlib, sys\n"
        f"m = importlib.import_module({neardup.__name__!r})\n"
        "print(m.signature(sys.argv[1], m.NearDupParams()).tolist())\n"
    )
    for hash_seed in ("1", "2"):  # Python's str hash differs between these; the signature must not
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")]))
        out = subprocess.run(
            [sys.executable, "-c", code, BASE], env=env, capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == str(here.tolist())


def test_the_estimate_is_close_to_the_true_jaccard():
    p = NearDupParams()
    a = " ".join(f"tok{i}" for i in range(100))
    for shared in (30, 60, 90):
        b = " ".join([f"tok{i}" for i in range(shared)] + [f"new{i}" for i in range(100 - shared)])
        truth = (shared - 4) / (2 * 96 - (shared - 4))  # 96 shingles each, shared - 4 in common
        assert true_jaccard(a, b) == truth
        assert abs(jaccard_estimate(signature(a, p), signature(b, p)) - truth) < 0.1
    # over 200 independent pairs of that middle kind: no bias, and the spread of a binomial with 128
    # independent draws (sqrt(J(1-J)/128) = 0.0435); correlated permutations would spread wider
    a = [" ".join(f"w{i}x{pair}" for i in range(100)) for pair in range(200)]
    b = [" ".join(f"w{i}x{pair}" if i < 60 else f"new{i}x{pair}" for i in range(100)) for pair in range(200)]
    errors = (signatures(a, p) == signatures(b, p)).mean(axis=1) - 56 / 136
    assert abs(errors.mean()) < 0.015
    assert 0.035 < errors.std() < 0.055


def test_batch_signatures_equal_single_ones():
    p = NearDupParams()
    texts = [BASE, "", "one", "three short words", OTHER * 60, "Café ﬁle…", BASE.upper()]
    texts += [f"{i} {OTHER}" for i in range(900)]  # > 1 MiB of text: more than one internal batch
    batch = signatures(texts, p)
    assert batch.shape == (len(texts), 128) and batch.dtype == np.uint32
    for i in [0, 1, 2, 3, 4, 5, 6, 7, 500, len(texts) - 1]:
        assert np.array_equal(batch[i], signature(texts[i], p)), i
    assert signatures([], p).shape == (0, 128)


def test_normalisation_ignores_case_punctuation_spacing_and_unicode_forms():
    p = NearDupParams()
    assert np.array_equal(signature("Hello,\tWORLD!\n", p), signature("hello world…", p))
    assert np.array_equal(signature("CAFÉ ﬁle", p), signature("café file", p))
    assert np.array_equal(signature("snake_case", p), signature("snake case", p))
    assert not np.array_equal(signature("hello world", p), signature("world hello", p))


def test_short_texts_are_one_shingle():
    p = NearDupParams()
    assert jaccard_estimate(signature("reset my password", p), signature("reset my token", p)) < 0.1
    assert np.array_equal(signature("", p), signature(" ?! ", p))
    assert not np.array_equal(signature("", p), signature("a", p))
    index = NearDupIndex(p)
    assert index.add("s1", "Reset my password") is None
    assert index.add("s2", "reset my password.") == "s1"
    assert index.add("s3", "reset my token") is None
    assert index.add("s4", "password") is None
    assert index.add("s5", "") is None
    assert index.add("s6", "   ") == "s5"


def test_bands_and_rows():
    p = NearDupParams()
    assert lsh_params(p.threshold, p.num_perm, FALSE_NEGATIVE_WEIGHT) == (14, 9)
    # with equal weights it is datasketch's _optimal_param (values taken from datasketch 2.0.0)
    assert lsh_params(0.8, 128, 0.5) == (9, 13)
    assert lsh_params(0.5, 128, 0.5) == (25, 5)
    assert lsh_params(0.9, 256, 0.5) == (9, 28)
    for threshold in (0.5, 0.7, 0.9):
        q = NearDupParams(threshold=threshold, num_perm=64)
        bands, rows = lsh_params(q.threshold, q.num_perm, FALSE_NEGATIVE_WEIGHT)
        assert bands * rows <= 64


def test_jaccard_estimate_and_params_validation():
    assert jaccard_estimate(np.array([1, 2, 3, 4]), np.array([1, 2, 0, 0])) == 0.5
    with pytest.raises(ValueError, match="shape"):
        jaccard_estimate(np.zeros(4), np.zeros(5))
    for bad in ({"threshold": 0.0}, {"threshold": 1.5}, {"shingle_size": 0}, {"num_perm": 1}):
        with pytest.raises(ValueError):
            NearDupParams(**bad)
