"""Redaction: what leaves the process never holds a secret, a file's lines or a megabyte.

The first tests pin :func:`driftmon.redact.text` on each kind of secret; the last ones go
through the real boundaries (`driftmon check` in-process, the log formatter) on the
defects that were reported: a ``${VAR}`` password in evaluation errors, ``hunt@er2``
shown as ``***@er2``, a system file's lines in an error, a 1.9 MB error string.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from driftmon import cli, config, logs, redact


@pytest.fixture(autouse=True)
def _no_log_handlers() -> Iterator[None]:
    yield
    logging.getLogger().handlers.clear()


@pytest.mark.parametrize(
    ("message", "hidden", "kept"),
    [
        (
            "postgresql://monitor:hunt@er2@db.example:5432/x",
            ["hunt", "er2@db"],
            ["postgresql://monitor:***@db.example:5432/x"],
        ),
        (
            "postgresql://monitor:pa/ss#w?rd@db:5432/x?sslmode=require",
            ["pa/ss", "w?rd"],
            ["monitor:***@db:5432/x?sslmode=require"],
        ),
        ("https://TOKEN123@github.com/x", ["TOKEN123"], ["https://***@github.com/x"]),
        ("postgresql:monitor:s3cret@host/db", ["s3cret"], ["@host/db"]),
        ("monitor:s3cret@host:5432/db", ["s3cret"], ["monitor:***@host:5432/db"]),
        ("postgresql://h/db?user=monitor&password=a&b&sslmode=x", ["a&b"], ["user=monitor&password=***&sslmode=x"]),
        ("host=db user=u password='a b c' dbname=x", ["a b c"], ["password='***' dbname=x"]),
        ("host=db user=u sslpassword=plain dbname=x", ["plain"], ["sslpassword=*** dbname=x"]),
        ("CREATE SECRET (TYPE s3, KEY_ID 'AKIAXX', SECRET 'wJalr', REGION 'us')", ["AKIAXX", "wJalr"], ["REGION 'us'"]),
        ("SET s3_secret_access_key='abcdef'", ["abcdef"], ["s3_secret_access_key='***'"]),
        ("{'password': 'zz9', \"token\": \"t0k3n\"}", ["zz9", "t0k3n"], ["'password': '***'"]),
    ],
)
def test_userinfo_query_dsn_and_sql_secrets_are_masked_whole(message: str, hidden: list[str], kept: list[str]) -> None:
    """URL userinfo (up to the last @), password-like keys in query strings, DSNs, dicts and SQL lose their whole value; the rest stays readable."""
    masked = redact.text(message)
    for secret in hidden:
        assert secret not in masked, masked
    for text in kept:
        assert text in masked, masked


@pytest.mark.parametrize(
    "message",
    ["https://host/path/a@b", "password_file=/run/secrets/pg", "passed=3 tokens=12", "evaluated monitor=m1 status=ok"],
)
def test_ordinary_text_is_left_alone(message: str) -> None:
    """An @ in a URL path, key names that only contain a secret word, and ordinary log text are not masked."""
    assert redact.text(message) == message


def test_var_values_are_masked_whole_encoded_and_in_the_pieces_a_parser_makes() -> None:
    """A ${VAR} value is masked as is, percent-encoded, and where a driver quotes the part after its @."""
    redact.remember(["Pw1@zQ9xw/Kt7pL"])
    masked = redact.text(
        "failed to resolve host 'zQ9xw/Kt7pL@127.0.0.1'; url had Pw1%40zQ9xw%2FKt7pL; raw Pw1@zQ9xw/Kt7pL"
    )
    assert "zQ9xw" not in masked and "Kt7pL" not in masked and "Pw1" not in masked
    assert "127.0.0.1" in masked


def test_short_var_values_are_not_searched_for() -> None:
    """Values shorter than 4 characters (a port, a flag) would mask ordinary words: they are not searched for."""
    redact.remember(["on", "443"])
    assert redact.text("connection on port 443") == "connection on port 443"


def test_control_characters_are_escaped_and_long_messages_cut() -> None:
    """Terminal escapes and bidi overrides become visible escapes; a 2 MB message becomes at most MAX_CHARS."""
    assert redact.text("a\x1b[31mb\u202ec\nd") == "a\\x1b[31mb\\u202ec\nd"
    huge = redact.text("x" * 2_000_000)
    assert len(huge) <= redact.MAX_CHARS and "2000000 characters in all" in huge


def test_hostile_messages_cost_linear_time() -> None:
    """Many URL-like tokens in one message are redacted in bounded CPU time (bounded patterns; quadratic took 2.4 s).

    CPU time, not wall time, so a loaded machine does not fail it.
    """
    began = time.process_time()
    for message in ("a://" * 5000, "u:" + "p@" * 10000, "x:" * 20000 + "@"):
        assert len(redact.text(message)) <= redact.MAX_CHARS
    assert time.process_time() - began < 1.0


def test_an_excerpt_is_one_short_line() -> None:
    """excerpt() keeps a short, single-line start of a library message that quotes a file."""
    lines = "root:x:0:0:root:/root:/bin/bash\n" * 50
    piece = redact.excerpt(f"CSV parse error: Expected 3 columns, got 1: {lines}")
    assert "\n" not in piece and len(piece) <= redact.EXCERPT_CHARS
    assert piece.count("root:x:0:0") <= 2


def test_the_config_loader_records_every_var_value(tmp_path: Path) -> None:
    """A value substituted for ${VAR} anywhere in the config is masked from then on, even where no rule would find it."""
    text = (
        "monitors:\n  - name: m\n    reference: {type: histogram, path: 'ref-${REFNAME}.json'}\n"
        "    live: {type: histogram, path: live.json}\n    features: [x]\n"
    )
    config.loads(text, tmp_path / "c.yaml", {"REFNAME": "quarterly-Zx81"})
    assert redact.text("histogram file /data/ref-quarterly-Zx81.json does not exist") == (
        "histogram file /data/ref-***.json does not exist"
    )


# ---------------------------------------------------------------------------
# the boundaries


def one_monitor(folder: Path, source: str) -> Path:
    """A config of one monitor ``m`` whose reference and live are both ``source`` (YAML flow), feature x."""
    path = folder / "c.yaml"
    path.write_text(f"monitors:\n  - name: m\n    reference: {source}\n    live: {source}\n    features: [x]\n")
    return path


def check_json(capsys: pytest.CaptureFixture[str], path: Path) -> dict[str, dict[str, object]]:
    code = cli.main(["check", "-c", str(path), "--format", "json"])
    assert code == 3
    return {m["monitor"]: m for m in json.loads(capsys.readouterr().out)["monitors"]}


def test_check_hides_a_var_password_with_an_at_sign(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`postgresql+psycopg://monitor:${PGPASSWORD}@host/db` with PGPASSWORD=hunt@er2xyz: no piece of it in check's error (was ***@er2xyz)."""
    monkeypatch.setenv("PGPASSWORD", "hunt@er2xyz")
    url = "postgresql+psycopg://monitor:${PGPASSWORD}@127.0.0.1:9/db"
    error = str(check_json(capsys, one_monitor(tmp_path, f"{{type: sql, url: '{url}', table: t}}"))["m"]["error"])
    assert "cannot connect" in error
    assert "hunt" not in error and "er2xyz" not in error


