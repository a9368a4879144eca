"""What every fuzz case checks, and the strategies that make the cases.

A case is a config file (and the data files it names) run through the real command line,
in-process: ``driftmon check --format json`` (and ``validate``). Whatever the input, the
outcome must be one of the documented ones:

- exit code 0, 1, 2 or 3 and nothing else; never a traceback, never "internal error";
- 2 (bad config): nothing on stdout, one ``driftmon: error:`` report on stderr;
- 0, 1, 3: exactly one JSON document on stdout, and the code agrees with it (3 when a
  monitor's status is ``error``, else 1 when one is ``critical``, else 0); a failed
  monitor's error is one line;
- no case takes longer than ``CASE_SECONDS`` (hypothesis' deadline, judged once the case
  ends); one still running after ``HANG_SECONDS`` is interrupted and fails as a hang, with the
  stack it was stuck in.

Cases run in-process (``driftmon.cli.main`` with stdout and stderr captured: about 50 ms
where a new process costs seconds of imports); every ``DRIFTMON_FUZZ_SUBPROCESS_EVERY``-th
case (default ``SUBPROCESS_EVERY``) also runs ``python -m driftmon check`` as a real process,
whose outcome must be sane too and agree with the in-process one on whether the config is
valid, so the real entry point (argument parsing, exit status, signals) stays covered.

The budget: ``DRIFTMON_FUZZ_EXAMPLES`` examples per target (default ``QUICK_EXAMPLES``,
part of the normal test run); ``tests/fuzz/run_long.py`` runs the long campaign. Cases
are derandomized (the same examples on every run) unless ``DRIFTMON_FUZZ_SEED`` is set.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import threading
import traceback
import warnings
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import yaml
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from driftmon.cli import main

QUICK_EXAMPLES = 200
CASE_SECONDS = 20.0
HANG_SECONDS = float(os.environ.get("DRIFTMON_FUZZ_HANG_SECONDS", 300))
SUBPROCESS_EVERY = int(os.environ.get("DRIFTMON_FUZZ_SUBPROCESS_EVERY", 200))  # the campaign: 50
_CASES = itertools.count(1)
STATUSES = {"ok", "warning", "critical", "insufficient_data", "error"}
OUTCOMES: Counter[str] = Counter()  # "check exit N" per case run in this process (run_long.py reports it)


def fuzz_settings(quick: int = QUICK_EXAMPLES) -> settings:
    """Hypothesis settings for a fuzz target: fixed budget (``quick`` examples in the normal
    test run), fixed examples, a deadline per case."""
    examples = int(os.environ.get("DRIFTMON_FUZZ_EXAMPLES", quick))
    seed = os.environ.get("DRIFTMON_FUZZ_SEED")
    # A campaign on a loaded machine sets DRIFTMON_FUZZ_DEADLINE=none: a slow case is then no
    # finding (a hang still is: HANG_SECONDS).
    deadline = os.environ.get("DRIFTMON_FUZZ_DEADLINE", str(CASE_SECONDS))
    return settings(
        max_examples=examples,
        deadline=None if deadline == "none" else timedelta(seconds=float(deadline)),
        derandomize=seed is None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
        print_blob=True,
    )


class CaseHang(BaseException):
    """A case ran past HANG_SECONDS (a BaseException: driftmon's ``except Exception`` must not
    turn it into an "internal error")."""


@contextlib.contextmanager
def case_deadline(seconds: float | None = None) -> Iterator[None]:
    """Interrupt the case (SIGALRM, main thread only) once it has run ``seconds`` (default HANG_SECONDS)."""
    seconds = HANG_SECONDS if seconds is None else seconds
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def expired(signum: int, frame: Any) -> None:
        raise CaseHang(f"the case ran over {seconds:.0f} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_cli(*args: str, hang_seconds: float | None = None) -> tuple[int, str, str]:
    """``driftmon ARGS`` in-process: (exit code, stdout, stderr); a hang (``hang_seconds``,
    default HANG_SECONDS) fails the case with the stack it was stuck in."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numpy's RuntimeWarnings are not outcomes
        try:
            with case_deadline(hang_seconds):
                code = main(list(args))
        except SystemExit as exit_:  # argparse
            code = exit_.code if isinstance(exit_.code, int) else 2
        except CaseHang:
            OUTCOMES["hang"] += 1
            raise AssertionError(f"hang: driftmon {' '.join(args)}\n{traceback.format_exc()}") from None
    return code, out.getvalue(), err.getvalue()


