"""CSV and JSON Lines files: the dialect options, null tokens, type inference across blocks, and
messages a user can act on (issue 14)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from driftmon import config
from driftmon.errors import ConfigError, DataError
from driftmon.histogram import BinningRule, CategoricalBins, NumericBins
from driftmon.sources.file import FileSource, FileSourceConfig, columns
from driftmon.sources.file import csv as csv_format

NOW = datetime(2026, 3, 1, tzinfo=UTC)
EDGES = NumericBins((0.0, 10.0, 20.0))


def source(folder: Path, path: str, **extra: Any) -> FileSource:
    return FileSource(FileSourceConfig(type="file", path=path, **extra), folder, NOW)


def counts_by_hand(x: np.ndarray, edges: tuple[float, ...] = EDGES.edges) -> list[float]:
    """The binning rule (docs/statistics.md) written out: under, [e0,e1), [e1,e2], over (NaN excluded)."""
    x = x[~np.isnan(x)]
    e = edges
    return [
        float((x < e[0]).sum()),
        float(((x >= e[0]) & (x < e[1])).sum()),
        float(((x >= e[1]) & (x <= e[2])).sum()),
        float((x > e[2]).sum()),
    ]


def amounts(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"amount": rng.uniform(-5, 25, n).round(3), "channel": rng.choice(["web", "shop", "app"], n)})


# ---------------------------------------------------------------------------
# dialect


def test_a_semicolon_file_is_read_with_delimiter(tmp_path: Path) -> None:
    """`delimiter: ';'` reads a semicolon-separated file; the counts match the values by hand."""
    frame = amounts(500)
    frame.to_csv(tmp_path / "l.csv", sep=";", index=False)
    got = source(tmp_path, "l.csv", delimiter=";").count({"amount": EDGES})["amount"]
    assert list(got.counts) == counts_by_hand(frame["amount"].to_numpy())


def test_a_wrong_delimiter_suggests_the_right_one(tmp_path: Path) -> None:
    """A semicolon file read with the default comma names the delimiter to set, not a list of one column."""
    amounts(20).to_csv(tmp_path / "l.csv", sep=";", index=False)
    with pytest.raises(DataError) as caught:
        source(tmp_path, "l.csv").count({"amount": EDGES})
    message = str(caught.value)
    assert "l.csv" in message and "looks ';'-separated" in message and "delimiter: ';'" in message


def test_a_tab_separated_file_gets_a_tab_hint(tmp_path: Path) -> None:
    """Tabs are suggested as the YAML escape a user can paste."""
    amounts(20).to_csv(tmp_path / "l.csv", sep="\t", index=False)
    with pytest.raises(DataError, match=r'looks tab-separated; set `delimiter: "\\t"`'):
        source(tmp_path, "l.csv").count({"amount": EDGES})


def test_only_the_empty_field_is_null_by_default(tmp_path: Path) -> None:
    """`n/a`, `NULL`, `NA` stay categories by default (they are not silently nulls); an empty field is null."""
    (tmp_path / "l.csv").write_text("channel,k\nweb,1\nn/a,1\nNULL,1\n,1\nNA,1\nweb,1\n")
    spec = CategoricalBins(("web", "n/a", "NULL", "NA"))
    got = source(tmp_path, "l.csv").count({"channel": spec})["channel"]
    assert list(got.counts[:4]) == [2, 1, 1, 1]
    assert got.missing == 1


def test_listed_na_values_are_null(tmp_path: Path) -> None:
    """Tokens listed in `na_values` are nulls: a numeric column with `n/a` reads as numbers plus missing."""
    (tmp_path / "l.csv").write_text("amount,k\n1,1\nn/a,1\n15,1\nNULL,1\n,1\n30,1\n")
    got = source(tmp_path, "l.csv", na_values=["", "n/a", "NULL"]).count({"amount": EDGES})["amount"]
    assert list(got.counts) == [0, 1, 1, 1] and got.missing == 3


def test_unlisted_null_tokens_in_a_numeric_column_are_refused_with_a_hint(tmp_path: Path) -> None:
    """A reference numeric column with an unlisted `n/a` is refused, naming the token and `na_values`."""
    values = [str(v) for v in range(40)] + ["n/a"] * 3
    (tmp_path / "r.csv").write_text("amount\n" + "\n".join(values) + "\n")
    with pytest.raises(DataError) as caught:
        source(tmp_path, "r.csv").profile([BinningRule("amount")])
    assert "'n/a'" in str(caught.value) and "na_values" in str(caught.value)


def test_encoding_latin1(tmp_path: Path) -> None:
    """`encoding: latin-1` decodes the file: accented categories keep their letters."""
    (tmp_path / "l.csv").write_bytes("city\nZürich\nGenève\nZürich\n".encode("latin-1"))
    spec = CategoricalBins(("Zürich", "Genève"))
    got = source(tmp_path, "l.csv", encoding="latin-1").count({"city": spec})["city"]
    assert list(got.counts[:2]) == [2, 1]


def test_a_wrong_encoding_names_file_offset_line_and_key(tmp_path: Path) -> None:
    """Latin-1 bytes read as UTF-8: the message names the file, the byte offset, the line and `encoding`."""
    data = "city\nBern\nBasel\nZürich\n".encode("latin-1")
    (tmp_path / "l.csv").write_bytes(data)
    spec = CategoricalBins(("Bern",))
    with pytest.raises(DataError) as caught:
        source(tmp_path, "l.csv").count({"city": spec})
    message = str(caught.value)
    offset = data.index("ü".encode("latin-1"))
    assert "l.csv" in message and f"byte {offset}" in message and "line 4" in message
    assert "`encoding:`" in message


def test_an_unknown_encoding_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown encoding 'utf-99'"):
        FileSourceConfig(type="file", path="l.csv", encoding="utf-99")


def test_a_ragged_row_names_file_and_line(tmp_path: Path) -> None:
    """A row with too few fields is reported with its line, not a bare parser message."""
    (tmp_path / "l.csv").write_text("amount,channel\n1,web\n2,app\n3\n4,web\n")
    with pytest.raises(DataError, match=r"l\.csv: line 4 has 1 field.*header has 2"):
        source(tmp_path, "l.csv").count({"amount": EDGES})


def test_header_false_names_columns_column_1_and_so_on(tmp_path: Path) -> None:
    """Without a header every row is data, and the columns are column_1, column_2..."""
    (tmp_path / "l.csv").write_text("1,web\n12,app\n30,web\n")
    got = source(tmp_path, "l.csv", header=False).count({"column_1": EDGES})["column_1"]
    assert list(got.counts) == [0, 1, 1, 1]


def test_header_false_with_columns_names_them(tmp_path: Path) -> None:
    (tmp_path / "l.csv").write_text("1,web\n12,app\n30,web\n")
    got = source(tmp_path, "l.csv", header=False, columns=["amount", "channel"]).count({"amount": EDGES})
    assert list(got["amount"].counts) == [0, 1, 1, 1]


def test_columns_of_the_wrong_length_is_a_data_error(tmp_path: Path) -> None:
    (tmp_path / "l.csv").write_text("1,web\n")
    with pytest.raises(DataError, match=r"l\.csv has 2 columns but `columns:` names 3"):
        source(tmp_path, "l.csv", header=False, columns=["a", "b", "c"]).count({"a": EDGES})


def test_columns_needs_header_false() -> None:
    with pytest.raises(ValueError, match="header: false"):
        FileSourceConfig(type="file", path="l.csv", columns=["a"])


# ---------------------------------------------------------------------------
# type inference across blocks


def test_a_column_int_then_float_in_a_later_block_counts_every_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Integers for many blocks, then a decimal: all rows are counted as numbers (no crash, no split)."""
    monkeypatch.setattr(csv_format, "READ_BLOCK_BYTES", 1 << 12)
    x = np.concatenate([np.arange(5000) % 30, [12.5, 25.5]]).astype(float)
    pd.DataFrame({"amount": [f"{v:g}" for v in x]}).to_csv(tmp_path / "l.csv", index=False)
    got = source(tmp_path, "l.csv").count({"amount": EDGES})["amount"]
    assert list(got.counts) == counts_by_hand(x) and got.total == len(x)
    reference = source(tmp_path, "l.csv").profile([BinningRule("amount", edges=EDGES.edges)])["amount"]
    assert list(reference.counts) == counts_by_hand(x)