def test_check_shows_no_lines_of_a_wrong_file_and_no_megabyte_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A data path pointing at a system-like file shows at most a short excerpt; a 200 k-edge histogram error is cut to MAX_CHARS (was 1.9 MB)."""
    lines = [f"user{i}:x:{i}:{i}:User {i}:/home/user{i}:/bin/bash" for i in range(40)]
    (tmp_path / "passwd").write_text("\n".join(lines) + "\n", encoding="utf-8")
    edges = list(range(200_000))
    big = {"x": {"kind": "numeric", "edges": edges, "counts": [1] * (len(edges) + 1), "missing": 0}}
    small = {"x": {"kind": "numeric", "edges": [0, 1, 2], "counts": [1, 2, 3, 4], "missing": 0}}
    for name, features in (("big.json", big), ("small.json", small)):
        (tmp_path / name).write_text(json.dumps({"format": "driftmon.histograms/v1", "features": features}))
    (tmp_path / "c.yaml").write_text(
        "monitors:\n"
        "  - name: passwd\n    reference: {type: file, path: passwd, format: csv}\n"
        "    live: {type: file, path: passwd, format: csv}\n    features: [x]\n"
        "  - name: big\n    reference: {type: histogram, path: small.json}\n"
        "    live: {type: histogram, path: big.json}\n    features: [x]\n",
        encoding="utf-8",
    )
    results = check_json(capsys, tmp_path / "c.yaml")
    passwd_error = str(results["passwd"]["error"])
    assert "not found" in passwd_error
    assert "user1:" not in passwd_error and len(passwd_error) < 400
    big_error = str(results["big"]["error"])
    assert "edges" in big_error and len(big_error) <= redact.MAX_CHARS


def test_log_lines_are_redacted_fields_messages_and_uncaught_exceptions() -> None:
    """Every field, the message and an uncaught thread exception pass through redaction in the log formatter."""
    stream = io.StringIO()
    logs.setup("info", "json", stream)
    redact.remember(["l0g-s3cret-value"])
    logger = logging.getLogger("driftmon.test")
    logs.event(
        logger,
        "failed for l0g-s3cret-value",
        error="postgresql://u:l0g-s3cret-value@h/db",
        paths=["a", "l0g-s3cret-value"],
    )

    thread = threading.Thread(target=lambda: (_ for _ in ()).throw(RuntimeError("boom l0g-s3cret-value")))
    thread.start()
    thread.join()
    text = stream.getvalue()
    assert "l0g-s3cret-value" not in text
    lines = [json.loads(line) for line in text.splitlines()]
    assert lines[0]["error"] == "postgresql://u:***@h/db"
    assert any(line["msg"] == "uncaught exception" and "boom" in line["error"] for line in lines)


# ---------------------------------------------------------------------------
# every secret driftmon knows, in every form it sends it


def test_a_known_secret_is_masked_in_every_form_it_is_sent() -> None:
    """A password or token is masked raw, in any letter case, percent-encoded, and as the base64 of user:password of a Basic header."""
    redact.remember_credentials("monitor", "Tr0ub4dor&3x")
    basic = base64.b64encode(b"monitor:Tr0ub4dor&3x").decode()
    message = f"raw Tr0ub4dor&3x lower tr0ub4dor&3x upper TR0UB4DOR&3X url {quote('Tr0ub4dor&3x')} header Basic {basic} cut {basic.rstrip('=')}"
    masked = redact.text(message)
    assert masked == "raw *** lower *** upper *** url *** header Basic *** cut ***", masked


def test_a_literal_password_with_an_at_sign_does_not_leak_its_tail(tmp_path: Path) -> None:
    """`monitor:hunt@er2@host` written in the config: the driver's 'er2@127.0.0.1' shows as '***@127.0.0.1' (the tail was shown)."""
    url = "postgresql+psycopg://monitor:hunt@er2@127.0.0.1:9/db"
    config.load(one_monitor(tmp_path, f"{{type: sql, url: '{url}', table: t}}"))
    assert redact.text("failed to resolve host 'er2@127.0.0.1'") == "failed to resolve host '***@127.0.0.1'"
    assert "hunt" not in redact.text("password authentication failed: hunt")