def run_process(*args: str, cwd: Path) -> tuple[int, str, str]:
    """``python -m driftmon ARGS`` as a real process: (exit code, stdout, stderr)."""
    done = subprocess.run(
        [sys.executable, "-m", "driftmon", *args], capture_output=True, text=True, timeout=HANG_SECONDS, cwd=cwd
    )
    return done.returncode, done.stdout, done.stderr


def assert_sane(code: int, out: str, err: str, *, command: str = "check") -> dict[str, Any] | None:
    """The documented outcomes only (module docstring); returns the JSON document if any."""
    for stream in (out, err):
        assert "Traceback" not in stream, stream
        assert "internal error" not in stream, stream
        assert "please report it" not in stream, stream
    if command == "validate":
        assert code in (0, 2), (code, err)
        assert err == "" or err.startswith(("driftmon: error: ", "driftmon: warning: ")), err
        if code == 2:
            assert err.startswith("driftmon: error: ") or "\ndriftmon: error: " in err, err
        return None
    assert code in (0, 1, 2, 3), (code, out, err)
    if code == 2:
        assert out == "", out
        assert err.startswith("driftmon: error: "), err
        return None
    document = json.loads(out)
    statuses = [m["status"] for m in document["monitors"]]
    assert set(statuses) <= STATUSES, statuses
    expected = 3 if "error" in statuses else 1 if "critical" in statuses else 0
    assert code == expected, (code, statuses, document)
    for monitor in document["monitors"]:
        if monitor["status"] == "error":
            assert isinstance(monitor["error"], str) and monitor["error"], monitor
            assert "\n" not in monitor["error"], monitor["error"]
        for feature in monitor["features"]:
            for value in feature["scores"].values():
                assert value == "+Inf" or (isinstance(value, int | float) and math.isfinite(value)), feature
    return dict(document)


def keep_case(folder: Path) -> None:
    """Copy a case's files to ``$DRIFTMON_FUZZ_KEEP`` before it runs: a crash of the process
    (a segfault in a native reader) leaves its input on disk."""
    keep = os.environ.get("DRIFTMON_FUZZ_KEEP")
    if keep:
        shutil.rmtree(keep, ignore_errors=True)
        shutil.copytree(folder, keep, symlinks=True)


def check(config_path: Path) -> dict[str, Any] | None:
    """Run ``validate`` and ``check`` on a config and assert both outcomes are sane and agree."""
    keep_case(config_path.parent)
    code, out, err = run_cli("validate", "-c", str(config_path))
    assert_sane(code, out, err, command="validate")
    # validate also fails a config whose files are missing ("not usable"); check then fails the evaluation (3).
    unusable = code == 2 and "not usable" in out
    valid = code == 0 or unusable
    code, out, err = run_cli("check", "-c", str(config_path), "--format", "json")
    document = assert_sane(code, out, err)
    OUTCOMES[f"check exit {code}"] += 1
    OUTCOMES["target " + os.environ.get("PYTEST_CURRENT_TEST", "?").split("::")[-1].split(" ")[0]] += 1
    if code == 3 and document is not None:
        errors = [m["error"] for m in document["monitors"] if m["error"]]
        OUTCOMES["error: " + _kind_of_error(errors[0])] += 1
    assert (code != 2) == valid, ("validate and check disagree about the config", code, err)
    # An unusable source fails the evaluation, or (a feature missing from the live side) is a
    # critical schema anomaly: validate calls it an error, check evaluates the rest (docs/quality.md).
    assert not unusable or code == 3 or (code == 1 and _schema_critical(document)), (
        "validate found an unusable source but check did not fail",
        code,
    )
    if SUBPROCESS_EVERY and next(_CASES) % SUBPROCESS_EVERY == 0:
        real, out, err = run_process("check", "-c", str(config_path), "--format", "json", cwd=config_path.parent)
        assert_sane(real, out, err)
        assert (real == 2) == (code == 2), ("the real process and the in-process call disagree", real, code, err)
        OUTCOMES["subprocess cases"] += 1
    return document