def test_a_column_numeric_then_text_in_a_later_block_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Numbers for many blocks, then text: the live count names the feature and the value (never a traceback)."""
    monkeypatch.setattr(csv_format, "READ_BLOCK_BYTES", 1 << 12)
    values = [str(v % 30) for v in range(5000)] + ["oops"]
    (tmp_path / "l.csv").write_text("amount\n" + "\n".join(values) + "\n")
    with pytest.raises(DataError, match=r"l\.csv: feature 'amount' is numeric but holds non-numeric values \('oops'\)"):
        source(tmp_path, "l.csv").count({"amount": EDGES})
    with pytest.raises(DataError, match=r"feature 'amount' looks numeric .* such as 'oops'"):
        source(tmp_path, "l.csv").profile([BinningRule("amount")])


def test_a_categorical_column_numeric_then_text_counts_every_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Codes that look numeric for many blocks, then text: a categorical feature counts them all as text."""
    monkeypatch.setattr(csv_format, "READ_BLOCK_BYTES", 1 << 12)
    values = [str(v % 3) for v in range(5000)] + ["X1", "X1"]
    (tmp_path / "l.csv").write_text("code\n" + "\n".join(values) + "\n")
    reference = source(tmp_path, "l.csv").profile([BinningRule("code", kind="categorical")])["code"]
    expected = pd.Series(values).value_counts()
    got = dict(zip(reference.spec.labels(), reference.counts, strict=False))
    assert {k: got[k] for k in expected.index} == expected.to_dict()
    live = source(tmp_path, "l.csv").count({"code": reference.spec})["code"]
    assert live.total == len(values)


