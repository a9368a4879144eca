#!/usr/bin/env python3
"""Small windows: which real shifts does each decision catch at 500, 1,000 and 2,000 live rows?

``nice -n 10 .venv/bin/python benchmarks/shifts/small_windows.py`` (about 25 minutes on 2
cores at load average 20, most of it the peers; their decisions are reused while the
windows are the same, so a re-run after a driftmon change takes about 5; the peers'
python is ``DRIFTMON_PEERS_PYTHON`` or benchmarks/.venv-peers). The data is NannyML's own
(inside its wheel, exported by
``peers.py export-small``): the ACS census of Massachusetts (16 features) and the
data-quality car loans (7 features, with nulls that move) side by side, so a monitor has
23 features, as deployed monitors often do. The reference is 50,000 rows of each (census
2015; the car-loan reference). The live segments are NannyML's 10 analysis chunks of each
data set (rows as stored) and three mixtures of a calm chunk (1) and a drifted one (census
7, car loans 8) at 30, 50 and 70 % (they give shifts of 5-8 points, which whole chunks
rarely do); each is sub-sampled (without replacement, fixed seeds, the mixtures
stratified) to 500, 1,000 and 2,000 rows, three windows per segment and size: 117
monitors, 2,691 cells (a cell is one feature of one window).

**Ground truth** is the shift of the whole segment against the whole reference (what the
window samples; a mixture weights its chunks), per feature, with the yardstick of issue 23:

- *meaningful*: a share moved by at least 5 points: a category's (nulls are a value), or,
  for a numeric feature with more than 20 values, a reference decile's or the null share;
  or, for numeric features, a standardised mean difference of at least 0.2 or a
  Kolmogorov-Smirnov distance of at least 0.10;
- *negligible*: every share moved by under 2 points, and (numeric) |SMD| and KS under 0.05;
- anything else is left out of the score.

*magnitude* is the largest share moved (points), the size a person reads first.

**Contenders**, each judging every feature of every window, flagged = warning or worse:

- ``default``: ``driftmon check`` with every setting as installed; a feature is flagged when
  its drift severity, or its data-quality severity (nulls, range, unseen), is warning or
  worse; ``default-drift`` counts the drift severity alone;
- ``auto``: the same with ``auto`` warning and critical thresholds for js and psi;
- ``omnibus``, ``omnibus-holm``, ``omnibus-fdr``: the drift decision of driftmon before
  issue 23, recomposed from the bins that ``check`` reports, with driftmon's own functions
  (the chi-square test of homogeneity, the correction, the default thresholds):
  ``omnibus`` uncorrected across features (the issue's "uncorrected omnibus test"),
  ``omnibus-holm`` is what driftmon 0.1's defaults did;
- ``nannyml``, ``evidently``: as in run.py (README.md there), from peers.py
  ``judge-windows``; Evidently only on the first window of each segment at 1,000 rows
  (its report of 23 columns against 50,000 rows takes 10-70 s at load average 20).

Writes benchmarks/results/small-windows-<date>.json (every decision) and .md (the tables),
and the summary table between the ``small-window`` markers of docs/statistics.md.
``--render FILE.json`` only re-renders the tables of a result file.
"""

# ruff: noqa: RUF001

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
from run import _git, _peer_env  # noqa: E402

