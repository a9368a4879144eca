"""The command line: output formats, exit codes 0/1/2/3, and errors without tracebacks."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from driftmon import __version__
from driftmon.cli import main
from driftmon.histogram_file import FORMAT

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "config" / "driftmon.example.yaml"


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "driftmon", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        cwd=REPO,
    )


def small_monitor(tmp_path: Path, live_shift: float = 0.0) -> Path:
    rng = np.random.default_rng(3)
    pd.DataFrame({"x": rng.normal(0, 1, 3000)}).to_csv(tmp_path / "ref.csv", index=False)
    pd.DataFrame({"x": rng.normal(live_shift, 1, 1000)}).to_csv(tmp_path / "live.csv", index=False)
    path = tmp_path / "c.yaml"
    path.write_text(
        "monitors:\n"
        "  - name: small\n"
        "    reference: {type: file, path: ref.csv}\n"
        "    live: {type: file, path: live.csv}\n"
        "    features: [x]\n"
    )
    return path


def test_version_and_module_entry_point() -> None:
    """`python -m driftmon --version` prints the package version."""
    result = run("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"driftmon {__version__}"


def test_check_example_json_document_and_exit_code() -> None:
    """`check --format json` on the example prints one document of docs/operations.md's shape and exits 1 (drift at critical)."""
    result = run("check", "-c", str(EXAMPLE), "--format", "json")
    assert result.returncode == 1, result.stderr
    document = json.loads(result.stdout)
    monitors = {m["monitor"]: m for m in document["monitors"]}
    assert monitors["credit-model"]["status"] == "critical"
    assert monitors["fraud-model"]["status"] == "ok"
    feature = monitors["credit-model"]["features"][0]
    assert set(feature) >= {"feature", "kind", "reference_count", "live_count", "unseen_fraction", "scores", "severity"}
    assert set(feature["scores"]) == {"kl", "js", "psi", "hellinger"}
    drifted = {f["feature"] for f in monitors["credit-model"]["features"] if "critical" in f["severity"].values()}
    assert {"income", "country", "utilisation"} <= drifted
    assert "age" not in drifted and "device" not in drifted


def test_check_table_and_exit_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The table names every feature and measure; with no drift the exit code is 0."""
    code = main(["check", "-c", str(small_monitor(tmp_path))])
    out = capsys.readouterr().out
    assert code == 0
    assert "monitor small: ok" in out
    assert "x" in out and "kl" in out and "psi" in out


def test_check_critical_exits_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A feature at critical makes check exit 1 and is marked in the table."""
    code = main(["check", "-c", str(small_monitor(tmp_path, live_shift=2.0))])
    assert code == 1
    assert "!!" in capsys.readouterr().out