def test_batches_are_bounded_and_merge_to_the_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches hold at most BATCH_ROWS rows; their counts add up to the whole file's."""
    frame = amounts(3000, seed=3)
    frame.to_csv(tmp_path / "l.csv", index=False)
    monkeypatch.setattr(csv_format, "BATCH_ROWS", 500)
    sizes = [len(b) for b in source(tmp_path, "l.csv").batches(["amount"])]
    assert sizes == [500] * 6
    got = source(tmp_path, "l.csv").count({"amount": EDGES})["amount"]
    assert list(got.counts) == counts_by_hand(frame["amount"].to_numpy())


# ---------------------------------------------------------------------------
# JSON Lines


def test_json_lines_numbers_and_nulls(tmp_path: Path) -> None:
    """JSON null and absent keys are missing; numbers are counted by hand."""
    lines = [{"amount": 1}, {"amount": 12.5}, {"amount": None}, {"other": 3}, {"amount": 30}]
    (tmp_path / "l.jsonl").write_text("\n".join(json.dumps(v) for v in lines) + "\n")
    got = source(tmp_path, "l.jsonl").count({"amount": EDGES})["amount"]
    assert list(got.counts) == [0, 1, 1, 1] and got.missing == 2


def test_json_lines_type_change_in_a_later_block_counts_every_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A JSON column of numbers that becomes text later is read whole as a categorical feature."""
    monkeypatch.setattr(csv_format, "READ_BLOCK_BYTES", 1 << 12)
    values: list[Any] = [v % 3 for v in range(3000)] + ["X1"]
    (tmp_path / "l.jsonl").write_text("\n".join(json.dumps({"code": v}) for v in values) + "\n")
    reference = source(tmp_path, "l.jsonl").profile([BinningRule("code", kind="categorical")])["code"]
    assert reference.total == len(values)
    got = dict(zip(reference.spec.labels(), reference.counts, strict=False))
    assert got["X1"] == 1 and got["0"] == 1000


# ---------------------------------------------------------------------------
# did you mean


def test_a_missing_column_suggests_the_case_insensitive_match_first(tmp_path: Path) -> None:
    amounts(10).to_csv(tmp_path / "l.csv", index=False)
    with pytest.raises(DataError, match=r"column 'Channel' not found in .*l\.csv; did you mean 'channel'\?"):
        source(tmp_path, "l.csv").count({"Channel": CategoricalBins(("web",))})


def test_a_missing_column_suggests_near_names(tmp_path: Path) -> None:
    amounts(10).to_csv(tmp_path / "l.csv", index=False)
    with pytest.raises(DataError, match=r"column 'amout' not found .*did you mean 'amount'\?"):
        source(tmp_path, "l.csv").count({"amout": EDGES})


def test_config_keys_and_defaults_in_a_config_file(tmp_path: Path) -> None:
    """The options are accepted in YAML; unknown values are config errors naming the key."""
    text = (
        "monitors:\n  - name: m\n"
        "    reference: {type: file, path: r.csv, delimiter: ';', na_values: ['', 'n/a'], encoding: latin-1}\n"
        "    live: {type: file, path: l.csv, header: false, columns: [x]}\n    features: [x]\n"
    )
    (tmp_path / "c.yaml").write_text(text)
    monitor = config.load(tmp_path / "c.yaml").monitors[0]
    assert monitor.reference.delimiter == ";" and monitor.live.columns == ["x"]
    (tmp_path / "c.yaml").write_text(text.replace("delimiter: ';'", "delimiter: ';;'"))
    with pytest.raises(ConfigError, match=re.escape("monitors[0].reference.delimiter")):
        config.load(tmp_path / "c.yaml")


def test_dates_in_a_feature_column_stay_text_as_written(tmp_path: Path) -> None:
    """A date column used as a feature is categorical text, as in the file (pyarrow would parse it)."""
    (tmp_path / "l.csv").write_text("day,k\n2024-01-01,1\n2024-01-02,1\n2024-01-01,1\n")
    reference = source(tmp_path, "l.csv").profile([BinningRule("day")])["day"]
    assert reference.kind == "categorical"
    assert dict(zip(reference.spec.labels(), reference.counts, strict=False))["2024-01-01"] == 2


@pytest.mark.parametrize(("encoding", "data"), [("utf-16", "utf-16"), ("utf-8", "utf-8-sig")])
def test_utf16_and_a_utf8_byte_order_mark(tmp_path: Path, encoding: str, data: str) -> None:
    """UTF-16 (two-byte newlines) and UTF-8 with a BOM: the header's first name is found as written."""
    (tmp_path / "l.csv").write_bytes("amount,k\n1,a\n12,b\n30,c\n".encode(data))
    got = source(tmp_path, "l.csv", encoding=encoding).count({"amount": EDGES})["amount"]
    assert list(got.counts) == [0, 1, 1, 1]


