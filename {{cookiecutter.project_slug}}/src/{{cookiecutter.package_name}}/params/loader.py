"""The one strict reader of params.yaml: a stage loads and checks its own section, nothing else.

    p = load_section(Path("params.yaml"), "split", SplitParams)

A YAML mistake (a tab, an unclosed quote) is one line, `params.yaml:LINE:COLUMN: problem`; an
unknown key, a wrong type or a bad choice names its dotted key. `python -m PACKAGE.params` checks
every section at once (params/sections.py), which `make check`, the tests and CI run.
"""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path
from typing import Literal

import yaml

from ..errors import UserError


class ParamsError(UserError, ValueError):
    """A params.yaml value a person has to fix; the message names the key."""


def read(path: Path) -> dict:
    """params.yaml as a mapping of sections; YAML syntax errors as `path:line:column: problem`."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ParamsError(f"{path}: no such file") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        lines = text.splitlines()
        tab = mark is not None and mark.line < len(lines) and "\t" in lines[mark.line][: mark.column + 1]
        hint = " (YAML indents with spaces, never a tab)" if tab else ""
        raise ParamsError(f"{where}: {problem}{hint}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ParamsError(f"{path}: expected a mapping of sections, got {type(data).__name__}")
    return data


def cross_key(path: Path, dotted: str, default: object) -> object:
    """One key another stage owns, such as curate's `train.sft.max_length`; `default` when unset."""
    node: object = read(path)
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def load_section(path: Path, name: str, cls: type):
    """Section `name` of `path` as dataclass `cls`; a missing section takes every default."""
    data = read(path)
    try:
        return from_dict(cls, data.get(name, {}), name)
    except ParamsError as e:
        raise ParamsError(f"{path}: {e}") from None


def _value(kind, value, key: str):
    """`value` checked against the field's type: scalars, Literal choices, list[...] and dict[...]."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin is Literal:
        if value not in args:
            raise ParamsError(
                f"{key}: {value!r} is not a choice; expected one of: {', '.join(map(str, args))}"
            )
        return value
    expected = origin or kind
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise ParamsError(f"{key}: expected {expected.__name__}, got {value!r}")
    if expected is list and args:
        return [_value(args[0], v, f"{key}[{i}]") for i, v in enumerate(value)]
    if expected is dict and args:
        return {_value(args[0], k, f"{key} key"): _value(args[1], v, f"{key}.{k}") for k, v in value.items()}
    return value


def from_dict(cls: type, data: object, where: str):
    """Build dataclass `cls` from a mapping, rejecting unknown keys, wrong types and bad choices."""
    if not isinstance(data, dict):
        raise ParamsError(f"{where or 'the file'}: expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise ParamsError(
            f"{where or 'top level'}: unknown key {unknown[0]!r}; expected one of: {', '.join(names)}"
        )
    values = {}
    for name, value in data.items():
        kind, key = hints[name], f"{where}.{name}" if where else name
        values[name] = (
            from_dict(kind, value, key) if dataclasses.is_dataclass(kind) else _value(kind, value, key)
        )
    try:
        return cls(**values)
    except ValueError as e:  # a __post_init__ check: its message starts with the field name
        raise ParamsError(f"{where}.{e}" if where else str(e)) from None
