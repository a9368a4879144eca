"""Deferred imports: pandas is loaded only when used, and safely from many threads at once."""

from __future__ import annotations

import subprocess
import sys

# `driftmon check --format json` of {config} in this process; `out` holds its output.
_CHECK = """
import io, json, sys, contextlib
from driftmon.cli import main
with contextlib.redirect_stdout(io.StringIO()) as out:
    status = main(["check", "-c", {config!r}, "--format", "json"])
assert status in (0, 1), (status, out.getvalue())
"""


def test_parquet_check_path_does_not_import_pandas_until_used() -> None:
    """Importing the CLI, evaluation and daemon leaves pandas unimported; first use imports it in every thread."""
    code = """
import sys, threading
import driftmon.cli, driftmon.evaluate, driftmon.daemon, driftmon.histogram as h
assert 'pandas' not in sys.modules, 'pandas imported at start-up'
seen = []
def use():
    seen.append(h.pd.Series([1, 2]).sum())
threads = [threading.Thread(target=use) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
assert seen == [3] * 8, seen
assert 'pandas' in sys.modules
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_check_on_parquet_never_imports_pandas(tmp_path) -> None:
    """`driftmon check` on Parquet reads and bins through Arrow alone: pandas, HTTP and Prometheus
    libraries, scikit-learn, DuckDB, PySpark and the model, joint-drift, segment and daemon code are
    never imported (a plain file monitor needs none of them)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(1)
    for name, rows in (("ref.parquet", 3000), ("live.parquet", 1000)):
        x = rng.normal(0, 1, rows)
        x[::50] = np.nan
        nulls = pd.array(rng.normal(0, 1, rows), dtype="Float64")
        nulls[::7] = pd.NA  # Parquet nulls (not NaN): read through the validity bitmap
        frame = pd.DataFrame({"x": x, "y": nulls, "city": rng.choice(["a", "b", "c", None], rows)})
        frame.to_parquet(tmp_path / name, index=False)
    (tmp_path / "c.yaml").write_text(
        "monitors:\n  - name: m\n    reference: {type: file, path: ref.parquet}\n"
        "    live: {type: file, path: live.parquet}\n    features: [x, y, city]\n"
    )
    code = (
        _CHECK.format(config=str(tmp_path / "c.yaml"))
        + """
assert '"status": "error"' not in out.getvalue(), out.getvalue()
assert "pandas" not in sys.modules, "pandas was imported"
unneeded = (
    "pyarrow.compute", "prometheus_client", "urllib.request", "jinja2", "cheroot", "apscheduler", "scipy",
    "sklearn", "duckdb", "pyspark", "psycopg", "sqlalchemy",
    "driftmon.model", "driftmon.joint", "driftmon.multivariate", "driftmon.segments", "driftmon.daemon",
    "driftmon.pages", "driftmon.exporter", "driftmon.web",
)
for name in unneeded:
    assert name not in sys.modules, name + " was imported (check on files never needs it)"
"""
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_check_with_a_textfile_never_imports_the_daemon(tmp_path) -> None:
    """`driftmon check --textfile` on an interval schedule takes the period from the schedule: neither the daemon nor APScheduler is imported."""
    (tmp_path / "ref.csv").write_text("x\n" + "\n".join(str(i % 7) for i in range(200)) + "\n")
    (tmp_path / "live.csv").write_text("x\n" + "\n".join(str(i % 5) for i in range(200)) + "\n")
    (tmp_path / "c.yaml").write_text(
        "monitors:\n  - name: m\n    schedule: 1h\n    reference: {type: file, path: ref.csv}\n"
        "    live: {type: file, path: live.csv}\n    features: [x]\n"
    )
    code = f"""
import io, sys, contextlib
from driftmon.cli import main
with contextlib.redirect_stdout(io.StringIO()) as out:
    status = main(["check", "-c", {str(tmp_path / "c.yaml")!r}, "--textfile", {str(tmp_path / "m.prom")!r}])
assert status in (0, 1), (status, out.getvalue())
for unneeded in ("driftmon.daemon", "apscheduler"):
    assert unneeded not in sys.modules, unneeded + " was imported (a textfile needs only the schedule's period)"
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert 'driftmon_schedule_interval_seconds{monitor="m"} 3600.0' in (tmp_path / "m.prom").read_text()


def test_no_import_cycle_among_driftmon_modules() -> None:
    """No cycle of module-level imports inside driftmon/ (imports inside functions, and
    imports only for type checking, are deferred and do not count)."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "driftmon"
    modules = {
        ".".join(path.relative_to(root.parent).with_suffix("").parts).removesuffix(".__init__"): path
        for path in root.rglob("*.py")
    }
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found: set[str] = set()
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")
                    base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
                targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
            # A package is initialised before its modules: a module naming its own package
            # (``from . import x``) depends on ``x``, not on the package.
            found |= {t for t in targets if t in modules and t != name and not name.startswith(f"{t}.")}
        graph[name] = found

    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(name: str) -> None:
        state[name] = 1
        stack.append(name)
        for target in sorted(graph[name]):
            if state.get(target) == 1:
                cycles.append([*stack[stack.index(target) :], target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name)
    assert len(graph) > 50
    assert cycles == []


def test_no_module_is_over_600_lines() -> None:
    """A module over 600 lines holds more than one concept: split it at the seam (docs/development.md)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "driftmon"
    long = {str(p.relative_to(root)): n for p in root.rglob("*.py") if (n := len(p.read_text().splitlines())) > 600}
    assert long == {}


def test_check_of_a_model_imports_no_scikit_learn(tmp_path) -> None:
    """`driftmon check` of a binary model with labels in its Parquet rows calibrates and scores
    in numpy: scikit-learn and scipy are never imported (they cost `check` about 1 s)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(2)
    for name, rows in (("ref.parquet", 3000), ("live.parquet", 2000)):
        p = rng.random(rows)
        label = (rng.random(rows) < p).astype(float)
        pd.DataFrame({"x": rng.normal(0, 1, rows), "p": p, "predicted": (p >= 0.5).astype(int), "y": label}).to_parquet(
            tmp_path / name, index=False
        )
    (tmp_path / "c.yaml").write_text(
        "monitors:\n  - name: m\n    reference: {type: file, path: ref.parquet}\n"
        "    live: {type: file, path: live.parquet}\n    features: [x]\n"
        "    model: {task: binary, prediction: predicted, score: p, target: y}\n"
    )
    code = (
        _CHECK.format(config=str(tmp_path / "c.yaml"))
        + """
model = json.loads(out.getvalue())["monitors"][0]["model"]
assert model["estimated"]["values"]["roc_auc"] > 0.5, model
for unneeded in ("sklearn", "scipy"):
    assert unneeded not in sys.modules, unneeded + " was imported (a model never needs it)"
"""
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_joint_drift_never_imports_scikit_learn(tmp_path) -> None:
    """`check` on Parquet with `multivariate:` samples the rows through Arrow and never imports
    pandas, scikit-learn or scipy, the classifier included: its trees are numpy
    (driftmon.boosting; scikit-learn's import alone cost `check` 1.5 s of CPU). (Before the
    Parquet sample, its rows reached joint drift as pandas frames.)"""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(2)
    for name in ("ref.parquet", "live.parquet"):
        a = rng.normal(size=600)
        city = rng.choice(np.array(["a", "b", "c"], dtype=object), 600)
        pq.write_table(pa.table({"a": a, "b": a + rng.normal(size=600), "city": city}), tmp_path / name)
    for methods in ("[reconstruction]", "[reconstruction, classifier]"):
        (tmp_path / "c.yaml").write_text(
            "monitors:\n  - name: m\n    reference: {type: file, path: ref.parquet}\n"
            "    live: {type: file, path: live.parquet}\n    features: [a, b, city]\n"
            f"    multivariate: {{methods: {methods}}}\n"
        )
        code = f"""
import io, json, sys, contextlib
from driftmon.cli import main
with contextlib.redirect_stdout(io.StringIO()) as out:
    status = main(["check", "-c", {str(tmp_path / "c.yaml")!r}, "--format", "json"])
methods = json.loads(out.getvalue())["monitors"][0]["multivariate"]["methods"]
assert all(m["score"] is not None for m in methods.values()), methods
for unneeded in ("pandas", "sklearn", "scipy"):
    assert unneeded not in sys.modules, (unneeded, methods)
"""
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, (methods, result.stderr)