PEERS_PYTHON = Path(os.environ.get("DRIFTMON_PEERS_PYTHON", ROOT / "benchmarks" / ".venv-peers" / "bin" / "python"))
RESULTS = ROOT / "benchmarks" / "results"
DOC = ROOT / "docs" / "statistics.md"
TABLE_BEGIN, TABLE_END = "<!-- small-window:begin -->", "<!-- small-window:end -->"
SEED = 20261203
SIZES = (500, 1_000, 2_000)
WINDOWS_PER_CHUNK = 3
CHUNKS = 10
MEANINGFUL_SHARE, NEGLIGIBLE_SHARE = 0.05, 0.02
MEANINGFUL_SMD, MEANINGFUL_KS, NEGLIGIBLE_EFFECT = 0.2, 0.10, 0.05
LARGE_SHARE = 0.08  # "every meaningful shift of 8 points or more" must be caught at 1,000 rows
MEANINGFUL, NEGLIGIBLE, BETWEEN = "meaningful", "negligible", "between"
SIGNIFICANCE = 0.01
DEFAULT_THRESHOLDS = {"js": (0.004, 0.02), "psi": (0.02, 0.1)}  # driftmon 0.1's, for the omnibus rows
AUTO = "{js: {warning: auto, critical: auto}, psi: {warning: auto, critical: auto}}"
SEVERITY_ORDER = {"ok": 0, "insufficient_data": 1, "warning": 2, "critical": 3}
CONTENDERS = ("default", "default-drift", "auto", "omnibus", "omnibus-holm", "omnibus-fdr", "nannyml", "evidently")
LABELS = {
    "default": "driftmon defaults (drift or data quality)",
    "default-drift": "driftmon defaults, drift alone",
    "auto": "driftmon `auto` thresholds",
    "omnibus": "omnibus test, uncorrected (0.1 thresholds)",
    "omnibus-holm": "omnibus test, Holm (driftmon 0.1 defaults)",
    "omnibus-fdr": "omnibus test, FDR (0.1 thresholds)",
    "nannyml": "NannyML 0.13.1",
    "evidently": "Evidently 0.7.23",
}


# ---------------------------------------------------------------------------
# data: windows and ground truth


def _frames(data: Path) -> dict[str, pa.Table]:
    return {path.stem: pq.read_table(path) for path in sorted(data.glob("*.parquet"))}


MIXES = (0.3, 0.5, 0.7)  # shares of the drifted chunk in the mixed segments
MIXED_FROM = {"census": (1, 7), "loan": (1, 8)}  # (calm chunk, drifted chunk) of each data set


def segments() -> list[tuple[str, float]]:
    """The live segments: NannyML's 10 chunks, then mixtures of a calm and a drifted chunk."""
    return [(f"c{chunk:02d}", 0.0) for chunk in range(1, CHUNKS + 1)] + [(f"mix{round(f * 100)}", f) for f in MIXES]


def _segment_rows(frames: dict[str, pa.Table], side: str, segment: str, mix: float) -> list[tuple[pa.Table, float]]:
    """(chunk, share of the segment's rows) for one data set's side of a segment."""
    if segment.startswith("c"):
        return [(frames[f"{side}-chunk-{int(segment[1:])}"], 1.0)]
    calm, drifted = MIXED_FROM[side]
    return [(frames[f"{side}-chunk-{calm}"], 1.0 - mix), (frames[f"{side}-chunk-{drifted}"], mix)]


def _draw(parts: list[tuple[pa.Table, float]], rows: int, rng: np.random.Generator) -> pa.Table:
    """``rows`` rows without replacement, each part giving its share (stratified, rounded)."""
    taken = []
    left = rows
    for index, (table, share) in enumerate(parts):
        count = left if index == len(parts) - 1 else round(rows * share)
        left -= count
        taken.append(table.take(np.sort(rng.choice(table.num_rows, count, replace=False))))
    return pa.concat_tables(taken)


def build_windows(data: Path, out: Path) -> list[dict[str, Any]]:
    """The reference (census ⊕ car loans) and every live window as Parquet under ``out``."""
    frames = _frames(data)
    reference = _side_by_side(frames["census-reference"], frames["loan-reference"])
    out.mkdir(parents=True, exist_ok=True)
    pq.write_table(reference, out / "reference.parquet")
    windows = []
    for size in SIZES:
        for number, (segment, mix) in enumerate(segments()):
            for copy in range(WINDOWS_PER_CHUNK):
                rng = np.random.default_rng([SEED, size, number, copy])
                live = _side_by_side(*(_draw(_segment_rows(frames, side, segment, mix), size, rng)
                                       for side in ("census", "loan")))  # fmt: skip
                name = f"n{size}-{segment}-w{copy}"
                pq.write_table(live, out / f"{name}.parquet")
                windows.append({"name": name, "size": size, "segment": segment, "copy": copy,
                                "live": str(out / f"{name}.parquet")})  # fmt: skip
    return windows


