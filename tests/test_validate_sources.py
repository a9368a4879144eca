"""``driftmon validate``: files must exist and histogram files parse; ``--sources`` opens every source."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from driftmon.cli import main
from tests.servers import free_port


def write_data(folder: Path) -> None:
    frame = pd.DataFrame({"amount": np.arange(120.0), "channel": ["web", "app", "shop"] * 40})
    frame.to_parquet(folder / "ref.parquet")
    frame.to_csv(folder / "live.csv", index=False)
    frame.to_csv(folder / "semicolon.csv", sep=";", index=False)
    document = {
        "format": "driftmon.histograms/v1",
        "features": {"amount": {"kind": "numeric", "edges": [0, 50, 100], "counts": [0, 50, 50, 20], "missing": 0}},
    }
    (folder / "ref.json").write_text(json.dumps(document))


def monitors(folder: Path, *entries: str) -> Path:
    path = folder / "c.yaml"
    path.write_text("monitors:\n" + "".join(entries))
    return path


def monitor(name: str, reference: str, live: str, features: str = "[amount, channel]") -> str:
    return f"  - name: {name}\n    reference: {reference}\n    live: {live}\n    features: {features}\n"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_missing_reference_file_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """validate said "valid" with a missing reference file: now exit 2, naming the file (no data read)."""
    write_data(tmp_path)
    config = monitors(tmp_path, monitor("m", "{type: file, path: nothere.parquet}", "{type: file, path: live.csv}"))
    code, out, err = run(capsys, "validate", "-c", str(config))
    assert code == 2
    assert "driftmon: error: monitor m, reference: file" in err and "nothere.parquet does not exist" in err
    assert "valid (" not in out


def test_syntax_only_checks_the_config_and_no_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A config for another machine (a ConfigMap's /data/...) is checked with --syntax-only, as promtool does."""
    config = monitors(
        tmp_path, monitor("m", "{type: file, path: /data/nothere.parquet}", "{type: file, path: live.csv}")
    )
    code, out, err = run(capsys, "validate", "-c", str(config), "--syntax-only")
    assert (code, err) == (0, "")
    assert out == f"{config}: valid (1 monitor, 2 features)\n"
    broken = monitors(tmp_path, monitor("m", "{type: fil, path: x.csv}", "{type: file, path: live.csv}"))
    code, out, err = run(capsys, "validate", "-c", str(broken), "--syntax-only")
    assert code == 2 and "did you mean 'file'?" in err
    with pytest.raises(SystemExit) as exited:
        run(capsys, "validate", "-c", str(config), "--syntax-only", "--sources")  # contradictory: a usage error
    assert exited.value.code == 2 and "not allowed with argument" in capsys.readouterr().err


