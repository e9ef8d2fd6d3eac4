"""What train keeps and mixes in, without training: the val subset, the score, the replay prompts
and the general sources (the training itself is tested in test_training.py)."""

import json
import re
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


def test_no_probe_is_a_replay_prompt_nor_shares_a_value_with_one():
    # Replay asks each skill in the probes' own forms among others ("Next number after N"), so the
    # skill is held in the form the gate asks it in; but never with a probe's value (words,
    # numbers, names, countries), for any probe seed and count: the probes measure forgetting,
    # not memory of their answers.
    replay = [json.loads(line) for line in (ROOT / "data" / "replay_prompts.jsonl").read_text().splitlines()]
    asked = {row["messages"][-1]["content"].casefold() for row in replay}
    assert len(asked) == len(replay) >= 150
    form_words = set(
        "repeat exactly say back echo what comes after next number which is larger or first word of"
        " hi i am hello my name the capital".split()
    )
    values: dict[str, set[str]] = {}
    for row in replay:
        words = re.findall(r"\w+", row["messages"][-1]["content"].casefold())
        values.setdefault(row["meta"]["skill"], set()).update(words)
    for seed in range(10):
        for probe in probes(list(SKILLS), 60, seed):
            prompt = probe["messages"][1]["content"].casefold()
            assert prompt not in asked, probe["id"]
            own = set(re.findall(r"\w+", prompt)) - form_words
            skill = probe["meta"]["bucket"].removeprefix("general_")
            assert not own & values[skill], (probe["id"], own & values[skill])
    assert set(values) >= set(SKILLS)  # every probed skill is replayed


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


def test_a_replay_prompts_check_is_parsed_and_one_needing_a_reference_is_refused(tmp_path):
    from {{ cookiecutter.package_name }}.replay import read_prompts

    prompts = tmp_path / "prompts.jsonl"
    ask = '{"messages": [{"role": "user", "content": "Hi, I am Zora."}], "meta": {"check": %s}}\n'
    prompts.write_text(ask % '{"type": "regex", "pattern": "Zora"}' + ask % '{"type": "regex"}')
    with pytest.raises(UserError, match=r"prompts.jsonl:2: meta.check: regex needs field 'pattern'"):
        read_prompts(prompts)
    prompts.write_text(ask % '{"type": "regex", "pattern": "Zora"}' + ask % '"exact"')
    with pytest.raises(UserError, match=r"prompts.jsonl:2: meta.check.type 'exact' needs a reference answer"):
        read_prompts(prompts)
    prompts.write_text(ask % '{"type": "regex", "pattern": "Zora"}' + ask % "null")
    assert [p["check"] for p in read_prompts(prompts)] == [{"type": "regex", "pattern": "Zora"}, None]


def test_only_a_finished_answer_that_passes_its_check_is_replayed():
    from {{ cookiecutter.package_name }}.replay import left_out

    greets = {"type": "regex", "pattern": r"(?is)^\W*(hello|hi)\b.*\bZora\b"}
    assert left_out(greets, {"text": "Hello Zora! How can I help?", "stopped": True}) is None
    assert left_out(greets, {"text": "I'm so glad you're here, Zora.", "stopped": True}) == "wrong"
    assert left_out(greets, {"text": "Hello Zora, and", "stopped": False}) == "unfinished"
    assert left_out(greets, {"text": "  ", "stopped": True}) == "empty"
    assert left_out(None, {"text": "Anything finished", "stopped": True}) is None


def test_a_failed_greedy_answer_is_sampled_again_and_the_first_right_sample_kept(monkeypatch):
    from {{ cookiecutter.package_name }} import replay
    from {{ cookiecutter.package_name }}.params.replay import ReplayParams

    greets = {"type": "regex", "pattern": r"(?i)^hello\b.*\bZora\b"}
    prompts = [
        {"messages": [{"role": "user", "content": "Hi, I am Zora."}], "check": greets},
        {"messages": [{"role": "user", "content": "Name a colour."}], "check": None},
        {"messages": [{"role": "user", "content": "Hey, Zora here."}], "check": greets},
    ]
    answers = [{"text": t, "stopped": True} for t in ("Nice to meet you.", "", "Hello Zora!")]
    why = [replay.left_out(row["check"], a) for row, a in zip(prompts, answers, strict=True)]
    assert why == ["wrong", "empty", None]
    asked = []

    def sampled(model, tokenizer, messages, max_new_tokens, batch_size, settings=None, progress=None):
        asked.append((messages, settings))
        texts = ["Hi there.", "Hello Zora, welcome!", "Hello Zora, again!"]  # 3 samples of prompt 0
        return [{"text": t, "stopped": True} for t in texts]

    monkeypatch.setattr(replay.generation, "generate", sampled)
    p = ReplayParams(samples=3, temperature=0.7)
    assert replay.resample(p, None, None, prompts, answers, why) == {0}
    assert answers[0]["text"] == "Hello Zora, welcome!" and why == [None, "empty", None]
    # only the checked prompt whose greedy answer failed is sampled, `samples` times, at the temperature
    assert asked == [([prompts[0]["messages"]] * 3, {"do_sample": True, "temperature": 0.7})]
    assert replay.resample(ReplayParams(samples=0), None, None, prompts, answers, ["wrong"] * 3) == set()


def test_every_shipped_replay_prompt_of_a_probed_skill_carries_a_check_its_own_answer_passes():
    from {{ cookiecutter.package_name }}.evals.checks import judge
    from {{ cookiecutter.package_name }}.replay import read_prompts

    prompts = read_prompts(ROOT / "data" / "replay_prompts.jsonl")
    probed = [p for p in prompts if p["meta"]["skill"] in SKILLS]
    assert len(probed) >= 7 * 60 and all(p["check"] for p in probed)
    right_wrong = {  # a right and a wrong answer to one prompt of each skill, by hand: no vacuous check
        "Type this back to me word for word: 6291 carpet table": ("6291 carpet table", "6291 carpet"),
        "Repeat exactly: 4336 thunder ladder": ("Repeat exactly: 4336 thunder ladder", "4336 thunder"),
        "Which number follows 1534?": ("It is 1535.", "It is 1534."),
        "Next number after 1166": ("The next number after 1166 is 1167.", "After 1166 comes 1170."),
        "Which word comes first here: tunnel puzzle lemon": ("Tunnel.", "Lemon."),
        "Hey there, I'm Aiko.": ("Hey Aiko, nice to meet you!", "Nice to meet you!"),
        "What is the capital of Ukraine?": ("Kyiv.", "Moscow."),
        "Tell me the greater number: 781 or 504.": ("781 is greater.", "504 is greater than 781? No: 504."),
        "How much is 88 minus 54?": ("88 - 54 = 34.", "88 - 54 = 24."),
    }
    asked = {p["messages"][-1]["content"]: p["check"] for p in prompts}
    for prompt, (good, bad) in right_wrong.items():
        assert judge(asked[prompt], good, "", [])[0], (prompt, good)
        assert not judge(asked[prompt], bad, "", [])[0], (prompt, bad)


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
    left_out = report["left_out_unfinished"] + report["left_out_empty"] + report["left_out_wrong"]
    assert report["prompts"] == 12 == report["kept"] + left_out
    assert len(kept) == report["kept"]
    for row in kept:
        assert row["messages"][-1]["role"] == "assistant" and row["messages"][-1]["content"].strip()
        assert row["meta"]["bucket"] == "replay" and row["id"].startswith("replay-")