def _side_by_side(left: pa.Table, right: pa.Table) -> pa.Table:
    columns = {name: left[name] for name in left.column_names}
    columns |= {name: right[name] for name in right.column_names}
    return pa.table({name: column.combine_chunks() for name, column in columns.items()})


def _values(column: pa.ChunkedArray) -> tuple[np.ndarray | None, np.ndarray, int]:
    """(numeric values or None, value labels as text, nulls) of a column."""
    nulls = column.null_count
    present = column.drop_null()
    if pa.types.is_floating(column.type) or pa.types.is_integer(column.type):
        values = present.to_numpy().astype(np.float64)
        nulls += int(np.isnan(values).sum())
        values = values[~np.isnan(values)]
        return values, values.astype(str), nulls
    return None, np.asarray(pc.cast(present, pa.string()).to_pylist(), dtype=object), nulls


def _shares(labels: np.ndarray, nulls: int, rows: int) -> dict[str, float]:
    found, counts = np.unique(labels, return_counts=True)
    shares = {str(v): c / rows for v, c in zip(found.tolist(), counts.tolist(), strict=True)}
    shares["<null>"] = nulls / rows
    return shares


def shift_truth(reference: pa.ChunkedArray, parts: list[tuple[pa.ChunkedArray, float]]) -> dict[str, Any]:
    """The yardstick of one feature: largest share moved, SMD and KS (numeric), and the label.

    ``parts``: the live population as a mixture of columns, each with its weight (sum 1)."""
    ref_values, ref_labels, ref_nulls = _values(reference)
    numeric = ref_values is not None and np.unique(ref_values).size > 20
    edges = np.unique(np.quantile(ref_values, np.linspace(0.1, 0.9, 9))) if numeric else None

    def shares(values: np.ndarray | None, labels: np.ndarray, nulls: int, rows: int) -> dict[str, float]:
        if edges is not None:
            labels = np.searchsorted(edges, values, side="right").astype(str)
        return _shares(labels, nulls, rows)

    before = shares(ref_values, ref_labels, ref_nulls, len(reference))
    live = [(_values(column), len(column), weight) for column, weight in parts]
    after: dict[str, float] = {}
    for (values, labels, nulls), rows, weight in live:
        for key, share in shares(values, labels, nulls, rows).items():
            after[key] = after.get(key, 0.0) + weight * share
    moved = {k: after.get(k, 0.0) - before.get(k, 0.0) for k in before.keys() | after.keys()}
    largest = max(moved, key=lambda k: abs(moved[k]))
    truth: dict[str, Any] = {
        "kind": "numeric" if numeric else "categorical",
        "magnitude": abs(moved[largest]),
        "largest": {"value": largest, "reference": before.get(largest, 0.0), "live": after.get(largest, 0.0)},
        "smd": None,
        "ks": None,
    }
    if numeric:
        assert ref_values is not None
        # the mixture's mean, variance and distribution function, weighting each part by its present rows
        present = np.array([w * v.size / rows for (v, _, _), rows, w in live])
        present /= present.sum()
        means = np.array([v.mean() for (v, _, _), _, _ in live])
        mean = float(present @ means)
        variance = float(present @ np.array([v.var(ddof=1) for (v, _, _), _, _ in live] + means**2)) - mean**2
        spread = np.sqrt((ref_values.var(ddof=1) + variance) / 2.0)
        truth["smd"] = float(abs(mean - ref_values.mean()) / spread) if spread > 0 else 0.0
        grid = np.union1d(ref_values, np.concatenate([v for (v, _, _), _, _ in live]))
        ref_cdf = np.searchsorted(np.sort(ref_values), grid, side="right") / ref_values.size
        live_cdf = sum(p * np.searchsorted(np.sort(v), grid, side="right") / v.size
                       for p, ((v, _, _), _, _) in zip(present, live, strict=True))  # fmt: skip
        truth["ks"] = float(np.abs(ref_cdf - live_cdf).max())
    smd, ks = truth["smd"] or 0.0, truth["ks"] or 0.0
    if truth["magnitude"] >= MEANINGFUL_SHARE - 1e-12 or smd >= MEANINGFUL_SMD or ks >= MEANINGFUL_KS:
        truth["label"] = MEANINGFUL
    elif truth["magnitude"] < NEGLIGIBLE_SHARE and smd < NEGLIGIBLE_EFFECT and ks < NEGLIGIBLE_EFFECT:
        truth["label"] = NEGLIGIBLE
    else:
        truth["label"] = BETWEEN
    return truth


