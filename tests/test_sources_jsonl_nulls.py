"""A JSON Lines line holding ``null`` (`driftmon/sources/file/jsonl_nulls.py`): pyarrow.json
segfaults when a block begins with one (apache/arrow#47409); driftmon reads every such line as a
row of nulls wherever it falls, or gives a one-line error naming the file. Each file runs in a
subprocess: a crash must fail the test, not end the test run."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftmon.sources.file import jsonl_nulls

FIXTURES = Path(__file__).parent / "fixtures" / "jsonl"
BLOCK = 1 << 20  # driftmon's pyarrow block size (columns.READ_BLOCK_BYTES)


def driftmon_check(folder: Path, data: str, **feature: Any) -> subprocess.CompletedProcess[str]:
    """``driftmon check`` in a subprocess, reference and live both ``data`` (in ``folder``)."""
    config = {
        "monitors": [
            {
                "name": "m",
                "reference": {"type": "file", "path": data},
                "live": {"type": "file", "path": data, "json_reader": feature.pop("reader", "auto")},
                "features": [{"name": "x", "binning": {"edges": [0, 10, 20]}}],
                "min_samples": 0,
            }
        ]
    }
    (folder / "driftmon.yaml").write_text(json.dumps(config), encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "driftmon", "check", "-c", str(folder / "driftmon.yaml"), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
    )


def values_read(path: Path, reader: str) -> list[Any]:
    """Column ``x`` as driftmon's JSON Lines reader gives it, read in a subprocess."""
    code = (
        "import json, sys\n"
        "from driftmon.sources.file.jsonl import jsonl_batches\n"
        "values = []\n"
        "for batch in jsonl_batches(sys.argv[1], ['x'], sys.argv[2]):\n"
        "    column = batch['x']\n"
        "    values += column.to_pylist() if hasattr(column, 'to_pylist') else column.tolist()\n"
        "print(json.dumps(values))\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(path), reader], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    return list(json.loads(done.stdout))


def by_hand(path: Path) -> list[Any]:
    """The oracle: each line through the standard library, a ``null`` line a row without ``x``."""
    rows = [json.loads(line) for line in re.split(r"[\r\n]", path.read_text(encoding="utf-8-sig")) if line.strip()]
    return [None if row is None else row.get("x") for row in rows]


@pytest.mark.parametrize("name", ["fuzz-seed13-null-after-cr.jsonl", "fuzz-seed21-null-key.jsonl"])
def test_the_fuzzed_files_that_crashed_pyarrow_give_one_line_errors(tmp_path: Path, name: str) -> None:
    """The two files the 2026-12-03 campaign lost with the process (``\\rnull5`` and ``null:{c…``)
    give exit 3 and a one-line error naming the file (they killed `check` with SIGSEGV before)."""
    (tmp_path / name).write_bytes((FIXTURES / name).read_bytes())
    done = driftmon_check(tmp_path, name)
    assert done.returncode == 3, (done.returncode, done.stderr[-2000:])
    monitor = json.loads(done.stdout)["monitors"][0]
    assert name in monitor["error"] and "\n" not in monitor["error"], monitor["error"]
    assert "internal error" not in done.stderr


def null_at_block_start() -> bytes:
    """64 Ki lines of exactly 16 bytes fill pyarrow's first block; the second begins with ``null``."""
    lines = [b'{"x": %8d}\n' % (i % 20) for i in range(BLOCK // 16)]
    assert all(len(line) == 16 for line in lines)
    return b"".join(lines) + b"null\n" + b'{"x": 5}\n' * 10 + b"null"


FILES = {
    "first.jsonl": b'null\n{"x": 1}\n{"x": 12}\n',
    "bom.jsonl": b'\xef\xbb\xbf null\n{"x": 3}\n',
    "blanks.jsonl": b'{"x": 1}\r\n \t null\r\n{"x": 2}\r\n',
    "cr.jsonl": b'{"x": 1}\rnull\r{"x": 15}\r',
    "block.jsonl": null_at_block_start(),
}


@pytest.mark.parametrize("name", sorted(FILES))
@pytest.mark.parametrize("reader", ["pyarrow", "auto"])
def test_null_lines_read_as_rows_of_nulls(tmp_path: Path, name: str, reader: str) -> None:
    """A ``null`` line first, after a byte-order mark or blanks, after CR, or where pyarrow's
    second block begins: one row with ``x`` missing, the other rows as the standard library
    reads them, through pyarrow and through DuckDB (the first, byte-order-mark and block cases segfaulted before)."""
    path = tmp_path / name
    path.write_bytes(FILES[name])
    assert values_read(path, reader) == by_hand(path)


def test_a_file_of_one_null_line_has_no_columns(tmp_path: Path) -> None:
    """``null`` alone (it segfaulted `check`): a row without keys, so the column is not found."""
    (tmp_path / "null.jsonl").write_bytes(b"null")
    done = driftmon_check(tmp_path, "null.jsonl")
    assert done.returncode == 3, (done.returncode, done.stderr[-2000:])
    error = json.loads(done.stdout)["monitors"][0]["error"]
    assert error.startswith("column 'x' not found in ") and error.endswith("null.jsonl (its columns: )"), error


def test_check_counts_null_lines_as_missing(tmp_path: Path) -> None:
    """`check` on the block-boundary file: every row counted, the null lines as missing values."""
    (tmp_path / "block.jsonl").write_bytes(FILES["block.jsonl"])
    done = driftmon_check(tmp_path, "block.jsonl", reader="pyarrow")
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    assert json.loads(done.stdout)["monitors"][0]["error"] is None


def test_a_line_holding_a_number_is_named(tmp_path: Path) -> None:
    """A line holding a number (pyarrow refuses it, pandas then fails with a TypeError) is a
    one-line error naming the file and the line, not an internal error."""
    (tmp_path / "five.jsonl").write_bytes(b'{"x": 1}\n\n5\n')
    done = driftmon_check(tmp_path, "five.jsonl")
    assert done.returncode == 3, (done.returncode, done.stderr[-2000:])
    error = json.loads(done.stdout)["monitors"][0]["error"]
    assert error.endswith("five.jsonl as JSON Lines: line 3 holds a number, not an object"), error


def by_lines(data: bytes) -> bytes:
    """The oracle of the substitution: each line (split at CR or LF) whose value, past one
    byte-order mark and blanks, starts with ``null`` has those four bytes replaced by ``{}  ``."""
    out = []
    for line in re.split(rb"(?<=[\r\n])", data):
        body = line[3:] if line.startswith(b"\xef\xbb\xbf") else line
        lead = len(line) - len(body) + len(body) - len(body.lstrip(b" \t"))
        if line[lead : lead + 4] == b"null":
            line = line[:lead] + b"{}  " + line[lead + 4 :]
        out.append(line)
    return b"".join(out)


@settings(max_examples=300, deadline=None)
@given(
    data=st.lists(
        st.sampled_from([b"null", b"nu", b"ll", b" ", b"\t", b"\n", b"\r", b"\xef\xbb\xbf", b"{}", b"1"]), max_size=40
    ).map(b"".join),
    chunk=st.integers(1, 9),
)
def test_the_stream_replaces_exactly_the_null_lines(
    tmp_path_factory: pytest.TempPathFactory, data: bytes, chunk: int
) -> None:
    """SafeJsonLines gives the file's bytes with exactly the null lines replaced, whatever the
    chunk size (lines and blank runs cut across chunks), against a line-by-line oracle."""
    path = tmp_path_factory.mktemp("s") / "f.jsonl"
    path.write_bytes(data)
    saved = jsonl_nulls.CHUNK_BYTES
    jsonl_nulls.CHUNK_BYTES = chunk
    try:
        with jsonl_nulls.SafeJsonLines(str(path)) as stream:
            got = stream.read()
    finally:
        jsonl_nulls.CHUNK_BYTES = saved
    assert got == by_lines(data)
