"""JSON Lines, the format of every data file in the pipeline: one reader, one writer.

Lines are split at b"\\n" only, on bytes: JSON text written with `ensure_ascii=False` may hold
U+2028, U+0085 or a lone "\\r" inside a string, which `str.splitlines()` and text-mode files would
treat as line breaks. `loads` is the one decoding rule: standard JSON only, so the NaN and
Infinity constants that Python's `json` accepts by default are refused, as they are by every
other JSON reader. `dumps` is the one encoding rule (sorted keys, UTF-8 as is, no NaN), so equal
data gives byte-identical files. Standard library only: the demo data generator runs before install.

Every output is written to a hidden temporary file beside it (`.name.<pid>.tmp`, which the readers
ignore) and renamed over the path only when complete: a full disk, a crash or an error in the stage
never leaves half a file where a whole one is expected. A write that fails raises `OutputError`
naming the path, the bytes it needed at least and the space left on its device.
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import json
import os
import shutil
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from ..errors import UserError

Line = tuple[str, int, bytes]  # (file, line number, raw bytes without the newline)


class JsonlError(UserError, ValueError):
    """A line of a file the pipeline wrote that does not hold a JSON object; names file:line."""


class MissingInput(UserError, FileNotFoundError):
    """An input path that does not exist, or a directory without the files a stage reads."""


class OutputError(UserError, OSError):
    """An output that could not be written (a full disk, a quota); the path was left as it was."""


class DuplicateKey(ValueError):
    """An object that names one key twice: JSON readers disagree on which value wins."""


def _no_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    row = dict(pairs)
    if len(row) != len(pairs):
        seen: set[str] = set()
        twice = next(key for key, _ in pairs if key in seen or seen.add(key))
        raise DuplicateKey(f"key {twice!r} appears twice in one object; expected each key once")
    return row


DECODER = json.JSONDecoder(parse_constant=_no_constant, object_pairs_hook=_unique_keys)  # raw_decode
LAST_WINS = json.JSONDecoder(parse_constant=_no_constant)  # what most readers of a model's answer do


def loads(text: str | bytes):
    """Standard JSON: like `json.loads`, but NaN, Infinity and -Infinity raise ValueError, and an
    object with a key twice raises DuplicateKey (Python keeps the last value, other readers the
    first: the record means two things). One decoder serves every call: json.loads with these
    options would build a new one per line."""
    if isinstance(text, bytes | bytearray):
        text = text.decode(json.detect_encoding(text), "surrogatepass")
    elif text.startswith("\ufeff"):
        raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
    return DECODER.decode(text)


def has_suffix(file: Path, suffixes: tuple[str, ...]) -> bool:
    """Whether the name ends with one of `suffixes`, in any case: DATA.JSONL is a .jsonl file."""
    return file.name.lower().endswith(suffixes)


def input_files(path: Path) -> list[Path]:
    """[`path`]: one file. A folder of data is read by data/sources.py, the one rule for folders
    (every kind of data file, links followed, anything else named), never walked here."""
    if path.is_dir():
        raise UserError(
            f"{path}: a directory where one file was expected; data folders go through data/sources.py"
        )
    if not path.exists():
        raise MissingInput(f"{path}: no such file or directory")
    return [path]


def open_binary(file: Path) -> BinaryIO:
    """The file's bytes, decompressed when its name ends in .gz."""
    return gzip.open(file, "rb") if file.name.lower().endswith(".gz") else file.open("rb")


def read_lines(path: Path, counts: Counter | None = None) -> Iterator[Line]:
    """Every non-blank line of the file `path` (maybe gzipped); blank ones are counted. Binary
    files iterate split at b"\\n" only: the one place lines are cut."""
    for file in input_files(path):
        with open_binary(file) as f:
            for number, line in enumerate(f, start=1):
                if line.strip():
                    yield str(file), number, line.rstrip(b"\r\n")
                elif counts is not None:
                    counts["blank_lines"] += 1


def parse(where: str, raw: bytes | str) -> dict:
    """One line as a JSON object, or JsonlError naming `where` (file:line) and what is wrong."""
    try:
        row = loads(raw)
    except json.JSONDecodeError as e:
        raise JsonlError(f"{where}: invalid JSON ({e.msg} at column {e.colno})") from None
    except DuplicateKey as e:
        raise JsonlError(f"{where}: {e}") from None
    except (ValueError, RecursionError) as e:  # bad bytes, NaN, 5000-digit integers, deep nesting
        raise JsonlError(f"{where}: unreadable JSON ({type(e).__name__}: {str(e)[:120]})") from None
    if not isinstance(row, dict):
        raise JsonlError(f"{where}: expected a JSON object per line, got {type(row).__name__}")
    return row