def ground_truth(data: Path) -> dict[str, dict[str, dict[str, Any]]]:
    """Per segment and feature, the whole segment's shift against the whole reference (for a
    mixture, each chunk weighted by its share)."""
    frames = _frames(data)
    truth: dict[str, dict[str, dict[str, Any]]] = {}
    for segment, mix in segments():
        truth[segment] = {}
        for side in ("census", "loan"):
            reference = frames[f"{side}-reference"]
            parts = _segment_rows(frames, side, segment, mix)
            for name in reference.column_names:
                truth[segment][name] = shift_truth(reference[name], [(table[name], share) for table, share in parts])
    return truth


# ---------------------------------------------------------------------------
# driftmon


def run_driftmon(windows: list[dict[str, Any]], reference: Path, features: list[str], work: Path) -> dict[str, Any]:
    lines = ["monitors:"]
    for window in windows:
        for variant in ("default", "auto"):
            lines += [
                f"  - name: {window['name']}-{variant}",
                f"    reference: {{type: file, path: {json.dumps(str(reference))}}}",
                f"    live: {{type: file, path: {json.dumps(window['live'])}}}",
                f"    features: {json.dumps(features)}",
            ]
            if variant == "auto":
                lines.append(f"    thresholds: {AUTO}")
    config = work / "driftmon.yaml"
    config.write_text("\n".join(lines) + "\n")
    begun = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-m", "driftmon", "check", "-c", str(config), "--format", "json"],
        capture_output=True, text=True, check=False, cwd=work,  # not this checkout: PYTHONPATH picks driftmon
    )  # fmt: skip
    if completed.returncode not in (0, 1, 3):
        raise SystemExit(f"driftmon check failed ({completed.returncode}):\n{completed.stderr[-3000:]}")
    monitors = {m["monitor"]: m for m in json.loads(completed.stdout)["monitors"]}
    return {"seconds": time.perf_counter() - begun, "monitors": monitors}


def _worst(severities: Any) -> str:
    return max(severities, key=SEVERITY_ORDER.__getitem__, default="ok")