def _schema_critical(document: dict[str, Any] | None) -> bool:
    """Whether a monitor of ``document`` has a critical schema anomaly."""
    monitors = (document or {}).get("monitors", [])
    return any(((m.get("quality") or {}).get("schema") or {}).get("severity") == "critical" for m in monitors)


def _kind_of_error(message: str) -> str:
    """A failed evaluation's message without paths and values, to tally the kinds seen."""
    import re

    text = re.sub(r"/[^\s:,)]+", "PATH", message)
    text = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", text)
    text = re.sub(r"-?\d[\d.e+-]*", "N", text)
    return text[:90]


# ---------------------------------------------------------------------------
# values

ODD_TEXT = st.sampled_from(
    ["", " ", "NaN", "nan", "inf", "-inf", "Infinity", "null", "None", "true", "1e308", "-0", "0x10", "1,5",
     "__other__", "__unseen__", "__missing__", "${X}", "é", "\u2028", "a\tb", "\"", "'", ",", "\n"]
)
FLOATS = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(
    [0.0, -0.0, 1e308, -1e308, 5e-324, 1e15, 1e16, 2.0**53 + 1]
)
INTS = st.integers(min_value=-(2**63), max_value=2**63 - 1) | st.integers(min_value=-(2**70), max_value=2**70)
SCALARS = st.none() | st.booleans() | INTS | FLOATS | st.text(max_size=12) | ODD_TEXT


def column_values(draw: Any, size: int) -> list[Any]:
    """One column's values: of one kind (numbers, text, booleans, times) or a mix, with nulls."""
    kind = draw(st.sampled_from(["float", "int", "text", "bool", "mixed", "time", "small", "nested"]))
    element = {
        "float": FLOATS,
        "int": st.integers(min_value=-(2**63), max_value=2**63 - 1),
        "text": st.text(max_size=8) | ODD_TEXT,
        "bool": st.booleans(),
        "mixed": SCALARS,
        "nested": st.lists(SCALARS, max_size=2) | st.dictionaries(st.text(max_size=3), SCALARS, max_size=2),
        "time": st.datetimes(),
        "small": st.sampled_from([0, 1, 2, 3, 2.5]),
    }[kind]
    values = draw(st.lists(st.none() | element, min_size=size, max_size=size))
    return values


# ---------------------------------------------------------------------------
# files


def write_frame(frame: pd.DataFrame, path: Path, fmt: str) -> bool:
    """Write ``frame`` as csv, jsonl or parquet; False when pandas/Arrow cannot write it at all
    (such a file cannot exist, so it is no case)."""
    try:
        if fmt == "csv":
            frame.to_csv(path, index=False)
        elif fmt == "jsonl":
            frame.to_json(path, orient="records", lines=True, date_format="iso", default_handler=str)
        else:
            frame.to_parquet(path, index=False)
    except (ValueError, TypeError, OverflowError, ArithmeticError, NotImplementedError, pa.ArrowException):
        # Arrow cannot type a mix of values, or write an empty struct: no such file can exist
        path.unlink(missing_ok=True)
        return False
    return True


def reference_frame(rows: int = 200, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "x": rng.normal(0, 1, rows),
            "c": rng.choice(["a", "b", "c"], rows),
        }
    )


def monitor_config(reference: dict[str, Any], live: dict[str, Any], features: Any, **extra: Any) -> str:
    monitor = {"name": "m", "reference": reference, "live": live, "features": features, **extra}
    return yaml.safe_dump({"monitors": [monitor]}, sort_keys=False, allow_unicode=True)