def test_secret_files_and_literal_keys_of_the_config_are_secrets(tmp_path: Path) -> None:
    """The contents of password_file and bearer_token_file, a literal basic_auth password and a DSN's password= are masked from the config's load on."""
    (tmp_path / "pw").write_text("Fi1e-Passw0rd\n")
    (tmp_path / "token").write_text("t0ken-from-fi1e\n")
    text = (
        "monitors:\n  - name: m\n"
        "    reference: {type: prometheus, url: 'http://127.0.0.1:9', window: 1h, basic_auth: {username: u, password_file: pw}}\n"
        "    live: {type: prometheus, url: 'http://127.0.0.1:9', window: 1h, bearer_token_file: token}\n"
        "    features: [x]\n"
        "  - name: n\n"
        "    reference: {type: prometheus, url: 'http://127.0.0.1:9', window: 1h, basic_auth: {username: v, password: L1teral-pw}}\n"
        "    live: {type: sql, url: 'duckdb:///:memory:', query: \"SELECT * FROM postgres_scan('host=db password=Dsn-s3cret', 'p', 't')\"}\n"
        "    features: [x]\n"
    )
    config.loads(text, tmp_path / "c.yaml", {})
    basic = base64.b64encode(b"u:Fi1e-Passw0rd").decode()
    message = f"bad credentials Basic {basic}; Bearer t0ken-from-fi1e; L1teral-pw; quoted 'Dsn-s3cret'"
    assert redact.text(message) == "bad credentials Basic ***; Bearer ***; ***; quoted '***'"


def test_a_duckdb_query_is_masked_before_it_is_cut(tmp_path: Path) -> None:
    """A ${VAR} secret that straddles the 80-character cut of the query shown in messages: no part of it is shown (12 of 16 characters were)."""
    from driftmon.sources.sql import SqlSource, SqlSourceConfig

    query = "SELECT * FROM read_csv('missing.csv') WHERE a_long_column_name = 'Q7x-${S}'"
    redact.remember(["Zq8Wm3Rt5Yp2Kd6H"])
    source = SqlSource(
        SqlSourceConfig(type="sql", url="duckdb:///:memory:", query=query.replace("${S}", "Zq8Wm3Rt5Yp2Kd6H")), tmp_path
    )
    shown = source.describe()
    assert "Zq8W" not in shown and "Q7x-***" in shown, shown


def test_a_secret_duckdb_lowercases_is_masked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """DuckDB quotes a collation name lowercased ('Collation with name … does not exist'): the ${VAR} secret is masked all the same."""
    monkeypatch.setenv("COLL", "MiXeDCaseSecret9")
    query = "SELECT x::VARCHAR COLLATE ${COLL} AS x FROM range(3) t(x)"
    path = one_monitor(tmp_path, f"{{type: sql, url: 'duckdb:///:memory:', query: \"{query}\"}}")
    code = cli.main(["check", "-c", str(path), "--format", "json"])
    captured = capsys.readouterr()
    assert code == 3
    assert "ollation with name *** does not exist" in captured.out + captured.err, captured.err
    assert "mixedcasesecret9" not in (captured.out + captured.err).lower()