def read_json(path: Path):
    """A whole JSON file (metrics, a sheet, a model config) by the same rule as every line:
    standard JSON only, and JsonlError naming file:line:column; a missing file raises
    FileNotFoundError for the caller to say which stage makes it."""
    try:
        return loads(path.read_bytes())
    except json.JSONDecodeError as e:
        raise JsonlError(f"{path}:{e.lineno}:{e.colno}: invalid JSON ({e.msg})") from None
    except DuplicateKey as e:
        raise JsonlError(f"{path}: {e}") from None
    except (ValueError, RecursionError) as e:
        raise JsonlError(f"{path}: unreadable JSON ({type(e).__name__}: {str(e)[:120]})") from None


def read_records(path: Path) -> Iterator[tuple[str, dict]]:
    """("file:line", row) for every row of files the pipeline wrote; a bad line raises JsonlError."""
    for file, number, raw in read_lines(path):
        where = f"{file}:{number}"
        yield where, parse(where, raw)


def read_jsonl(path: Path) -> Iterator[dict]:
    for _, row in read_records(path):
        yield row


def dumps(row: dict) -> str:
    """The one encoding rule: sorted keys, non-ASCII as is, one line, standard JSON (no NaN)."""
    return json.dumps(row, ensure_ascii=False, sort_keys=True, allow_nan=False)


class JsonlWriter:
    """Rows streamed to a file, one `dumps` line each: `with JsonlWriter(path) as out: out.write(row)`.

    The rows go to a temporary file that replaces `path` when the block ends without an error;
    after an error it is removed and `path` is left as it was. `keep_on_error`: a report of what was
    rejected, which the error that stops the stage points to, is kept unless writing it failed."""

    def __init__(self, path: Path, keep_on_error: bool = False) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path, self.rows, self.bytes, self.keep_on_error = path, 0, 0, keep_on_error
        self._temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        self._file = self._temp.open("w", encoding="utf-8", newline="\n")

    def write_text(self, text: str) -> None:
        """Text as it is (write_json's whole document); `write` and `write_line` add one line each."""
        try:
            self._file.write(text)
        except OSError as e:
            self.discard()
            raise _output_error(self.path, e, self.bytes + len(text.encode("utf-8"))) from None
        self.bytes += len(text.encode("utf-8"))
        self.rows += 1

    def write(self, row: dict) -> None:
        self.write_text(dumps(row) + "\n")

    def write_line(self, raw: bytes) -> None:
        """A line read by `read_lines`, unchanged: what a filter keeps stays byte for byte."""
        self.write_text(raw.decode("utf-8") + "\n")

    def close(self) -> None:
        """The file complete: flushed to disk, then renamed over `path`."""
        if self._file.closed:
            return
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            os.replace(self._temp, self.path)
        except OSError as e:
            self.discard()
            raise _output_error(self.path, e, self.bytes) from None

    def discard(self) -> None:
        """The temporary file removed, `path` untouched."""
        with contextlib.suppress(OSError):  # flushing the buffer fails again on a full disk: removed anyway
            self._file.close()
        self._temp.unlink(missing_ok=True)

    def __enter__(self) -> JsonlWriter:
        return self

    def __exit__(self, kind, *exc) -> None:
        if kind is None or (self.keep_on_error and not issubclass(kind, OSError)):
            self.close()
        else:
            self.discard()


def _output_error(path: Path, e: OSError, needed: int) -> OutputError:
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        try:
            free = f"{shutil.disk_usage(path.parent).free:,} bytes free"
        except OSError:
            free = "free space unknown"
        why = f"no space left ({e.strerror}): it needs at least {needed:,} bytes, {free} on its device"
    else:
        why = f"{type(e).__name__}: {e.strerror or e}"
    return OutputError(f"{path}: cannot be written, {why}; the file was left as it was")


def write_jsonl(path: Path, rows: Iterable[dict]) -> int:
    with JsonlWriter(path) as out:
        for row in rows:
            out.write(row)
    return out.rows


def write_json(path: Path, data: dict) -> None:
    """`data` as indented JSON, written whole or not at all (as JsonlWriter writes)."""
    text = json.dumps(data, indent=2, sort_keys=True) + "\n"
    with JsonlWriter(path) as out:
        out.write_text(text)