def test_check_failed_evaluation_exits_three(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A monitor whose live file is missing fails: exit 3 and the error names the file."""
    config = small_monitor(tmp_path)
    (tmp_path / "live.csv").unlink()
    code = main(["check", "-c", str(config), "--format", "json"])
    document = json.loads(capsys.readouterr().out)
    assert code == 3
    assert document["monitors"][0]["status"] == "error"
    assert "live.csv does not exist" in document["monitors"][0]["error"]


def test_bad_config_exits_two_without_traceback(tmp_path: Path) -> None:
    """validate and check on a bad config exit 2 with the key path and no traceback."""
    config = small_monitor(tmp_path)
    config.write_text(config.read_text().replace("features:", "featurs:"))
    for command in ("validate", "check"):
        result = run(command, "-c", str(config))
        assert result.returncode == 2
        assert "monitors[0].featurs" in result.stderr and "did you mean 'features'" in result.stderr
        assert "Traceback" not in result.stderr


def test_validate_ok_and_config_from_environment(tmp_path: Path) -> None:
    """validate exits 0 on a good config, found through DRIFTMON_CONFIG."""
    result = run("validate", env={"DRIFTMON_CONFIG": str(small_monitor(tmp_path))})
    assert result.returncode == 0 and "valid" in result.stdout


def test_unknown_monitor_and_usage_errors_exit_two(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown --monitor and a missing -c are usage errors (exit 2)."""
    assert main(["check", "-c", str(small_monitor(tmp_path)), "--monitor", "nope"]) == 2
    assert "no monitor named 'nope'" in capsys.readouterr().err
    env = os.environ.pop("DRIFTMON_CONFIG", None)
    try:
        assert main(["validate"]) == 2
    finally:
        if env is not None:
            os.environ["DRIFTMON_CONFIG"] = env
    with pytest.raises(SystemExit) as caught:
        main(["check", "--format", "xml"])
    assert caught.value.code == 2


def test_profile_writes_histogram_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """profile writes a driftmon.histograms/v1 histogram file of the monitor's reference."""
    out = tmp_path / "ref.json"
    code = main(["profile", "-c", str(small_monitor(tmp_path)), "--monitor", "small", "-o", str(out)])
    assert code == 0
    document = json.loads(out.read_text())
    assert document["format"] == FORMAT
    assert sum(document["features"]["x"]["counts"]) == 3000
    assert len(document["features"]["x"]["counts"]) == len(document["features"]["x"]["edges"]) + 1


def test_schema_is_json_schema(capsys: pytest.CaptureFixture[str]) -> None:
    """schema prints a JSON Schema whose monitors items require name, reference, live and features."""
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert set(schema["$defs"]["Monitor"]["required"]) == {"name", "reference", "live", "features"}


def test_readme_reference_table_is_current(capsys: pytest.CaptureFixture[str]) -> None:
    """The config reference (docs/configuration.md) is exactly what `driftmon schema --markdown` generates."""
    assert main(["schema", "--markdown"]) == 0
    table = capsys.readouterr().out.strip()
    assert table in (REPO / "docs" / "configuration.md").read_text(), "run: python docs/generate.py"


def test_check_table_says_why_a_feature_is_not_judged(tmp_path: Path, write, frames) -> None:
    """`check`'s table names the reason of every insufficient_data feature."""
    import io

    from driftmon import table
    from driftmon.evaluate import evaluate
    from tests.test_evaluate import setup

    reference, live = frames
    result = evaluate(setup(tmp_path, write, reference.iloc[:0], live, features="[x]", ref_name="ref.csv"))
    out = io.StringIO()
    table.write([result], out)
    assert "x: not judged: the reference has no rows" in out.getvalue()


@pytest.mark.parametrize("command", ["check", "validate", "run"])
@pytest.mark.parametrize(
    "text",
    [
        "monitors: " + "[" * 5000 + "]" * 5000 + "\n",
        "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
        "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
        "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
        "monitors: *f\n",
    ],
    ids=["deep", "aliases"],
)
def test_hostile_yaml_exits_two_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, text: str
) -> None:
    """Deep nesting and alias bombs exit 2 (bad config), never 1 (which scripts read as critical drift)."""
    path = tmp_path / "hostile.yaml"
    path.write_text(text)
    assert main([command, "-c", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"driftmon: error: {path}:") and "invalid YAML" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_run_refuses_a_schedule_it_cannot_hold(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`run` with `schedule: 99999999999999d` exits 2 with the config error, not an OverflowError traceback."""
    path = small_monitor(tmp_path)
    path.write_text(path.read_text() + "    schedule: 99999999999999d\n")
    assert main(["run", "-c", str(path), "--web.listen-address", "127.0.0.1:0"]) == 2
    err = capsys.readouterr().err
    assert "monitors[0].schedule" in err and "between 1s and 365d" in err and "Traceback" not in err


def test_an_unexpected_error_exits_three_not_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug escaping a subcommand is one line and exit 3 (evaluation failed), never Python's 1."""
    from driftmon import config

    def broken(*args: object, **kwargs: object) -> None:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(config, "load", broken)
    assert main(["validate", "-c", str(small_monitor(tmp_path))]) == 3
    err = capsys.readouterr().err
    assert err == "driftmon: error: internal error (RecursionError: maximum recursion depth exceeded); please report it\n"


def test_check_table_names_the_top_movers_of_each_drifted_feature() -> None:
    """The table gets one 'what moved' line per drifted feature: the bins that moved most with shares and their term, and the unseen bin with the new values by name; undrifted features get none."""
    result = run("check", "-c", str(EXAMPLE))
    assert result.returncode == 1, result.stderr
    lines = result.stdout.split("what moved (reference → live share):\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert [line.split()[0] for line in lines] == ["income", "country", "utilisation"]
    assert re.search(r"^    income +\[[\d.]+, [\d.]+\]: 10\.0% → 23\.6% \(\+0\.02 bits of js\); ", lines[0])
    assert '__unseen__ 0% → 3.1%: "MX" 3.1%' in lines[1]


def test_report_writes_one_html_file_with_check_exit_codes(tmp_path: Path) -> None:
    """`driftmon report` exits like check: 0 without critical drift, 1 with it, 3 when an evaluation failed, 2 for a bad config; it writes the file in every case but the last."""
    out = tmp_path / "r.html"
    calm = run("report", "-c", str(small_monitor(tmp_path)), "-o", str(out))
    assert calm.returncode == 0, calm.stderr
    text = out.read_text()
    assert text.startswith("<!DOCTYPE html>") and "Monitor small" in text and "Feature <span class=\"label\">x</span>" in text
    assert run("report", "-c", str(EXAMPLE), "-o", str(out)).returncode == 1
    broken = tmp_path / "broken.yaml"
    broken.write_text("monitors:\n  - name: b\n    reference: {type: file, path: nope.csv}\n    live: {type: file, path: nope.csv}\n    features: [x]\n")
    assert run("report", "-c", str(broken), "-o", str(tmp_path / "b.html")).returncode == 3
    assert "nope.csv" in (tmp_path / "b.html").read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text("monitors: 3\n")
    assert run("report", "-c", str(bad), "-o", str(tmp_path / "x.html")).returncode == 2
    assert not (tmp_path / "x.html").exists()


def test_profile_emit_source_prints_a_prometheus_source_that_matches_the_instrument(tmp_path: Path) -> None:
    """`profile --emit-source prometheus` prints a valid `type: prometheus` source over the metric driftmon.instrument writes."""
    import contextlib
    import io
    import textwrap

    import yaml
    from prometheus_client import CollectorRegistry

    from driftmon.instrument import Instrument
    from driftmon.sources.prometheus import PrometheusSourceConfig

    (tmp_path / "ref.csv").write_text("x,c\n" + "".join(f"{i % 7},{'ab'[i % 2]}\n" for i in range(200)))
    (tmp_path / "c.yaml").write_text(
        "monitors:\n  - name: m\n    reference: {type: file, path: ref.csv}\n"
        "    live: {type: file, path: ref.csv}\n    features: [x, c]\n"
    )
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main(["profile", "-c", str(tmp_path / "c.yaml"), "--monitor", "m",
                       "-o", str(tmp_path / "p.json"), "--emit-source", "prometheus"])
    assert status == 0
    config_lines = [line for line in out.getvalue().splitlines()[1:] if line.strip() and not line.lstrip().startswith("#")]
    snippet = yaml.safe_load(textwrap.dedent("\n".join(config_lines)))
    live = PrometheusSourceConfig.model_validate(snippet["live"])
    assert snippet["reference"] == {"type": "histogram", "path": str(tmp_path / "p.json")}
    instrument = Instrument.from_profile(tmp_path / "p.json", registry=CollectorRegistry())
    assert instrument.metric == live.metric


@pytest.mark.parametrize(("shift", "code"), [(0.0, 0), (3.0, 1)])
def test_check_process_exit_code_and_output_survive_the_fast_exit(tmp_path: Path, shift: float, code: int) -> None:
    """`python -m driftmon check` ends without interpreter teardown: its exit code and whole JSON document still arrive."""
    result = run("check", "-c", str(small_monitor(tmp_path, shift)), "--format", "json")
    assert result.returncode == code, result.stderr
    document = json.loads(result.stdout)
    assert document["monitors"][0]["status"] == ("ok" if code == 0 else "critical")
    assert result.stderr == ""


def test_check_failure_exits_3_through_the_fast_exit(tmp_path: Path) -> None:
    """A failed evaluation still exits 3 (and says why on stderr or in the document) from the console entry point."""
    config = small_monitor(tmp_path)
    (tmp_path / "live.csv").unlink()
    result = run("check", "-c", str(config), "--format", "json")
    assert result.returncode == 3
    assert "live.csv" in result.stdout + result.stderr


def test_check_in_process_leaves_the_garbage_collector_on(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """check turns the cycle collector off only while it evaluates: a caller of main() gets it back on."""
    import gc

    assert gc.isenabled()
    assert main(["check", "-c", str(small_monitor(tmp_path)), "--format", "json"]) == 0
    assert gc.isenabled()
    assert json.loads(capsys.readouterr().out)["monitors"][0]["monitor"] == "small"
