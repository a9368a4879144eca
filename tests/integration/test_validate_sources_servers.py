"""``driftmon validate --sources`` against a real PostgreSQL server (started as in test_sql_sources)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
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
    assert "monitor typo, live" in err and "column 'X', 'cc' not found; did you mean 'x' or 'c'?" in err
    assert "monitor badpw, live" in err and "cannot connect" in err
    assert PASSWORD not in out + err and "not-the-password" not in out + err


def test_validate_sources_asks_a_real_prometheus(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Prometheus scraping itself: a counter that has series is ok; driftmon's default metric, which nobody
    exports here, is an error that says no series match (validate scores nothing either way)."""
    import yaml

    from tests.servers import free_port, require_binary, running_prometheus, wait_until

    binary = require_binary("prometheus")
    port = free_port()
    scrape = {
        "global": {"scrape_interval": "1s"},
        "scrape_configs": [{"job_name": "self", "static_configs": [{"targets": [f"127.0.0.1:{port}"]}]}],
    }
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(scrape))
    pd.DataFrame({"handler": ["/metrics", "/api"] * 20}).to_parquet(tmp_path / "ref.parquet")
    url = f"http://127.0.0.1:{port}"
    counter = "{handler: {counter: 'prometheus_http_requests_total{job=\"self\"}', label: handler}}"
    text = (
        "monitors:\n"
        f"  - name: good\n    reference: {{type: file, path: ref.parquet}}\n"
        f"    live: {{type: prometheus, url: '{url}', window: 1m, features: {counter}}}\n    features: [handler]\n"
        f"  - name: nometric\n    reference: {{type: file, path: ref.parquet}}\n"
        f"    live: {{type: prometheus, url: '{url}', window: 1m}}\n    features: [handler]\n"
    )
    (tmp_path / "c.yaml").write_text(text)
    with running_prometheus(binary, tmp_path, port):
        from driftmon import config
        from driftmon.sources import open_source

        live = config.load(tmp_path / "c.yaml").monitors[0].live
        # A source is opened for one evaluation time: a new one per try, until two scrapes exist.
        wait_until(lambda: _probes(open_source(live, tmp_path)), 60, message="Prometheus has no two scrapes of itself")
        code = main(["validate", "-c", str(tmp_path / "c.yaml"), "--sources"])
    out, err = capsys.readouterr()
    assert code == 2
    good = next(line for line in out.splitlines() if line.startswith("good ") and " live " in line)
    assert " ok " in good and "reachable, series for 1 features in window 1m" in good
    assert "monitor good" not in err
    assert "monitor nometric, live: Prometheus http://127.0.0.1" in err and "no series match" in err


def _probes(source: Any) -> bool:
    from driftmon.errors import DriftmonError

    try:
        source.probe(["handler"])
    except DriftmonError:
        return False
    return True
