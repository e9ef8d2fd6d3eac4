"""Raw input files of every supported kind, read as one stream of records that say where they came from.

    for file, unit, number, raw in read_items(Path("data/raw"), tally): ...

Supported, suffixes in any case: `.jsonl` and `.ndjson` (JSON Lines), `.json` (a JSON array of
objects, one object, or JSON Lines), each also gzip-compressed (`.jsonl.gz`), and `.parquet`
(through pyarrow, which `datasets` installs). Any other file in an input directory stops the
stage with its name: nothing is skipped silently. Hidden files (`.DS_Store`) are ignored and
listed in `tally.ignored`. Symbolic links are followed, to files and to directories; a link that
leads nowhere (broken, or a loop) and a directory reached twice stop the stage naming the link.
Every stage that reads a folder (curate, decontaminate, evaluate, feedback) reads it here.
Each record is `raw` JSON bytes, parsed by the caller one record at a time, so one bad record
never stops the others: a JSON Lines record is a line (`unit` "line",
numbered from 1 like an editor), a JSON array element or a Parquet row is a row (`unit` "row",
numbered from 0 like a dataframe index).
"""

from __future__ import annotations

import json
import os
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UserError
from .jsonl import MissingInput, has_suffix, open_binary, read_lines

Item = tuple[str, str, int, bytes]  # (file, "line" or "row", number, JSON bytes)
LINES = (".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz")
JSON = (".json", ".json.gz")
PARQUET = (".parquet",)
SUPPORTED = LINES + JSON + PARQUET
PARQUET_BATCH = 1024


class InputError(UserError):
    """A whole input file cannot be read (unsupported kind, corrupt gzip, unparseable JSON array)."""


@dataclass
class Tally:
    """What the readers saw, counted where it was read, independently of what the stage keeps."""

    files: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    records: int = 0  # records handed to the stage: lines, array elements, Parquet rows
    counts: Counter = field(default_factory=Counter)  # jsonl.read_lines counts blank lines here

    @property
    def blank_lines(self) -> int:
        return self.counts["blank_lines"]


def where(item: Item) -> str:
    """Where a record came from, for messages: "file:line" or "file[row n]"."""
    file, unit, number, _ = item
    return f"{file}:{number}" if unit == "line" else f"{file}[{unit} {number}]"


def rejected_record(item: Item, eval_set: str, problem: tuple[str, str]) -> dict:
    """A record that cannot be used, as rejected.jsonl keeps it: where, why, and its raw text."""
    file, unit, number, raw = item
    code, message = problem
    return {"file": file, unit: number, "set": eval_set, "reason": code, "message": message,
            "raw": raw.decode("utf-8", "replace")}  # fmt: skip


def data_files(path: Path, also: tuple[str, ...] = ()) -> tuple[list[Path], list[Path]]:
    """(the data files under `path`, ignored hidden files); InputError naming any unsupported file.

    `also`: more suffixes a caller reads itself, as raw lines (decontaminate's .txt benchmarks).
    """
    if not path.exists():
        raise MissingInput(f"{path}: no such file or directory")
    if not path.is_dir():
        files, hidden = [path], []
    else:
        found = _walk(path)
        hidden = [f for f in found if any(part.startswith(".") for part in f.relative_to(path).parts)]
        files = [f for f in found if f not in hidden]
    unsupported = [str(f) for f in files if not has_suffix(f, SUPPORTED + also)]
    if unsupported:
        raise InputError(
            f"{', '.join(unsupported)}: not a supported data file; expected one of "
            f"{', '.join('*' + s for s in SUPPORTED + also)} (move other files out of {path})"
        )
    return files, hidden


def _walk(root: Path) -> list[Path]:
    """Every file under `root`, sorted, through symbolic links; InputError for what cannot be read."""
    found, seen, folders = [], {root.resolve()}, [root]
    while folders:
        folder = folders.pop()
        try:
            entries = sorted(folder.iterdir())
        except OSError as e:
            raise InputError(f"{folder}: cannot be listed ({e.strerror})") from None
        for entry in entries:
            if entry.is_symlink() and not entry.exists():  # exists() is False for a loop too
                target = os.readlink(entry)
                raise InputError(
                    f"{entry}: a symbolic link to {target} that leads nowhere (broken or a loop)"
                )
            if entry.is_dir():
                real = entry.resolve()
                if real in seen:
                    raise InputError(
                        f"{entry}: leads to {real}, which is read already (a link loop or a second link)"
                    )
                seen.add(real)
                folders.append(entry)
            elif entry.is_file():
                found.append(entry)
            else:
                raise InputError(f"{entry}: not a regular file or directory")
    return sorted(found)


def read_items(path: Path, tally: Tally, also: tuple[str, ...] = ()) -> Iterator[Item]:
    """Every record of every data file under `path`, file by file in name order (see `data_files`)."""
    files, hidden = data_files(path, also)
    tally.ignored += [str(f) for f in hidden]
    for file in files:
        tally.files.append(str(file))
        if has_suffix(file, PARQUET):
            items = _parquet(file)
        elif has_suffix(file, JSON):
            items = _json(file, tally)
        else:
            items = _lines(file, tally)
        for item in items:
            tally.records += 1
            yield item


def count_items(path: Path, also: tuple[str, ...] = ()) -> int:
    """How many records `read_items` will yield, without parsing lines: the total for progress."""
    return sum(_count(file) for file in data_files(path, also)[0])