def driftmon_flags(monitor: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per feature: drift severity, data-quality severity, and what the bins hold."""
    quality = {q["feature"]: _worst(q["severity"].values()) for q in (monitor.get("quality") or {}).get("features", [])}
    out = {}
    for feature in monitor["features"]:
        drift = _worst(feature["severity"].values())
        out[feature["feature"]] = {
            "drift": drift,
            "quality": quality.get(feature["feature"], "ok"),
            "pvalue": feature.get("pvalue"),
            "pvalue_adjusted": feature.get("pvalue_adjusted"),
            "scores": feature["scores"],
            "live": [b["live_count"] for b in feature["bins"]],
            "reference": [b["reference_count"] for b in feature["bins"]],
        }
    return out


def omnibus_flags(features: dict[str, dict[str, Any]]) -> dict[str, dict[str, bool]]:
    """driftmon 0.1's drift decision on the reported bins: the omnibus test, corrected three ways."""
    from driftmon.significance import adjust, homogeneity_test

    names = [n for n, f in features.items() if f["pvalue"] is not None]
    width = max(len(features[n]["live"]) for n in names)
    live, reference = np.zeros((len(names), width)), np.zeros((len(names), width))
    for row, name in enumerate(names):
        live[row, : len(features[name]["live"])] = features[name]["live"]
        reference[row, : len(features[name]["reference"])] = features[name]["reference"]
    pvalues = homogeneity_test(live, reference).pvalue
    out: dict[str, dict[str, bool]] = {name: {} for name in features}
    for key, method in (("omnibus", "none"), ("omnibus-holm", "holm"), ("omnibus-fdr", "fdr")):
        significant = adjust(pvalues, method) <= SIGNIFICANCE
        for row, name in enumerate(names):
            scores = features[name]["scores"]
            reached = any(scores.get(m, 0.0) >= warning for m, (warning, _) in DEFAULT_THRESHOLDS.items())
            out[name][key] = bool(significant[row] and reached)
    return out


# ---------------------------------------------------------------------------
# peers


EVIDENTLY_COPIES, EVIDENTLY_SIZES = 1, (1_000,)  # Evidently's report takes 10-70 s per window: fewer of them


def run_peers(windows: list[dict[str, Any]], reference: Path, features: list[str], work: Path) -> dict[str, Any]:
    """NannyML and Evidently on the windows (peers.py judge-windows); reused while the windows are the same."""
    manifest = {"reference": str(reference), "features": features, "windows": windows,
                "evidently_copies": EVIDENTLY_COPIES, "evidently_sizes": EVIDENTLY_SIZES}  # fmt: skip
    text = json.dumps(manifest, indent=1)
    output = work / "peers.json"
    if (work / "manifest.json").exists() and (work / "manifest.json").read_text() == text and output.exists():
        cached: dict[str, Any] = json.loads(output.read_text())
        return cached
    (work / "manifest.json").write_text(text)
    subprocess.run(
        [str(PEERS_PYTHON), str(HERE / "peers.py"), "judge-windows", str(work / "manifest.json"), str(output),
         "--evidently-copies", str(EVIDENTLY_COPIES), "--evidently-sizes", ",".join(map(str, EVIDENTLY_SIZES))],
        check=True, env=_peer_env(),
    )  # fmt: skip
    result: dict[str, Any] = json.loads(output.read_text())
    return result


# ---------------------------------------------------------------------------
# scoring and tables


def cells(result: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per window and feature: its truth and every contender's flag."""
    out = []
    for window in result["windows"]:
        truth = result["truth"][window["segment"]]
        default = driftmon_flags(result["driftmon"]["monitors"][f"{window['name']}-default"])
        auto = driftmon_flags(result["driftmon"]["monitors"][f"{window['name']}-auto"])
        omnibus = omnibus_flags(default)
        peers = (result.get("peers") or {}).get("cases", {}).get(window["name"], {})
        for feature in result["features"]:
            flagged = SEVERITY_ORDER[default[feature]["drift"]] >= SEVERITY_ORDER["warning"]
            quality = SEVERITY_ORDER[default[feature]["quality"]] >= SEVERITY_ORDER["warning"]
            flags = {
                "default": flagged or quality,
                "default-drift": flagged,
                "auto": SEVERITY_ORDER[auto[feature]["drift"]] >= SEVERITY_ORDER["warning"],
                **omnibus[feature],
            }
            for peer in ("nannyml", "evidently"):
                decision = peers.get(peer, {}).get("decisions", {}).get(feature)
                flags[peer] = None if decision is None else bool(decision["flag"])
            out.append({
                "window": window["name"], "size": window["size"], "segment": window["segment"], "feature": feature,
                "truth": truth[feature]["label"], "magnitude": truth[feature]["magnitude"],
                "largest": truth[feature]["largest"], "smd": truth[feature]["smd"], "ks": truth[feature]["ks"],
                "severity": default[feature]["drift"], "quality": default[feature]["quality"],
                "pvalue": default[feature]["pvalue"], "pvalue_adjusted": default[feature]["pvalue_adjusted"],
                "js": default[feature]["scores"].get("js"), "flags": flags,
            })  # fmt: skip
    return out


def summary(rows: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, int]]]:
    """Per contender and size: meaningful caught, large (≥ 8 points) caught, negligible flagged."""
    out: dict[str, dict[str, dict[str, int]]] = {}
    for contender in CONTENDERS:
        out[contender] = {}
        for size in SIZES:
            mine = [r for r in rows if r["size"] == size and r["flags"].get(contender) is not None]
            meaningful = [r for r in mine if r["truth"] == MEANINGFUL]
            large = [r for r in meaningful if r["magnitude"] >= LARGE_SHARE - 1e-12]
            negligible = [r for r in mine if r["truth"] == NEGLIGIBLE]
            out[contender][str(size)] = {
                "meaningful": len(meaningful),
                "caught": sum(r["flags"][contender] for r in meaningful),
                "large": len(large),
                "large_caught": sum(r["flags"][contender] for r in large),
                "negligible": len(negligible),
                "negligible_flagged": sum(r["flags"][contender] for r in negligible),
            }
    return out