def test_a_live_glob_matching_nothing_is_a_warning(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Live data may arrive later: an empty live glob warns and still exits 0."""
    write_data(tmp_path)
    config = monitors(tmp_path, monitor("m", "{type: file, path: ref.parquet}", '{type: file, path: "later/*.csv"}'))
    code, out, err = run(capsys, "validate", "-c", str(config))
    assert code == 0 and "valid (1 monitor, 2 features)" in out
    assert "driftmon: warning: monitor m, live: no file matches" in err


def test_a_histogram_file_that_does_not_parse_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_data(tmp_path)
    (tmp_path / "bad.json").write_text('{"format": "driftmon.histograms/v1", "features": ')
    config = monitors(
        tmp_path, monitor("m", "{type: histogram, path: bad.json}", "{type: file, path: live.csv}", "[amount]")
    )
    code, _, err = run(capsys, "validate", "-c", str(config))
    assert code == 2 and "bad.json: not valid JSON" in err


def test_a_histogram_file_without_a_feature_suggests_a_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_data(tmp_path)
    config = monitors(
        tmp_path, monitor("m", "{type: histogram, path: ref.json}", "{type: file, path: live.csv}", "[Amount]")
    )
    code, _, err = run(capsys, "validate", "-c", str(config))
    assert code == 2 and "no histogram for feature 'Amount'; did you mean 'amount'?" in err


def test_without_sources_no_data_is_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A wrong column is not looked for without --sources (validate never reads data by default)."""
    write_data(tmp_path)
    config = monitors(
        tmp_path, monitor("m", "{type: file, path: ref.parquet}", "{type: file, path: live.csv}", "[Channel]")
    )
    assert run(capsys, "validate", "-c", str(config))[0] == 0
    code, _, err = run(capsys, "validate", "-c", str(config), "--sources")
    assert code == 2 and "column 'Channel' not found" in err and "did you mean 'channel'?" in err


def test_sources_reports_columns_types_and_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--sources prints one row per monitor and side: Parquet rows from its metadata, each column's type."""
    write_data(tmp_path)
    config = monitors(tmp_path, monitor("m", "{type: file, path: ref.parquet}", "{type: file, path: live.csv}"))
    code, out, err = run(capsys, "validate", "-c", str(config), "--sources")
    assert code == 0, err
    reference = next(line for line in out.splitlines() if line.startswith("m ") and "reference" in line)
    live = next(line for line in out.splitlines() if line.startswith("m ") and " live " in line)
    assert "1 file (parquet), 120 rows" in reference and "amount: double" in reference
    assert "1 file (csv)" in live and "amount: double" in live and "channel: string" in live


def test_sources_names_the_delimiter_of_a_semicolon_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_data(tmp_path)
    config = monitors(tmp_path, monitor("m", "{type: file, path: ref.parquet}", "{type: file, path: semicolon.csv}"))
    code, _, err = run(capsys, "validate", "-c", str(config), "--sources")
    assert code == 1 and "set `delimiter: ';'`" in err  # the columns are gone, as check reports them


def test_sources_opens_sql_and_suggests_columns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A DuckDB query's columns are listed without reading rows; a misspelt one gets a suggestion."""
    pytest.importorskip("duckdb")
    write_data(tmp_path)
    good = "{type: sql, url: 'duckdb:///:memory:', query: \"SELECT * FROM read_parquet('ref.parquet')\"}"
    bad = "{type: sql, url: 'duckdb:///:memory:', query: \"SELECT amount, channel AS chanel FROM read_parquet('ref.parquet')\"}"
    config = monitors(
        tmp_path,
        monitor("good", "{type: file, path: ref.parquet}", good),
        monitor("bad", "{type: file, path: ref.parquet}", bad),
    )
    code, out, err = run(capsys, "validate", "-c", str(config), "--sources")
    assert code == 1  # the live column is gone: critical, as check reports it
    assert "amount: float, channel: string" in next(
        line for line in out.splitlines() if line.startswith("good ") and " live " in line
    )
    assert "monitor bad, live" in err and "column 'channel' not found; did you mean 'chanel'?" in err
    assert "monitor good" not in err


def test_sources_unreachable_prometheus_is_an_error_without_the_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Prometheus that does not answer: exit 2, the source named, the ${VAR} password nowhere in the output."""
    write_data(tmp_path)
    monkeypatch.setenv("PROM_PASSWORD", "hunter2-secret")
    url = f"http://scraper:${{PROM_PASSWORD}}@127.0.0.1:{free_port()}"
    config = monitors(
        tmp_path,
        monitor("m", "{type: file, path: ref.parquet}", f"{{type: prometheus, url: '{url}', window: 1h}}", "[amount]"),
    )
    code, out, err = run(capsys, "validate", "-c", str(config), "--sources")
    assert code == 2 and "monitor m, live: Prometheus http://127.0.0.1:" in err and "cannot query Prometheus" in err
    assert "hunter2" not in out + err


def test_sources_reads_only_the_first_block_of_json_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """JSON Lines: the columns and their types from the first block; rows are not counted (a full read)."""
    write_data(tmp_path)
    lines = [json.dumps({"amount": float(i), "channel": "web"}) for i in range(50)]
    (tmp_path / "live.jsonl").write_text("\n".join(lines) + "\n")
    config = monitors(tmp_path, monitor("m", "{type: file, path: ref.parquet}", "{type: file, path: live.jsonl}"))
    code, out, err = run(capsys, "validate", "-c", str(config), "--sources")
    assert code == 0, err
    live = next(line for line in out.splitlines() if line.startswith("m ") and " live " in line)
    assert "1 file (jsonl), JSON Lines read by " in live and "rows not counted" in live
    assert "amount: double, channel: string" in live


@pytest.mark.parametrize(
    ("option", "first", "reader"),
    [
        ("", {"amount": 1.0, "channel": "web"}, "read by DuckDB"),
        (", json_reader: pyarrow", {"amount": 1.0, "channel": "web"}, "read by pyarrow (json_reader: pyarrow)"),
        ("", {"amount": 1.0, "channel": None}, "read by pyarrow (a key is missing, null or nested"),
    ],
)
def test_sources_says_which_reader_takes_json_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str, first: dict[str, Any], reader: str
) -> None:
    pytest.importorskip("duckdb")
    write_data(tmp_path)
    (tmp_path / "live.jsonl").write_text(json.dumps(first) + "\n")
    live_source = f"{{type: file, path: live.jsonl{option}}}"
    config = monitors(tmp_path, monitor("m", "{type: file, path: ref.parquet}", live_source))
    code, out, err = run(capsys, "validate", "-c", str(config), "--sources")
    assert code == 0, err
    live = next(line for line in out.splitlines() if line.startswith("m ") and " live " in line)
    assert reader in live


def test_sources_says_a_json_lines_key_is_not_in_the_first_block(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A misspelt key used to show as type `null` (the reader fills absent keys with nulls)."""
    write_data(tmp_path)
    (tmp_path / "live.jsonl").write_text(json.dumps({"amount": 1.0}) + "\n")
    config = monitors(
        tmp_path, monitor("m", "{type: file, path: ref.parquet}", "{type: file, path: live.jsonl}", "[Amount]")
    )
    code, out, err = run(capsys, "validate", "-c", str(config), "--sources")
    live = next(line for line in out.splitlines() if line.startswith("m ") and " live " in line)
    assert "Amount: ? (not in the first block)" in live, live
    assert code == 2 and "did you mean 'amount'?" in err  # the Parquet reference names the near miss


@pytest.mark.parametrize("sources", [False, True])
def test_validate_prints_every_monitor_of_a_large_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], sources: bool
) -> None:
    """`validate` and `validate --sources` of 1,000 monitors print all 1,000 rows (the table was cut at 2,000 characters)."""
    histogram = {
        "format": "driftmon.histograms/v1",
        "features": {"x": {"kind": "numeric", "edges": [0, 1], "counts": [1, 2, 3], "missing": 0}},
    }
    (tmp_path / "h.json").write_text(json.dumps(histogram))
    lines = ["monitors:"]
    for index in range(1000):
        lines.append(
            f"  - {{name: m{index:04d}, reference: {{type: histogram, path: h.json}}, live: {{type: histogram, path: h.json}}, features: [x]}}"
        )
    (tmp_path / "c.yaml").write_text("\n".join(lines) + "\n")
    code = main(["validate", "-c", str(tmp_path / "c.yaml"), *(["--sources"] if sources else [])])
    out = capsys.readouterr().out
    assert code == 0, out[-500:]
    assert len(out) > 20 * redact_limit() and "cut;" not in out
    assert all(f"m{index:04d} " in out for index in range(1000))
    assert out.rstrip().endswith("valid (1000 monitors, 1000 features)"), out[-300:]