def test_small_csv_blocks_are_binned_in_large_batches_with_the_same_values() -> None:
    """The reader's 1 MB blocks are coalesced before binning: same values, same order, fewer batches;
    a column whose type changes midway (a CSV retyped) starts a new batch instead of mixing types."""
    import pyarrow as pa

    blocks = [{"x": pa.array([float(i), float(i) + 0.5]), "c": pa.array(["a", "b"])} for i in range(10)]
    blocks.append({"x": pa.array(["text", "more"]), "c": pa.array(["a", "b"])})  # retyped: text now
    out = list(csv_format.coalesced(iter(blocks), rows=8))
    assert [len(batch["x"]) for batch in out] == [8, 8, 4, 2]  # at most 8 rows, then the retyped rest
    numbers = [v for batch in out[:3] for v in batch["x"].to_pylist()]
    assert numbers == [v for block in blocks[:10] for v in block["x"].to_pylist()]
    assert out[3]["x"].to_pylist() == ["text", "more"] and {str(b["x"].type) for b in out[:3]} == {"double"}


def test_every_text_pandas_reads_as_a_number_starts_like_one() -> None:
    """`_any_number` asks pandas only about text matching NUMBER_START (so most text columns
    need no pandas import): every generated text that pandas.to_numeric reads as a number
    matches it, Unicode digits, spaces, signs, inf and exponents included."""
    rng = np.random.default_rng(7)
    alphabet = [*"0123456789+-.eE_ ,xXabcfinaINFAty\t$()", "٣", "¹", "½", "\u00a0", "inf", "nan", "Infinity", "1e"]
    texts = ["".join(rng.choice(alphabet, rng.integers(1, 8))) for _ in range(40_000)]
    texts += ["٣", "١٢", "  12", "\t-3", "+.5", ".5", "5.", "-inf", "-Infinity", "1_000", "0x1A", "\u00a012"]
    numbers = pd.to_numeric(pd.Series(texts, dtype=object), errors="coerce").notna().to_numpy()
    assert numbers.sum() > 1000  # the generator makes plenty of numbers
    missed = [
        text for text, number in zip(texts, numbers, strict=True) if number and not columns.NUMBER_START.match(text)
    ]
    assert missed == []


@pytest.mark.parametrize("encoding", ["rot13", "base64", "zlib"])
def test_a_codec_that_is_not_a_text_encoding_is_refused(encoding: str) -> None:
    """Python's codec registry accepts them, and reading a CSV with one ended in a TypeError."""
    with pytest.raises(ValueError, match=f"'{encoding}' is not a text encoding"):
        FileSourceConfig(type="file", path="l.csv", encoding=encoding)


def test_a_carriage_return_inside_the_header_is_a_data_error(tmp_path: Path) -> None:
    """A header line with a lone CR inside a field (`a\\rb,c`): a DataError naming the file (was an internal error: csv.Error, found by the fuzz campaign)."""
    from driftmon.cli import main

    (tmp_path / "d.csv").write_bytes(b"x\rq,c\n1,2\n3,4\n")
    (tmp_path / "c.yaml").write_text(
        "monitors:\n  - {name: m, reference: {type: file, path: d.csv}, live: {type: file, path: d.csv}, features: [c]}\n"
    )
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["check", "-c", str(tmp_path / "c.yaml"), "--format", "json"])
    assert code == 3, err.getvalue()
    error = json.loads(out.getvalue())["monitors"][0]["error"]
    assert "d.csv as csv: its first line holds a carriage return inside a field" in error, error
    assert "internal error" not in err.getvalue()
