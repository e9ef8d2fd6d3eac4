"""The curate stage's per-row steps: read one raw record into a conversation, then filter it.

Each filter is a callable in the datatrove style: it returns None to keep the row (possibly after
changing it: redacting, escaping) or a `(reason_code, message)` pair that says what is wrong and
which knob decides it. `read_record` turns one record's bytes into a normalised conversation in
the messages format, or a problem. None of them keeps state between rows: duplicates are the
business of dedup.py.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable

from .chat import check_conversation, normalize_content
from .formats import detect, to_messages
from .jsonl import DuplicateKey, loads
from .pii import apply_policy

Problem = tuple[str, str]
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")  # only such escapes can make a surrogate


def parse_record(raw: bytes, max_bytes: int) -> tuple[dict | None, Problem | None]:
    """One record's bytes as a JSON object (standard JSON, UTF-8, BOM tolerated), or its problem."""
    if len(raw) > max_bytes:
        return None, ("line_too_long", f"{len(raw)} bytes; the limit is curate.max_line_bytes={max_bytes}")
    try:
        row = loads(raw.decode("utf-8").removeprefix("\ufeff"))
    except UnicodeDecodeError as e:
        return None, ("invalid_utf8", f"not UTF-8 at byte {e.start}")
    except json.JSONDecodeError as e:
        return None, ("invalid_json", f"{e.msg} at column {e.colno}")
    except DuplicateKey as e:
        return None, ("duplicate_key", str(e))
    except ValueError as e:  # NaN or Infinity, a number of more than 4300 digits
        return None, ("invalid_json", str(e)[:200])
    except RecursionError:
        return None, ("too_deep", "nested deeper than the JSON reader allows (about 1000 levels)")
    if not isinstance(row, dict):
        return None, ("not_object", f"expected a JSON object, got {type(row).__name__}")
    if _SURROGATE_ESCAPE.search(raw):  # "\\ud800" parses, but is no text: it cannot be written as UTF-8
        try:
            json.dumps(row, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as e:
            return None, ("invalid_unicode", f"a lone surrogate escape ({e.reason}) in the JSON text")
    return row, None


def read_record(
    raw: bytes, fmt: str, max_bytes: int, final_assistant: bool
) -> tuple[dict | None, str, Problem | None]:
    """(row in the messages format, the format it came in, None) or (None, "", problem)."""
    row, problem = parse_record(raw, max_bytes)
    if problem:
        return None, "", problem
    kind = (detect(row) if fmt == "auto" else fmt) or ""
    row, problem = to_messages(row, fmt)
    if problem is None:
        problem = check_conversation(row, final_assistant=final_assistant)
    if problem is None and isinstance(row.get("id"), dict | list):
        problem = ("bad_id", f"field 'id' must be a string or a number, got {type(row['id']).__name__}")
    if problem:
        return None, "", problem
    for message in row["messages"]:
        message["content"] = normalize_content(message["content"])
    return row, kind, None


def text_of(row: dict) -> str:
    """What duplicates and length are measured on: the non-system messages (system prompts are shared)."""
    return "\n".join(m["content"] for m in row["messages"] if m["role"] != "system")


class MaxChars:
    def __init__(self, limit: int) -> None:
        self.limit = limit

    def __call__(self, row: dict) -> Problem | None:
        chars = len(text_of(row))
        if chars > self.limit:
            return "too_long", f"{chars} characters; the limit is curate.max_chars={self.limit}"
        return None


class MaxTokens:
    """Length in tokens through the base model's chat template: what training will see."""

    def __init__(self, count: Callable[[list[dict]], int], limit: int) -> None:
        self.count, self.limit = count, limit

    def __call__(self, row: dict) -> Problem | None:
        n = self.count(row["messages"])
        if n > self.limit:
            return "too_long", f"{n} tokens with the chat template; train.sft.max_length is {self.limit}"
        return None


class SpecialTokens:
    """Text that the base tokenizer would read as one of its control tokens (`<|im_start|>`...).

    Tokenizers match added tokens inside plain text, so such content could forge a chat turn or an
    end of sequence. `quarantine` rejects the row; `escape` puts a space after the token's first
    character (`<|im_start|>` becomes `< |im_start|>`), which the tokenizer reads as text.
    """

    def __init__(self, tokens: Iterable[str], mode: str) -> None:
        self.tokens = sorted(set(tokens), key=lambda t: (-len(t), t))  # longest first in the alternation
        self.mode = mode
        self.pattern = re.compile("|".join(map(re.escape, self.tokens))) if self.tokens else None
        self.escaped = 0

    def __call__(self, row: dict) -> Problem | None:
        if self.pattern is None:
            return None
        hits = [(i, m) for i, m in enumerate(row["messages"]) if self.pattern.search(m["content"])]
        if hits and self.mode == "quarantine":
            i, message = hits[0]
            token = self.pattern.search(message["content"]).group()
            return "special_token", (
                f"messages[{i}].content contains {token!r}, a control token of the base tokenizer "
                "(curate.special_tokens=quarantine; 'escape' keeps it as text)"
            )
        for _, message in hits:
            message["content"] = self.pattern.sub(_escape, message["content"])
        self.escaped += bool(hits)
        return None


def _escape(m: re.Match) -> str:
    return m.group()[0] + " " + m.group()[1:]


class Pii:
    """The PII policy over every string of the row (messages, id, meta, carried fields)."""

    def __init__(self, policy: str, types: Iterable[str], key: bytes = b"") -> None:
        self.policy, self.types, self.key = policy, tuple(types), key
        self.by_type: Counter = Counter()
        self.by_field: Counter = Counter()

    def __call__(self, row: dict) -> Problem | None:
        redacted, found = apply_policy(row, self.policy, self.types, self.by_field, self.key)
        self.by_type.update(found)
        if redacted is None:
            return "pii", "contains " + ", ".join(sorted(found)) + " (curate.pii.policy=drop)"
        if redacted is not row:
            row.clear()
            row.update(redacted)
        return None


def fingerprint(messages: list[dict]) -> str:
    """sha256 of a curated conversation: what a reviewer's veto names, whatever the row's id."""
    text = json.dumps([[m["role"], m["content"]] for m in messages], ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Veto:
    """Rows a reviewer flagged bad on the data sheet (`make review-data`), listed in data/veto.jsonl.

    Matched on the fingerprint of the curated conversation (after redaction and escaping, as the
    sheet showed it), so a row keeps its veto when its file, line or id changes; `matched` lets
    curate report entries that no longer match any row.
    """

    def __init__(self, entries: dict[str, dict], source: str = "data/veto.jsonl") -> None:
        self.entries, self.source = entries, source
        self.matched: set[str] = set()

    def __call__(self, row: dict) -> Problem | None:
        if not self.entries:
            return None
        digest = fingerprint(row["messages"])
        entry = self.entries.get(digest)
        if entry is None:
            return None
        self.matched.add(digest)
        notes = "; ".join(n for n in entry.get("notes", []) if n)
        who = ", ".join(entry.get("reviewers", [])) or "a reviewer"
        return "vetoed", f"flagged bad in data review by {who}{': ' + notes if notes else ''} ({self.source})"


def special_tokens(tokenizer) -> list[str]:
    """Every special or added token of a tokenizer that reads as markup, not as plain text: whitespace
    runs and single characters, which some tokenizers add to their vocabulary, are left out."""
    tokens = set(tokenizer.all_special_tokens)
    tokens |= {t.content for t in tokenizer.added_tokens_decoder.values()}
    return sorted(t for t in tokens if len(t.strip()) > 1)