def table(result: dict[str, Any]) -> str:
    """The summary table (docs/statistics.md and the .md result file)."""
    counts = result["summary"]
    sizes = [str(s) for s in SIZES]
    lines = [
        f"From [{result['file']}](../benchmarks/results/{result['file']}) (run {result['finished']}, "
        f"driftmon at git `{result['commit']}`{' + uncommitted changes' if result['dirty'] else ''}, "
        f"{result['machine']}, load average {result['load']}). "
        "Per live size: meaningful shifts caught / meaningful cells, then negligible cells left alone / "
        "negligible cells (a cell is one feature of one window; 39 windows of 23 features per size; Evidently, "
        "whose report takes 10-70 s per window, judged the first of the three windows of each segment at 1,000 rows).",
        "",
        "| decision | " + " | ".join(f"{int(s):,} rows: caught | left alone" for s in sizes) + " |",
        "|---|" + "---:|---:|" * len(sizes),
    ]
    for contender in CONTENDERS:
        if not any(counts[contender][s]["meaningful"] + counts[contender][s]["negligible"] for s in sizes):
            continue
        parts = []
        for s in sizes:
            c = counts[contender][s]
            alone = c["negligible"] - c["negligible_flagged"]
            parts.append(f"{c['caught']}/{c['meaningful']} | {alone}/{c['negligible']}")
        lines.append(f"| {LABELS[contender]} | " + " | ".join(parts) + " |")
    lines += ["", "Meaningful shifts of 8 points or more (largest share moved ≥ 0.08) caught:", "",
              "| decision | " + " | ".join(f"{int(s):,} rows" for s in sizes) + " |",
              "|---|" + "---:|" * len(sizes)]  # fmt: skip
    for contender in CONTENDERS:
        if not any(counts[contender][s]["large"] for s in sizes):
            continue
        parts = [f"{counts[contender][s]['large_caught']}/{counts[contender][s]['large']}" for s in sizes]
        lines.append(f"| {LABELS[contender]} | " + " | ".join(parts) + " |")
    return "\n".join(lines)


def misses(result: dict[str, Any], contender: str = "default", size: int = 1_000) -> str:
    """The meaningful cells the contender missed at one size, and the negligible ones it flagged."""
    lines = [f"`{contender}` at {size:,} rows: meaningful cells missed, negligible cells flagged", "",
             "| window | feature | truth | largest share moved | SMD | KS | severity | quality | p | p adj. | JS |",
             "|---|---|---|---|---:|---:|---|---|---:|---:|---:|"]  # fmt: skip
    for row in result["cells"]:
        if row["size"] != size or row["flags"].get(contender) is None:
            continue
        wrong = (row["truth"] == MEANINGFUL and not row["flags"][contender]) or (
            row["truth"] == NEGLIGIBLE and row["flags"][contender]
        )
        if not wrong:
            continue
        big = row["largest"]
        lines.append(
            f"| {row['window']} | `{row['feature']}` | {row['truth']} | `{big['value']}` {big['reference']:.1%} → "
            f"{big['live']:.1%} | {_num(row['smd'])} | {_num(row['ks'])} | {row['severity']} | {row['quality']} "
            f"| {_num(row['pvalue'])} | {_num(row['pvalue_adjusted'])} | {_num(row['js'])} |"
        )
    return "\n".join(lines)


