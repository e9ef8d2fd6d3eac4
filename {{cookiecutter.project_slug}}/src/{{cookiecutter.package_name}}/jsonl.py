"""Reading and writing JSON Lines, the format of every data file in the pipeline."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path


def input_files(path: Path) -> list[Path]:
    """A `.jsonl` file, or every `*.jsonl` under a directory, in a stable order."""
    if path.is_dir():
        files = sorted(path.rglob("*.jsonl"))
        if not files:
            raise FileNotFoundError(f"{path}: no *.jsonl files in this directory")
        return files
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or directory")
    return [path]


def read_jsonl(path: Path) -> Iterator[dict]:
    """Rows of files the pipeline wrote itself; a bad line here is a bug, so it names file:line."""
    for file in input_files(path):
        with file.open(encoding="utf-8") as f:
            for number, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as e:
                    raise ValueError(f"{file}:{number}: invalid JSON ({e.msg})") from e
                if not isinstance(row, dict):
                    raise ValueError(f"{file}:{number}: expected a JSON object per line")
                yield row


def write_jsonl(path: Path, rows: Iterable[dict]) -> int:
    """Write rows with sorted keys so that equal data gives byte-identical files."""
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
            n += 1
    return n


def write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
