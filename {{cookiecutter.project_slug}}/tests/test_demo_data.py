import re
from collections import Counter

from {{ cookiecutter.package_name }}.chat import check_conversation
from {{ cookiecutter.package_name }}.demo_data import UNSAFE_AT, make_golden, make_raw


def test_generation_is_deterministic():
    assert make_raw(20, seed=3) == make_raw(20, seed=3)
    assert make_raw(20, seed=3) != make_raw(20, seed=4)


def test_every_item_is_tagged_and_knowledge_points_have_several_cards():
    rows = make_raw(300, seed=0)
    assert all({"bucket", "knowledge_point", "risk"} <= set(r["meta"]) for r in rows)
    cards = Counter(r["meta"]["knowledge_point"] for r in rows)
    assert len(cards) >= 6 and min(cards.values()) >= 20


def test_raw_data_carries_a_few_realistic_defects():
    problems = [check_conversation(r) for r in make_raw(50, seed=0)]
    assert sorted(p[0] for p in problems if p) == ["empty_content", "unknown_role"]


def test_golden_set_pins_the_policy_boundary():
    verdicts = {
        int(re.search(r"(?i)(?:level|scored) (\d+)", r["messages"][1]["content"]).group(1)): r["messages"][
            -1
        ]["content"]
        for r in make_golden(seed=1)
        if r["meta"]["bucket"] == "scan_verdict"
    }
    assert verdicts[UNSAFE_AT - 1] == "SAFE" and verdicts[UNSAFE_AT] == "UNSAFE"
    assert {r["meta"]["bucket"] for r in make_golden(seed=1)} == {
        "ioc_normalize",
        "scan_verdict",
        "out_of_scope",
    }
