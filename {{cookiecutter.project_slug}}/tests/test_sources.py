"""Every input file under data/raw is read, or the stage stops naming it: never skipped silently."""

import errno
import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }} import errors
from {{ cookiecutter.package_name }}.curate import main
from {{ cookiecutter.package_name }}.data import jsonl
from {{ cookiecutter.package_name }}.data.sources import (
    InputError,
    Tally,
    count_items,
    read_items,
)
from {{ cookiecutter.package_name }}.params.curate import (
    CurateParams,
)


def chats(make_chat, prefix, n):
    return [{"id": f"{prefix}{i}", **make_chat(f"{prefix} question {i}", f"answer {i}")} for i in range(n)]


def test_every_supported_kind_is_read(tmp_path, make_chat):
    import pyarrow as pa
    import pyarrow.parquet as pq

    raw = tmp_path / "raw"
    (raw / "sub").mkdir(parents=True)
    (raw / "UPPER.JSONL").write_text("".join(json.dumps(r) + "\n" for r in chats(make_chat, "u", 2)))
    (raw / "a.ndjson").write_text("".join(json.dumps(r) + "\n" for r in chats(make_chat, "n", 2)))
    (raw / "array.json").write_text(json.dumps(chats(make_chat, "j", 3), indent=2))
    (raw / "one.json").write_text(json.dumps(chats(make_chat, "o", 1)[0], indent=2))
    (raw / "lines.json").write_text("".join(json.dumps(r) + "\n" for r in chats(make_chat, "l", 2)))
    with gzip.open(raw / "sub" / "z.jsonl.gz", "wt") as f:
        f.write("".join(json.dumps(r) + "\n" for r in chats(make_chat, "g", 2)))
    rows = chats(make_chat, "p", 2)
    rows[1].pop("id")  # a column missing from one row is null in Parquet: absent here
    pq.write_table(pa.Table.from_pylist(rows), raw / "t.parquet")
    (raw / ".DS_Store").write_bytes(b"\x00\x01")

    assert count_items(raw) == 14
    report = main(CurateParams(), raw, tmp_path / "out", tmp_path / "reports", tmp_path / "m.json")
    assert report["rows_in"] == report["kept"] == 14 and report["files_read"] == 7
    assert report["files_ignored"] == [str(raw / ".DS_Store")]
    ids = [json.loads(x)["id"] for x in (tmp_path / "out" / "curated.jsonl").read_text().splitlines()]
    assert ids == ["u0", "u1", "n0", "n1", "j0", "j1", "j2", "l0", "l1", "o0", "g0", "g1", "p0", "t#1"]


def test_records_from_arrays_and_parquet_are_named_by_row_index(tmp_path, make_chat):
    import pyarrow as pa
    import pyarrow.parquet as pq

    raw = tmp_path / "raw"
    raw.mkdir()
    good = chats(make_chat, "j", 1)[0]
    twice = json.dumps(good)[:-1] + ', "meta": {"bucket": "a", "bucket": "b"}}'  # only this row is lost
    elements = [json.dumps(r) for r in (good, {"messages": "no"}, 7, {"x": float("nan")})] + [twice]
    (raw / "a.json").write_text("[" + ", ".join(elements) + "]")
    pq.write_table(pa.Table.from_pylist([{"text": "hi"}]), raw / "b.parquet")
    tally = Tally()
    items = list(read_items(raw, tally))
    assert [(unit, number) for _, unit, number, _ in items] == [
        ("row", 0),
        ("row", 1),
        ("row", 2),
        ("row", 3),
        ("row", 4),
        ("row", 0),
    ]
    p = CurateParams(max_quarantine_share=1.0)
    main(p, raw, tmp_path / "out", tmp_path / "reports", tmp_path / "m.json")
    quarantine = [json.loads(x) for x in (tmp_path / "out" / "quarantine.jsonl").read_text().splitlines()]
    assert [(q["file"].rsplit("/", 1)[1], q["row"], q["reason"]) for q in quarantine] == [
        ("a.json", 1, "bad_messages"),
        ("a.json", 2, "not_object"),
        ("a.json", 3, "invalid_json"),  # NaN costs its record, not the file
        ("a.json", 4, "duplicate_key"),  # kept as written, not resolved to the last value
        ("b.parquet", 0, "unknown_format"),
    ]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("notes.md", b"# notes", r"notes.md: not a supported data file; expected one of \*.jsonl"),
        ("data.csv", b"a,b", r"data.csv: not a supported data file"),
        ("broken.json", b'[{"a": 1},', r"broken.json: not a JSON array \(Expecting value at line 1"),
        ("cut.jsonl.gz", gzip.compress(b'{"a": 1}\n' * 100)[:-6], r"cut.jsonl.gz: cannot be read"),
        ("bad.parquet", b"PAR1 not really", r"bad.parquet: cannot be read as Parquet"),
    ],
)
def test_a_file_that_cannot_be_read_stops_the_stage_naming_it(tmp_path, make_chat, name, content, message):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "ok.jsonl").write_text(json.dumps(make_chat("q", "a")) + "\n")
    (raw / name).write_bytes(content)
    with pytest.raises(InputError, match=message):
        main(CurateParams(), raw, tmp_path / "out", tmp_path / "reports", tmp_path / "m.json")


def test_lines_split_at_newline_only(tmp_path, make_chat):
    # U+2028 and a lone CR inside JSON strings are characters, not line breaks (see data/jsonl.py).
    row = make_chat("first\u2028second", "a\u0085b")
    path = tmp_path / "r.jsonl"
    path.write_bytes(
        json.dumps(row, ensure_ascii=False).encode() + b"\n\n" + json.dumps(row).encode() + b"\r\n"
    )
    tally = Tally()
    items = list(read_items(path, tally))
    assert [(number, json.loads(raw)) for _, _, number, raw in items] == [(1, row), (3, row)]
    assert tally.records == 2 and tally.blank_lines == 1