def _count(file: Path) -> int:
    if has_suffix(file, PARQUET):
        try:
            import pyarrow.parquet as pq

            return pq.ParquetFile(file).metadata.num_rows
        except (ImportError, OSError, ValueError):
            return 0  # reading it says why, naming the file
    if has_suffix(file, JSON) and (doc := _whole(file, _read(file))) is not None:
        return len(doc)
    return sum(1 for _ in _lines(file, Tally()))


def _read(file: Path) -> bytes:
    try:
        with open_binary(file) as f:
            return f.read()
    except (OSError, EOFError, zlib.error) as e:  # a truncated or corrupt .gz
        raise InputError(f"{file}: cannot be read ({type(e).__name__}: {e})") from None


def _lines(file: Path, tally: Tally) -> Iterator[Item]:
    """JSON Lines through jsonl.read_lines, the one place lines are cut."""
    try:
        for name, number, raw in read_lines(file, tally.counts):
            yield name, "line", number, raw
    except (OSError, EOFError, zlib.error) as e:
        raise InputError(f"{file}: cannot be read ({type(e).__name__}: {e})") from None


class _Twice(dict):
    """A parsed object whose JSON named a key twice, with its pairs as written (`pairs`)."""

    pairs: list


def _keep_pairs(pairs: list) -> dict:
    row = dict(pairs)
    if len(row) == len(pairs):
        return row
    twice = _Twice(row)
    twice.pairs = pairs
    return twice


def _whole(file: Path, data: bytes) -> list | None:
    """A .json file's records when it is one JSON document (an array, or one object), else None.
    An object that names a key twice keeps both pairs (`_Twice`), so that the record is
    re-encoded as written and the caller's per-record parse quarantines it as duplicate_key."""
    if data.lstrip()[:1] not in (b"[", b"{"):
        return None
    try:
        # NaN passes here and is refused per element by the caller: it costs one record, not the file
        doc = json.loads(data, object_pairs_hook=_keep_pairs)
    except json.JSONDecodeError as e:
        if data.lstrip()[:1] == b"[":
            raise InputError(
                f"{file}: not a JSON array ({e.msg} at line {e.lineno} column {e.colno})"
            ) from None
        return None  # "Extra data" after the first object: JSON Lines in a .json file
    except (ValueError, RecursionError) as e:  # 5000-digit integers, deep nesting
        raise InputError(f"{file}: unreadable JSON ({type(e).__name__}: {str(e)[:120]})") from None
    return doc if isinstance(doc, list) else [doc]


def _json(file: Path, tally: Tally) -> Iterator[Item]:
    doc = _whole(file, _read(file))
    if doc is None:  # JSON Lines named .json
        yield from _lines(file, tally)
        return
    as_written = _twice_in(doc)  # one walk per file: only a file with a key twice needs _text's writer
    for index, element in enumerate(doc):
        yield str(file), "row", index, _encode(element, as_written)


def _encode(value: object, as_written: bool = False) -> bytes:
    """JSON bytes of one parsed record, for the caller to parse with every per-record check.
    as_written: objects are written pair by pair, so one parsed with a key twice (`_Twice`) keeps both."""
    try:
        return _text(value, False, as_written).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: keep it as an escape for the caller to name
        return _text(value, True, as_written).encode("ascii")


def _text(value: object, ascii_only: bool, as_written: bool) -> str:
    if not (as_written and isinstance(value, dict | list)):
        return json.dumps(value, ensure_ascii=ascii_only, default=str)
    if isinstance(value, list):
        return "[" + ", ".join(_text(v, ascii_only, True) for v in value) + "]"
    pairs = value.pairs if isinstance(value, _Twice) else value.items()  # type: ignore[union-attr]
    inner = (json.dumps(k, ensure_ascii=ascii_only) + ": " + _text(v, ascii_only, True) for k, v in pairs)
    return "{" + ", ".join(inner) + "}"


def _twice_in(value: object) -> bool:
    if isinstance(value, _Twice):
        return True
    if isinstance(value, dict):
        return any(_twice_in(v) for v in value.values())
    if isinstance(value, list):
        return any(_twice_in(v) for v in value)
    return False


def _without_nulls(row: dict) -> dict:
    """Parquet has no "absent": a field missing from some rows is null in them. Null means absent here."""
    out = {k: v for k, v in row.items() if v is not None}
    if isinstance(out.get("meta"), dict):
        out["meta"] = {k: v for k, v in out["meta"].items() if v is not None}
    if isinstance(out.get("messages"), list):
        out["messages"] = [
            {k: v for k, v in m.items() if v is not None} if isinstance(m, dict) else m
            for m in out["messages"]
        ]
    return out


def _parquet(file: Path) -> Iterator[Item]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise InputError(f"{file}: reading Parquet needs pyarrow (`pip install pyarrow`)") from None
    try:
        reader = pq.ParquetFile(file)
        index = 0
        for batch in reader.iter_batches(batch_size=PARQUET_BATCH):
            for row in batch.to_pylist():
                yield str(file), "row", index, _encode(_without_nulls(row))
                index += 1
    except (OSError, ValueError) as e:  # pyarrow's ArrowInvalid is a ValueError
        raise InputError(f"{file}: cannot be read as Parquet ({type(e).__name__}: {e})") from None
