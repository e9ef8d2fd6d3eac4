import re
from collections import Counter

from {{ cookiecutter.package_name }} import demo_data
from {{ cookiecutter.package_name }}.data.chat import check_conversation


def test_generation_is_deterministic():
    assert demo_data.make_raw(20, seed=3) == demo_data.make_raw(20, seed=3)
    assert demo_data.make_raw(20, seed=3) != demo_data.make_raw(20, seed=4)


def test_every_item_is_tagged_and_knowledge_points_have_several_cards():
    rows = demo_data.make_raw(300, seed=0)
    assert all({"bucket", "knowledge_point", "risk"} <= set(r["meta"]) for r in rows)
    cards = Counter(r["meta"]["knowledge_point"] for r in rows)
    assert len(cards) >= 6 and min(cards.values()) >= 20


def test_raw_data_carries_a_few_realistic_defects():
    problems = [check_conversation(r) for r in demo_data.make_raw(50, seed=0)]
    assert sorted(p[0] for p in problems if p) == ["empty_content", "unknown_role"]


def test_golden_set_pins_the_policy_boundary():
    golden = demo_data.make_golden(seed=1)
    verdicts = {}
    for row in golden:
        if row["meta"]["bucket"] == "scan_verdict":
            level = re.search(r"(?i)(?:level|scored) (\d+)", row["messages"][1]["content"]).group(1)
            verdicts[int(level)] = row["messages"][-1]["content"]
    assert verdicts[demo_data.UNSAFE_AT - 1] == "SAFE" and verdicts[demo_data.UNSAFE_AT] == "UNSAFE"
    assert set(verdicts) == set(range(11))
    assert {r["meta"]["bucket"] for r in golden} == {"ioc_normalize", "scan_verdict", "out_of_scope"}
