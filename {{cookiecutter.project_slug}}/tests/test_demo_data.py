import json
import random
import re
from collections import Counter, defaultdict

import pytest

from {{ cookiecutter.package_name }} import demo_data, demo_tools
from {{ cookiecutter.package_name }}.data.chat import check_conversation
from {{ cookiecutter.package_name }}.evals.checks import judge, parse_check

BUCKETS = {"ioc_normalize", "scan_verdict", "out_of_scope", "tool_use"}


def test_generation_is_deterministic():
    assert demo_data.make_raw(20, seed=3) == demo_data.make_raw(20, seed=3)
    assert demo_data.make_raw(20, seed=3) != demo_data.make_raw(20, seed=4)


def test_every_item_is_tagged_and_knowledge_points_have_several_cards():
    rows = demo_data.make_raw(300, seed=0)
    assert len(rows) == 4 * 300 + 3
    assert all({"bucket", "knowledge_point", "risk"} <= set(r["meta"]) for r in rows)
    assert {r["meta"]["bucket"] for r in rows} == BUCKETS
    cards = Counter(r["meta"]["knowledge_point"] for r in rows)
    assert len(cards) >= 11 and min(cards.values()) >= 20


def _shape(text: str) -> str:
    """A prompt with its host, level and topic words masked: what is left is the phrasing."""
    text = re.sub(r"\b[\w-]+(?:\.[\w-]+)+\b", "HOST", text)
    return re.sub(r"\d+", "N", text)


def test_each_tool_knowledge_point_is_phrased_at_least_five_ways():
    rows = [r for r in demo_data.make_raw(300, seed=0) if r["meta"]["bucket"] == "tool_use"]
    shapes = defaultdict(set)
    for r in rows:
        shapes[r["meta"]["knowledge_point"]].add(_shape(r["messages"][1]["content"]))
    assert set(shapes) == set(demo_tools.RISK)
    assert {kp: len(s) >= 5 for kp, s in shapes.items()} == {kp: True for kp in shapes}


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
    assert {r["meta"]["bucket"] for r in golden} == BUCKETS
    assert len(golden) == 39 + 15 and len({r["id"] for r in golden}) == len(golden)


def test_tool_cards_are_judged_by_their_own_checks():
    # The reference answer of every tool item passes its check, and the typical failure fails it.
    rows = demo_data.make_golden(seed=1) + demo_data.make_raw(100, 0)[:-3]  # without the broken rows
    rows = [r for r in rows if r["meta"].get("check")]
    assert {r["meta"]["knowledge_point"] for r in rows} == set(demo_tools.RISK)
    for row in rows:
        assert check_conversation(row) is None, row
        check, reference = parse_check(row["meta"]["check"]), row["messages"][-1]["content"]
        assert judge(check, reference, reference, ["^out of scope"])[0], row
        wrong = demo_tools.rejected(row, random.Random(0))
        assert not judge(check, wrong, reference, ["^out of scope"])[0], (row, wrong)


def test_a_tool_call_is_compact_json_with_the_host_from_the_prompt():
    rng = random.Random(5)
    for _ in range(20):
        card = demo_tools.tool_card(rng, "call_scan")
        call = json.loads(card["messages"][-1]["content"])
        assert call == {"name": "scan", "arguments": {"host": call["arguments"]["host"]}}
        assert call["arguments"]["host"] in card["messages"][1]["content"]
        assert card["meta"]["check"]["arguments"] == call["arguments"]


@pytest.mark.parametrize("kp", ["use_result", "no_result"])
def test_a_tool_result_follows_the_call_and_is_answered_without_a_second_call(kp):
    card = demo_tools.tool_card(random.Random(1), kp, level=8)
    roles = [m["role"] for m in card["messages"]]
    assert roles == ["system", "user", "assistant", "tool", "assistant"]
    assert card["messages"][-1]["content"] == ("UNSAFE" if kp == "use_result" else demo_tools.NO_RESULT)


def test_preference_pairs_cover_every_bucket_and_reject_a_different_answer():
    pairs = demo_data.make_preferences(20, seed=2)
    assert len(pairs) == 4 * 20 and {p["meta"]["bucket"] for p in pairs} == BUCKETS
    assert all(p["chosen"][0]["content"] != p["rejected"][0]["content"] for p in pairs)
    # Every field has one type across the pairs: train loads them with datasets.Dataset.from_list.
    assert {k: {type(p["meta"][k]) for p in pairs} for k in pairs[0]["meta"]} == {
        k: {str} for k in ("bucket", "knowledge_point", "risk", "source")
    }
    tool = [p for p in pairs if p["meta"]["bucket"] == "tool_use"]
    assert all(p["prompt"][0]["content"] == demo_tools.SYSTEM_TOOLS for p in tool)


def test_simulated_feedback_has_good_and_bad_verdicts_and_some_corrections():
    rows = demo_data.make_feedback(150, seed=3)
    verdicts = Counter(r["verdict"] for r in rows)
    assert set(verdicts) == {"good", "bad"} and 0.1 < verdicts["bad"] / len(rows) < 0.4
    bad = [r for r in rows if r["verdict"] == "bad"]
    assert 0 < sum("correction" in r for r in bad) < len(bad)
    assert all(r["answer"] != r.get("correction") for r in bad)
    assert "@example.org" in rows[0]["messages"][-1]["content"]
