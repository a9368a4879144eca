"""``driftmon validate --sources`` against a real PostgreSQL server (started as in test_sql_sources)."""

from __future__ import annotations

from pathlib import Path

import pytest

from driftmon.cli import main
from tests.integration.test_sql_sources import PASSWORD, data, pg_tables, postgres  # noqa: F401 (fixtures)

pytestmark = pytest.mark.integration


def test_validate_sources_connects_to_postgresql_and_checks_columns(
    data: Path,  # noqa: F811
    pg_tables: str,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A table with the columns: ok with their types; a missing table, a misspelt column and a wrong password:
    exit 2, each named per monitor, the password from ${PG_PASSWORD} nowhere in the output."""
    monkeypatch.setenv("PG_PASSWORD", PASSWORD)
    url = pg_tables.replace("driftmon@", "driftmon:${PG_PASSWORD}@")
    wrong = pg_tables.replace("driftmon@", "driftmon:not-the-password@")
    reference = f"{{type: file, path: {data / 'ref.parquet'}}}"
    entries = [
        ("good", f"{{type: sql, url: '{url}', table: live}}", "[x, c]"),
        ("notable", f"{{type: sql, url: '{url}', table: nope}}", "[x]"),
        ("typo", f"{{type: sql, url: '{url}', table: live}}", "[X, cc]"),
        ("badpw", f"{{type: sql, url: '{wrong}', table: live}}", "[x]"),
    ]
    text = "monitors:\n" + "".join(
        f"  - name: {name}\n    reference: {reference}\n    live: {live}\n    features: {features}\n"
        for name, live, features in entries
    )
    (data / "validate.yaml").write_text(text)
    code = main(["validate", "-c", str(data / "validate.yaml"), "--sources"])
    out, err = capsys.readouterr()
    assert code == 2
    good = next(line for line in out.splitlines() if line.startswith("good ") and " live " in line)
    assert " ok " in good and "x: float, c: string" in good
    assert "monitor good" not in err
    assert "monitor notable, live" in err and 'relation "nope" does not exist' in err
    assert "monitor typo, live" in err and "column 'X', 'cc' not found; did you mean 'x'?" in err
    assert "monitor badpw, live" in err and "cannot connect" in err
    assert PASSWORD not in out + err and "not-the-password" not in out + err
