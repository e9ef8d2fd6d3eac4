"""Fit a markdown report into one pull-request comment: long sections folded, cut between lines.

GitHub refuses a comment body over 65,536 characters ("Body is too long"). CML appends its
watermark and replaces each local image or link path by an upload URL, so the report keeps a
margin per link. Sections marked `folded` go into `<details>`; when the whole is still too long,
sections are shortened, folded ones first, each keeping an equal share of the room left (a
section shorter than its share keeps all of it). Cuts fall between lines, so a table row, tag
or link is never split; an open code fence is closed; `<details>` is rebuilt around the cut
body, so it stays balanced; a note says how many lines and characters were left out and where
the full report is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

GITHUB_LIMIT = 65_536  # characters (Unicode code points) in a comment body
CML_MARGIN = 600  # CML's watermark
PER_LINK = 250  # an upload URL (with its cache-busting query) in place of a local path
LINK = re.compile(r"\]\((?!https?://|#)[^)\s]+\)")


@dataclass(frozen=True)
class Section:
    title: str
    body: str
    folded: bool = False


def render(section: Section, body: str | None = None, tail: str = "") -> str:
    body = section.body if body is None else body
    text = body + (f"\n\n{tail}" if tail else "")
    if not section.folded:
        return f"## {section.title}\n\n{text}" if section.title else text
    # Blank lines around the body: GitHub renders markdown (tables) inside <details> only then.
    return f"<details><summary>{section.title}</summary>\n\n{text}\n\n</details>"


def budget(sections: list[Section], limit: int = GITHUB_LIMIT) -> int:
    links = sum(len(LINK.findall(s.body)) for s in sections)
    return limit - CML_MARGIN - PER_LINK * (links + len(sections))  # + one note link per section


def note(missing_lines: int, missing_chars: int, full_report: str) -> str:
    return (
        f"_… {missing_lines:,} more lines ({missing_chars:,} characters) not shown: "
        f"see the [full report]({full_report})._"
    )


def cut(body: str, room: int, full_report: str) -> tuple[str, str]:
    """The longest run of whole lines of `body` that fits in `room`, and the note saying what is missing."""
    lines = body.split("\n")
    kept: list[str] = []
    size = 0
    for line in lines:
        step = len(line) + (1 if kept else 0)
        if size + step > room:
            break
        kept.append(line)
        size += step
    if len(kept) == len(lines):
        return body, ""
    if sum(line.lstrip().startswith("```") for line in kept) % 2:
        kept.append("```")  # the cut left a code fence open (fit() keeps room for this line)
    return "\n".join(kept), note(len(lines) - len(kept), len(body) - size, full_report)


def allot(sizes: list[int], room: int) -> list[int]:
    """Water-filling: the smallest keep all they need, the rest share what is left equally."""
    shares = [0] * len(sizes)
    pending = sorted(range(len(sizes)), key=lambda i: sizes[i])
    while pending:
        share = max(room, 0) // len(pending)
        if sizes[pending[0]] <= share:
            i = pending.pop(0)
            shares[i] = sizes[i]
            room -= sizes[i]
        else:
            for i in pending:
                shares[i] = share
            break
    return shares


def fit(sections: list[Section], full_report: str, limit: int = GITHUB_LIMIT) -> str:
    """The sections as one comment body no longer than the budget `limit` leaves after CML's changes."""
    joiner = "\n\n"
    room = budget(sections, limit)
    whole = joiner.join(render(s) for s in sections)
    if len(whole) <= room:
        return whole
    # What every section costs besides its body: heading or <details>, a note, a closing fence, the joiner.
    longest_note = note(10**9, 10**12, full_report)
    frame = [len(render(s, "", longest_note)) + len("\n```") + len(joiner) for s in sections]
    left = room - sum(frame)
    sizes = [len(s.body) for s in sections]
    folded = [i for i, s in enumerate(sections) if s.folded]
    shares = list(sizes)
    kept_open = sum(sizes[i] for i in range(len(sections)) if i not in folded)
    if kept_open <= left:  # shorten the folded sections only
        for i, share in zip(folded, allot([sizes[i] for i in folded], left - kept_open), strict=True):
            shares[i] = share
    else:  # the open sections alone are too long: everything shares the room
        shares = allot(sizes, left)
    parts = []
    for section, share in zip(sections, shares, strict=True):
        parts.append(render(section, *cut(section.body, share, full_report)))
    return joiner.join(parts)