def redact_limit() -> int:
    from driftmon.redact import MAX_CHARS

    return MAX_CHARS


def test_a_plain_live_path_that_does_not_exist_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A live path with no glob and no template will not appear by itself: exit 2 (it was a
    warning); a templated live path that names no file yet stays a warning."""
    write_data(tmp_path)
    config = monitors(tmp_path, monitor("m", "{type: file, path: ref.parquet}", "{type: file, path: gone.csv}"))
    code, _, err = run(capsys, "validate", "-c", str(config))
    assert code == 2 and "driftmon: error: monitor m, live: file" in err and "gone.csv does not exist" in err
    templated = monitors(
        tmp_path, monitor("m", "{type: file, path: ref.parquet}", '{type: file, path: "day-{now:%Y-%m-%d}.csv"}')
    )
    code, _, err = run(capsys, "validate", "-c", str(templated))
    assert code == 0 and "driftmon: warning: monitor m, live: file" in err


def test_sources_prints_the_schema_anomalies(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--sources names each schema anomaly on its own line without scoring: a feature's column
    gone is critical, named once with the nearest live column, and validate exits 1 as check
    does on the same data (before: exit 2, and the live probe's error besides); a new column
    is a row at ok."""
    write_data(tmp_path)
    frame = pd.DataFrame({"amount_eur": np.arange(120.0), "channel": ["web", "app", "shop"] * 40})
    frame.to_csv(tmp_path / "renamed.csv", index=False)
    config = monitors(tmp_path, monitor("m", "{type: file, path: ref.parquet}", "{type: file, path: renamed.csv}"))
    code, out, err = run(capsys, "validate", "-c", str(config), "--sources")
    assert code == 1, err
    assert "driftmon: critical: monitor m, schema: missing_column 'amount': the live data has no such column" in err
    assert (
        "driftmon: critical: monitor m, live: column 'amount' not found" in err and "did you mean 'amount_eur'?" in err
    )
    assert "error" not in err
    assert "new_column 'amount_eur': not in the reference (double) (ok)" in out  # ok: a row, not a warning
    assert out.splitlines()[-1].endswith(": valid (1 monitor, 2 features); 2 critical findings in the data")
    rows = [line.split() for line in out.splitlines()]
    assert [row[:4] for row in rows[1:5]] == [
        ["m", "reference", "file", "ok"],
        ["m", "live", "file", "critical"],
        ["m", "schema", "file", "critical"],
        ["m", "schema", "file", "ok"],
    ]
    checked, _, _ = run(capsys, "check", "-c", str(config))
    assert checked == code == 1  # the same problem, the same exit code
    added = pd.DataFrame({"amount": np.arange(120.0), "channel": ["web"] * 120, "note": ["x"] * 120})
    added.to_csv(tmp_path / "added.csv", index=False)
    config = monitors(tmp_path, monitor("m", "{type: file, path: ref.parquet}", "{type: file, path: added.csv}"))
    code, out, err = run(capsys, "validate", "-c", str(config), "--sources")
    assert code == 0 and err == "" and "new_column 'note'" in out
