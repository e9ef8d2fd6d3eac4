"""Preference pairs through curate's per-record filters: a DPO pair is trained on as much as an SFT row.

    curator = PairCurator(params, tokenizer, pii_key)
    for row, record in curator.run(read_items(Path("data/preferences"), Tally())):
        ...   # (kept pair, None) or (the pair if it parsed, quarantine record), in input order

A pair is TRL's explicit-prompt preference row, `{"id"?, "prompt": [messages], "chosen": [assistant
message], "rejected": [assistant message], "meta"?}`; a plain string in `prompt` is a user turn and
one in `chosen`/`rejected` an assistant turn. It passes what a conversation passes (records.Curator):
parsed as strict JSON (duplicate keys quarantined), each side checked as a conversation (prompt +
chosen, prompt + rejected), content normalised, then length in characters and in tokens (the longer
side), control tokens of the base tokenizer and the PII policy over every string of the pair. Two
checks only a pair needs: chosen and rejected must differ (a pair with one answer teaches nothing),
and the same pair twice is kept once (an id used twice quarantines the second, as for rows).
Problems name the pair's own field (`chosen[0].content`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator

from ..params.curate import CurateParams
from .chat import check_conversation, normalize_content
from .filters import MaxChars, MaxTokens, Pii, Problem, SpecialTokens, parse_record
from .records import BaseTokenizer, crashed, default_id, quarantine_record
from .sources import Item

SIDES = ("chosen", "rejected")
_MESSAGE_INDEX = re.compile(r"messages\[(\d+)\]")


def read_pair(raw: bytes, max_bytes: int) -> tuple[dict | None, Problem | None]:
    """One record's bytes as a checked, normalised pair, or its problem."""
    row, problem = parse_record(raw, max_bytes)
    if problem:
        return None, problem
    missing = [key for key in ("prompt", *SIDES) if key not in row]
    if missing:
        found = ", ".join(sorted(row)) or "no fields"
        return None, (
            "not_a_pair",
            f"missing field {', '.join(map(repr, missing))}; expected 'prompt', 'chosen' and 'rejected' "
            f"(found {found})",
        )
    if isinstance(row.get("id"), dict | list):
        return None, ("bad_id", f"field 'id' must be a string or a number, got {type(row['id']).__name__}")
    for key, role in (("prompt", "user"), *((side, "assistant") for side in SIDES)):
        if isinstance(row[key], str):
            row[key] = [{"role": role, "content": row[key]}]
        if not isinstance(row[key], list) or not row[key]:
            return None, ("bad_messages", f"field {key!r} must be a non-empty list of messages or a string")
    for side in SIDES:
        first = row[side][0]
        if isinstance(first, dict) and first.get("role") != "assistant":
            return None, ("bad_turn_order", f"{side}[0].role is {first.get('role')!r}; expected 'assistant'")
        problem = check_conversation({"messages": row["prompt"] + row[side], "meta": row.get("meta")})
        if problem:
            return None, (problem[0], _field_names(problem[1], len(row["prompt"]), side))
    for key in ("prompt", *SIDES):
        for message in row[key]:
            message["content"] = normalize_content(message["content"])
    if _answers(row["chosen"]) == _answers(row["rejected"]):
        return None, ("same_answer", "'chosen' and 'rejected' are the same answer: the pair teaches nothing")
    return row, None


def _field_names(message: str, n_prompt: int, side: str) -> str:
    """`messages[3]` of the side's conversation as the pair's own field, `chosen[0]`."""

    def name(m: re.Match) -> str:
        i = int(m.group(1))
        return f"prompt[{i}]" if i < n_prompt else f"{side}[{i - n_prompt}]"

    return _MESSAGE_INDEX.sub(name, message).replace("the last message", f"the last message of {side!r}")


def _answers(messages: list[dict]) -> list[tuple[str, str]]:
    return [(m["role"], m["content"]) for m in messages]


def sides(pair: dict) -> tuple[dict, dict]:
    """The two conversations a pair trains on, as views on the pair's own message objects."""
    return tuple({"messages": pair["prompt"] + pair[side]} for side in SIDES)


class PairCurator:
    """Curate's per-record filters for preference pairs, and what they found."""

    def __init__(self, p: CurateParams, tokenizer: BaseTokenizer | None = None, pii_key: bytes = b"") -> None:
        self.p = p
        self.special = SpecialTokens(tokenizer.special if tokenizer else (), p.special_tokens)
        self.pii = Pii(p.pii.policy, p.pii.types, pii_key)
        self.max_chars = MaxChars(p.max_chars)
        self.max_tokens = (
            MaxTokens(tokenizer.count, tokenizer.max_tokens) if tokenizer and tokenizer.max_tokens else None
        )
        self.seen: dict[bytes, str] = {}
        self.ids: set[str] = set()

    def run(self, items: Iterable[Item]) -> Iterator[tuple[dict | None, dict | None]]:
        for item in items:
            row, problem = self.screen(item)
            yield (row, None) if problem is None else (row, quarantine_record(item, problem))

    def screen(self, item: Item) -> tuple[dict | None, Problem | None]:
        row = None
        try:
            row, problem = read_pair(item[3], self.p.max_line_bytes)
            if row is None:
                return None, problem
            if row.get("id") is None:
                row["id"] = default_id(item)
            row["id"] = str(row["id"])
            return row, self.filter(row)
        except Exception as e:  # noqa: BLE001 - counted and kept in quarantine, never silent
            return row, crashed(e)

    def filter(self, row: dict) -> Problem | None:
        """The stateless filters in curate's order, then the same pair twice."""
        chosen, rejected = sides(row)
        every_message = {"messages": row["prompt"] + row["chosen"] + row["rejected"]}
        # Length is per side, as training sees it: the longer side decides.
        problem = self.max_chars(chosen) or self.max_chars(rejected) or self.special(every_message)
        if problem is None and self.max_tokens:
            problem = self.max_tokens(chosen) or self.max_tokens(rejected)
        problem = problem or self.pii(row)
        if problem:
            return _pair_fields(problem, len(row["prompt"]), len(row["chosen"]))
        if row["id"] in self.ids:
            return "duplicate_id", f"id {row['id']!r} is already used by a kept pair"
        key = hashlib.blake2b(
            json.dumps([row[k] for k in ("prompt", *SIDES)], sort_keys=True).encode(), digest_size=16
        ).digest()
        if key in self.seen:
            return "duplicate", f"the same pair as {self.seen[key]!r}, which is kept"
        self.seen[key] = row["id"]
        self.ids.add(row["id"])
        return None


def _pair_fields(problem: Problem, n_prompt: int, n_chosen: int) -> Problem:
    """A filter's `messages[i]` over prompt + chosen + rejected, named as the pair's field."""

    def name(m: re.Match) -> str:
        i = int(m.group(1))
        if i < n_prompt:
            return f"prompt[{i}]"
        return (
            f"chosen[{i - n_prompt}]" if i < n_prompt + n_chosen else f"rejected[{i - n_prompt - n_chosen}]"
        )

    return problem[0], _MESSAGE_INDEX.sub(name, problem[1])


def curate_pairs(
    items: Iterable[Item], p: CurateParams, tokenizer: BaseTokenizer | None = None, pii_key: bytes = b""
) -> tuple[list[dict], list[dict], PairCurator]:
    """(kept pairs, quarantine records, the PairCurator with its counters), in memory: for tests."""
    curator = PairCurator(p, tokenizer, pii_key)
    kept, quarantined = [], []
    for row, record in curator.run(items):
        (kept if record is None else quarantined).append(row if record is None else record)
    return kept, quarantined, curator