def _num(value: Any) -> str:
    if value is None:
        return "–"
    if value == 0:
        return "0"
    return f"{value:.1e}" if abs(value) < 1e-3 else f"{value:.3g}"


def replace_between(text: str, body: str) -> str:
    if TABLE_BEGIN not in text:
        raise SystemExit(f"{DOC}: no {TABLE_BEGIN} marker")
    head, rest = text.split(TABLE_BEGIN, 1)
    _, tail = rest.split(TABLE_END, 1)
    return f"{head}{TABLE_BEGIN}\n{body}\n{TABLE_END}{tail}"


def render(result: dict[str, Any], path: Path) -> None:
    """The .md result file next to the .json, and the table in docs/statistics.md."""
    text = [f"# Small-window benchmark, {result['finished']}", "", "Made by `benchmarks/shifts/small_windows.py` "
            "(docstring: data, ground truth, contenders).", "", table(result), "",
            misses(result, "default", 1_000), "", misses(result, "default", 500), ""]  # fmt: skip
    path.with_suffix(".md").write_text("\n".join(text))
    DOC.write_text(replace_between(DOC.read_text(), table(result)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--data", type=Path, default=HERE / "data" / "small", help="generated data (gitignored)")
    parser.add_argument("--no-peers", action="store_true", help="driftmon only")
    parser.add_argument("--render", type=Path, help="re-render the tables of this result file and stop")
    parser.add_argument("--name", default=None, help="result file stem (default small-windows-<date>)")
    args = parser.parse_args(argv)
    if args.render:
        result = json.loads(args.render.read_text())
        render(result, args.render)
        print(table(result))
        return 0
    begun = time.perf_counter()
    exported = args.data / "export"
    if not (exported / "census-reference.parquet").exists():
        subprocess.run([str(PEERS_PYTHON), str(HERE / "peers.py"), "export-small", str(exported)], check=True,
                       env=_peer_env())  # fmt: skip
    windows = build_windows(exported, args.data / "windows")
    reference = args.data / "windows" / "reference.parquet"
    features = pq.read_schema(reference).names
    truth = ground_truth(exported)
    import driftmon

    source = Path(driftmon.__file__).resolve().parents[1]  # the checkout whose driftmon runs
    stamp = dt.datetime.now(dt.UTC)
    name = args.name or f"small-windows-{stamp:%Y-%m-%d}"
    result: dict[str, Any] = {
        "file": f"{name}.json",
        "started": stamp.strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "load": " ".join(f"{x:.1f}" for x in os.getloadavg()),
        "version": driftmon.__version__,
        "commit": _git(source, "rev-parse", "--short", "HEAD"),
        "dirty": bool(_git(source, "status", "--porcelain", "--", "driftmon")),
        "features": features,
        "windows": windows,
        "truth": truth,
    }
    result["driftmon"] = run_driftmon(windows, reference, features, args.data)
    if not args.no_peers and PEERS_PYTHON.exists():
        result["peers"] = run_peers(windows, reference, features, args.data)
    result["cells"] = cells(result)
    result["summary"] = summary(result["cells"])
    result["seconds"] = time.perf_counter() - begun
    result["finished"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    result["load"] += " → " + " ".join(f"{x:.1f}" for x in os.getloadavg())
    # the cells keep what the tables need; the whole check output stays with the data (gitignored)
    (args.data / f"{name}-check.json").write_text(json.dumps(result["driftmon"].pop("monitors")))
    if "peers" in result:  # the peers' raw decisions too (the cells hold their flags); versions stay
        (args.data / f"{name}-peers.json").write_text(json.dumps(result["peers"].pop("cases", {})))
    path = RESULTS / result["file"]
    path.write_text(json.dumps(result, separators=(",", ":"), allow_nan=False) + "\n")  # compact: ~1.3 MB, not 2.5
    render(result, path)
    print(table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
