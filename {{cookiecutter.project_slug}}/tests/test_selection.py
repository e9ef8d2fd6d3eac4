"""What train keeps and mixes in, without training: the val subset, the score, the replay prompts
and the general sources (the training itself is tested in test_training.py)."""

import json
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.errors import UserError
from {{ cookiecutter.package_name }}.evals.general import SKILLS, probes
from {{ cookiecutter.package_name }}.training import mixing, selection

ROOT = Path(__file__).resolve().parents[1]


def item(i: int, bucket: str) -> dict:
    return {"id": f"{bucket}-{i}", "messages": [], "meta": {"bucket": bucket}}


def test_the_val_subset_takes_buckets_in_turn_and_is_seeded():
    items = [item(i, "big") for i in range(40)] + [item(i, "small") for i in range(3)]
    chosen = selection.subset(items, 10, seed=0)
    assert len(chosen) == 10
    assert sum(c["meta"]["bucket"] == "small" for c in chosen) == 3  # a small bucket is not drowned
    assert [c["id"] for c in chosen] == [c["id"] for c in selection.subset(items, 10, seed=0)]
    assert [c["id"] for c in chosen] != [c["id"] for c in selection.subset(items, 10, seed=1)]
    assert len(selection.subset(items, 100, seed=0)) == 43


def test_a_pass_rate_gain_always_beats_a_lower_loss():
    one_more_right = selection.selection_score(26 / 48, loss=99.0)
    assert one_more_right > selection.selection_score(25 / 48, loss=0.0)
    assert selection.selection_score(0.5, 0.2) > selection.selection_score(0.5, 0.3)  # then the loss


def test_no_probe_is_a_replay_prompt():
    # Disjoint by construction (other words, names, countries, number ranges and phrasings), so
    # it holds for any probe seed and count: the probes measure forgetting, not memory.
    replay = [json.loads(line) for line in (ROOT / "data" / "replay_prompts.jsonl").read_text().splitlines()]
    asked = {row["messages"][-1]["content"].casefold() for row in replay}
    assert len(asked) == len(replay) >= 150
    for seed in range(10):
        for probe in probes(list(SKILLS), 60, seed):
            assert probe["messages"][1]["content"].casefold() not in asked, probe["id"]
    assert {row["meta"]["skill"] for row in replay} >= set(SKILLS)  # every probed skill is replayed


def test_a_general_source_of_any_kind_is_read_and_drawn_by_weight(tmp_path):
    sharegpt = tmp_path / "chats.jsonl.gz"
    import gzip

    turns = [[{"from": "human", "value": f"Hi {i}"}, {"from": "gpt", "value": "Hello"}] for i in range(10)]
    rows = [{"conversations": t} for t in turns]
    sharegpt.write_bytes(gzip.compress("".join(json.dumps(r) + "\n" for r in rows).encode()))
    task = [{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}] * 20
    mixed, report = mixing.mix(task, {str(sharegpt): 0.25}, seed=0)
    assert report == {"task": 20, "sources": {str(sharegpt): {"weight": 0.25, "available": 10, "drawn": 5}}}
    assert len(mixed) == 25 and all(r["meta"]["mixed_from"] == str(sharegpt) for r in mixed[20:])
    assert mixed == mixing.mix(task, {str(sharegpt): 0.25}, seed=0)[0]  # seeded


def test_a_bad_general_row_stops_train_naming_file_and_line(tmp_path):
    source = tmp_path / "mine.jsonl"
    good = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}
    source.write_text(json.dumps(good) + '\n{"messages": 3}\n')
    with pytest.raises(
        UserError, match=r"train.mix: .*mine.jsonl:2: field 'messages' must be a non-empty list"
    ):
        mixing.mix([], {str(source): 1.0}, seed=0)


def test_a_replay_prompt_that_is_not_a_user_turn_is_named(tmp_path):
    from {{ cookiecutter.package_name }}.replay import read_prompts

    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text(
        '{"messages": [{"role": "user", "content": "Hi"}]}\n'
        '{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]}\n'
    )
    with pytest.raises(UserError, match=r"prompts.jsonl:2: the last message must be the user's"):
        read_prompts(prompts)


@pytest.mark.slow
def test_replay_keeps_only_finished_answers_and_counts_the_rest(tiny_base, tmp_path):
    from {{ cookiecutter.package_name }} import replay
    from {{ cookiecutter.package_name }}.data.jsonl import read_jsonl
    from {{ cookiecutter.package_name }}.params.replay import ReplayParams

    rows = [
        json.loads(line) for line in (ROOT / "data" / "replay_prompts.jsonl").read_text().splitlines()[:12]
    ]
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(json.dumps(r) + "\n" for r in rows))
    p = ReplayParams(max_new_tokens=24, batch_size=8)
    report = replay.main(p, tiny_base, prompts, tmp_path / "out", tmp_path / "m.json")
    kept = list(read_jsonl(tmp_path / "out" / "replay.jsonl"))
    assert (
        report["prompts"] == 12 == report["kept"] + report["left_out_unfinished"] + report["left_out_empty"]
    )
    assert len(kept) == report["kept"]
    for row in kept:
        assert row["messages"][-1]["role"] == "assistant" and row["messages"][-1]["content"].strip()
        assert row["meta"]["bucket"] == "replay" and row["id"].startswith("replay-")
