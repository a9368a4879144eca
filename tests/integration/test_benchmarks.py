"""The benchmark harness (benchmarks/run.py) runs end to end on tiny data.

No timing is asserted (speed belongs in benchmarks/README.md): only that the harness
works, and that the hand-written floor and scipy loop it races against compute the same
scores as driftmon on its data, so the benchmark compares equal jobs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def _tiny_run(tmp_path: Path, stem: Path, options: list[str]) -> dict[str, Any]:
    """benchmarks/run.py --tiny with ``options``, one repetition; its JSON results."""
    command = [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--tiny", "--repeat", "1", *options]
    command += ["--data", str(tmp_path / "data"), "--output", str(stem)]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert completed.returncode == 0, completed.stderr[-3000:]
    document: dict[str, Any] = json.loads(stem.with_suffix(".json").read_text())
    return document


def test_tiny_run_writes_tables_whose_contenders_agree_with_driftmon(tmp_path: Path) -> None:
    """A tiny run of the kernel and end-to-end workloads (Parquet, CSV, JSON Lines) writes JSON
    and Markdown results in which every contender ran and the floors and the scipy loop match
    driftmon's scores to 1e-11."""
    stem = tmp_path / "results" / "tiny"
    contenders = ["--contenders", "driftmon,floor,floor-single,scipy-loop,numpy-floor,scipy-axis"]
    document = _tiny_run(tmp_path, stem, ["--only", "c,a,a-csv,a-jsonl", *contenders])
    markdown = stem.with_suffix(".md").read_text()
    assert "## (a)" in markdown and "## (c)" in markdown

    kernel = {row["contender"]: row for row in document["workloads"]["c"]["rows"]}
    assert set(kernel) == {"driftmon", "numpy-floor", "scipy-axis", "scipy-loop"}
    for name in ("numpy-floor", "scipy-axis", "scipy-loop"):
        assert kernel[name]["runs"] >= 1
        assert kernel[name]["max_abs_diff_vs_driftmon"] < 1e-12, name

    for workload in ("a", "a-csv", "a-jsonl"):  # the same rows as Parquet, CSV and JSON Lines
        assert f"## ({workload})" in markdown
        end_to_end = {row["contender"]: row for row in document["workloads"][workload]["rows"]}
        assert end_to_end["driftmon"]["runs"] == 1
        assert end_to_end["driftmon"]["peak_rss_mb"] > 0
        for name in ("floor", "floor-single", "scipy-loop"):
            assert end_to_end[name]["runs"] == 1, (workload, end_to_end[name].get("note"))
            assert end_to_end[name]["max_abs_diff_vs_driftmon"] < 1e-11, (workload, name)
        assert len(end_to_end["driftmon"]["scores"]) == 25  # 20 numeric + 5 categorical features


def test_tiny_run_of_every_shape_floor_agrees_with_driftmon(tmp_path: Path) -> None:
    """The shape workloads with the floor's own code paths (point bins, nulls, many small files)
    run on tiny data, and the floor's scores equal driftmon's to 1e-11: the floor does the same
    job, point bins included, and with its noise floors (kl, js and psi under no drift, their
    mean below their 99 % quantile) where floor-bins has none."""
    shapes = "points,nulls,files"  # the floor's special paths: point bins, nulls, many files
    document = _tiny_run(tmp_path, tmp_path / "results" / "shapes", ["--only", shapes])
    for workload in shapes.split(","):
        rows = {row["contender"]: row for row in document["workloads"][workload]["rows"]}
        assert rows["driftmon"]["runs"] == 1 and len(rows["driftmon"]["scores"]) == 25, workload
        for name in ("floor", "floor-bins"):
            assert rows[name]["runs"] == 1, (workload, name, rows[name].get("note"))
            assert rows[name]["max_abs_diff_vs_driftmon"] < 1e-11, (workload, name)
        for feature, scores in rows["floor"]["scores"].items():
            for measure in ("kl", "js", "psi"):
                assert 0 < scores[f"{measure}_noise_floor"] < scores[f"{measure}_noise_q99"], (workload, feature)
            assert not any("noise" in key for key in rows["floor-bins"]["scores"][feature]), (workload, feature)
    assert len(list((tmp_path / "data" / "files-live").glob("*.parquet"))) == 20


def test_tiny_shift_benchmark_judges_every_case_with_driftmon(tmp_path: Path) -> None:
    """benchmarks/shifts/run.py --tiny runs every synthetic case through driftmon's default
    and auto decisions and writes its table between the README markers and its JSON."""
    readme = tmp_path / "README.md"
    readme.write_text("# shifts\n\n<!-- shift-table:begin -->\nOLD TABLE\n<!-- shift-table:end -->\n\nkept\n")
    results = tmp_path / "results.json"
    completed = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "shifts" / "run.py"),
            "--tiny",
            "--data", str(tmp_path / "data"),
            "--json", str(results),
            "--readme", str(readme),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-3000:]
    document = json.loads(results.read_text())
    assert document["tiny"] is True
    assert document["driftmon_defaults"]["settings"]["thresholds"]  # read from the installed package
    rows = document["rows"]
    assert len(rows) == len(document["cases"]) >= 15
    for row in rows:
        for decision in ("default", "auto"):
            assert row[decision]["severity"] in {"ok", "warning", "critical", "insufficient_data"}, row
        assert row["expected"] in {"drift", "no drift"}
    text = readme.read_text()
    assert "OLD TABLE" not in text and text.rstrip().endswith("kept")
    assert "| binary 50→60 % |" in text


def test_peak_rss_is_the_contenders_own_not_the_harness_memory(tmp_path: Path) -> None:
    """A contender's peak RSS does not include what the harness itself holds: Linux carries
    the parent's high-water mark into a forked child's ru_maxrss across exec, so a harness
    holding 400 MB would report every contender at >= 400 MB."""
    import numpy as np

    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import run as harness
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    held = np.ones(400_000_000 // 8)  # touched: 400 MB resident in this process
    spec = {"contender": "bandwidth", "bytes": 1 << 23, "repeat": 1}
    result = harness.run_contender(sys.executable, spec, 120.0, tmp_path)
    assert result.ok, result.error
    assert held.sum() == held.size
    assert 10 < result.maxrss_mb < 300, result.maxrss_mb  # numpy + 8 MB: well under 300 MB