def test_rows_behind_symbolic_links_are_read(tmp_path, make_chat):
    raw, elsewhere = tmp_path / "raw", tmp_path / "elsewhere"
    (elsewhere / "more").mkdir(parents=True)
    raw.mkdir()
    (raw / "own.jsonl").write_text(json.dumps(make_chat("q0", "a")) + "\n")
    (elsewhere / "more" / "linked.jsonl").write_text(json.dumps(make_chat("q1", "a")) + "\n")
    (elsewhere / "one.ndjson").write_text(json.dumps(make_chat("q2", "a")) + "\n")
    (raw / "shared").symlink_to(elsewhere / "more", target_is_directory=True)
    (raw / "one.ndjson").symlink_to(elsewhere / "one.ndjson")
    tally = Tally()
    assert len(list(read_items(raw, tally))) == 3 == count_items(raw)
    assert [os.path.relpath(f, raw) for f in tally.files] == [
        "one.ndjson",
        "own.jsonl",
        "shared/linked.jsonl",
    ]


@pytest.mark.parametrize(
    ("name", "target", "message"),
    [
        ("gone.jsonl", "missing.jsonl", r"gone.jsonl: a symbolic link to .*missing.jsonl that leads nowhere"),
        ("self", "self", r"self: a symbolic link to .*self that leads nowhere \(broken or a loop\)"),
        ("up", ".", r"up: leads to .*raw, which is read already \(a link loop"),
    ],
)
def test_a_link_that_leads_nowhere_or_back_stops_the_stage_naming_it(
    tmp_path, make_chat, name, target, message
):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "ok.jsonl").write_text(json.dumps(make_chat("q", "a")) + "\n")
    (raw / name).symlink_to(target)
    with pytest.raises(InputError, match=message):
        main(CurateParams(), raw, tmp_path / "out", tmp_path / "reports", tmp_path / "m.json")


# curate under a 20 kB file-size limit: a write past it fails as it would on a full disk.
LIMITED = """
import resource, runpy, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails with EFBIG instead of killing the process
resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))
sys.argv = ["curate", *sys.argv[1:]]
runpy.run_module("{{ cookiecutter.package_name }}.curate", run_name="__main__")
"""


def test_a_failed_write_leaves_no_half_output_and_names_the_path(tmp_path, make_chat):
    raw, out = tmp_path / "raw", tmp_path / "out"
    raw.mkdir()
    rows = [{"id": f"r{i}", **make_chat(f"question {i} " + "x" * 200, f"answer {i}")} for i in range(300)]
    (raw / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    args = [
        str(raw),
        "--out",
        str(out),
        "--reports",
        str(tmp_path / "reports"),
        "--metrics",
        str(tmp_path / "m.json"),
    ]
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root / "src")}
    cmd = [sys.executable, "-c", LIMITED, *args, "--params", str(root / "params.yaml")]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, env=env)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith(f"curate: {out / 'curated.jsonl'}: cannot be written, OSError: File too large")
    assert sorted(p.name for p in out.iterdir()) == []  # no partial curated.jsonl, no temporary file


def test_a_full_disk_says_which_path_and_how_much_it_needed(tmp_path, monkeypatch, capsys):
    target = tmp_path / "curated.jsonl"
    target.write_text("the previous run\n")

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(jsonl.os, "fsync", full)
    with pytest.raises(jsonl.OutputError) as e:
        jsonl.write_jsonl(target, [{"text": "x" * 100}] * 10)
    assert str(e.value).startswith(f"{target}: cannot be written, no space left (No space left on device): ")
    assert "needs at least 1,130 bytes" in str(e.value) and "bytes free on its device" in str(e.value)
    assert target.read_text() == "the previous run\n" and [p.name for p in tmp_path.iterdir()] == [
        target.name
    ]
    with pytest.raises(SystemExit), errors.reported("train"):  # any other writer: one line, no traceback
        raise OSError(errno.EDQUOT, "Disk quota exceeded", "models/adapter/model.safetensors")
    assert capsys.readouterr().err == (
        "train: models/adapter/model.safetensors: cannot be written, no space left on its device "
        "(Disk quota exceeded)\n"
    )


def test_the_line_reader_takes_one_file_and_leaves_folders_to_the_sources_reader(tmp_path):
    (tmp_path / "a.jsonl").write_text("{}\n")
    with pytest.raises(
        errors.UserError, match="a directory where one file was expected; data folders go through"
    ):
        list(jsonl.read_lines(tmp_path))


def test_a_whole_json_file_is_read_by_the_one_rule_naming_file_line_and_column(tmp_path):
    from {{ cookiecutter.package_name }}.data.jsonl import (
        JsonlError,
        read_json,
    )

    good, bad, nan = tmp_path / "good.json", tmp_path / "bad.json", tmp_path / "nan.json"
    good.write_text('{"a": [1, 2]}\n')
    bad.write_text('{\n  "a": 1,\n  "b": oops\n}\n')
    nan.write_text('{"loss": NaN}\n')
    assert read_json(good) == {"a": [1, 2]}
    with pytest.raises(JsonlError, match=rf"{bad}:3:8: invalid JSON \(Expecting value\)"):
        read_json(bad)
    with pytest.raises(JsonlError, match="NaN is not valid JSON"):
        read_json(nan)
