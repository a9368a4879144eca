#!/usr/bin/env python3
"""The shift benchmark: which shifts does each tool call drift? ``.venv/bin/python benchmarks/shifts/run.py``.

Every case is a reference and a live data set (Parquet, fixed seeds) plus what a person
would call it. Each case is judged by

- driftmon with its defaults (``driftmon check --format json`` on a generated config that
  sets nothing but sources and features, so the installed package's defaults apply),
- driftmon with ``auto`` warning and critical thresholds for ``js`` and ``psi``,
- NannyML's UnivariateDriftCalculator and Evidently's DataDriftPreset with their default
  methods and thresholds (in benchmarks/.venv-peers, through peers.py),

and the decisions go into a Markdown table between the ``shift-table`` markers of
benchmarks/shifts/README.md and into benchmarks/shifts/results.json. About 2-3 minutes on
2 cores, most of it Evidently and NannyML on the 1,000,000-row cases.

    .venv/bin/python benchmarks/shifts/run.py                      # everything
    .venv/bin/python benchmarks/shifts/run.py --contenders driftmon  # driftmon only (seconds)
    .venv/bin/python benchmarks/shifts/run.py --tiny --no-write      # smoke test (tests/integration)
"""

# The tables are for people: Greek letters, dashes and multiplication signs are meant.
# ruff: noqa: RUF001

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PEERS_PYTHON = ROOT / "benchmarks" / ".venv-peers" / "bin" / "python"
TABLE_BEGIN, TABLE_END = "<!-- shift-table:begin -->", "<!-- shift-table:end -->"
SEED = 20261125
SEVERITY_ORDER = {"ok": 0, "insufficient_data": 1, "warning": 2, "critical": 3}
DRIFT, NO_DRIFT = "drift", "no drift"
# A person's eye, for real data where nobody planted the shift: shares that moved by at
# least 5 points in total (TVD over the feature's values, or its reference deciles) are
# drift; under 2 points are not; in between is left undecided ("?").
VISIBLE_TVD, INVISIBLE_TVD = 0.05, 0.02


@dataclasses.dataclass(frozen=True)
class Sizes:
    reference: int = 20_000
    live: int = 5_000
    huge: int = 1_000_000  # the "even on a million rows" cases: reference and live
    small: int = 200


FULL, TINY = Sizes(), Sizes(reference=2_000, live=500, huge=20_000, small=200)

Column = np.ndarray | pa.Array


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    what: str
    expected: str
    make: Callable[[Sizes], tuple[Column, Column]]


# ---------------------------------------------------------------------------
# synthetic cases (numeric columns drawn at random, categorical shares exact)


def _rng(*keys: int) -> np.random.Generator:
    return np.random.default_rng([SEED, *keys])


def _binary(share: float, rows: int, key: int) -> np.ndarray:
    return (_rng(key).random(rows) < share).astype(np.int64)


def _normal(rows: int, key: int, mean: float = 0.0, sd: float = 1.0) -> np.ndarray:
    return _rng(key).normal(mean, sd, rows)


def _exact(shares: dict[str, float], rows: int, key: int) -> pa.Array:
    """Strings holding exactly these shares (largest remainders), shuffled."""
    values = list(shares)
    wanted = np.array([shares[v] * rows for v in values])
    counts = np.floor(wanted).astype(np.int64)
    counts[np.argsort(-(wanted - counts), kind="stable")[: rows - counts.sum()]] += 1
    codes = np.repeat(np.arange(len(values)), counts)
    _rng(key).shuffle(codes)
    return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), pa.array(values)).cast(pa.string())


CATEGORIES = {"a": 0.30, "b": 0.25, "c": 0.20, "d": 0.136, "e": 0.114}


def _share_moved(s: Sizes) -> tuple[Column, Column]:
    scale = (1 - 0.25) / (1 - CATEGORIES["d"])
    live = {v: (0.25 if v == "d" else share * scale) for v, share in CATEGORIES.items()}
    return _exact(CATEGORIES, s.reference, 3), _exact(live, s.live, 4)


def _new_category(s: Sizes) -> tuple[Column, Column]:
    live = {v: share * 0.95 for v, share in CATEGORIES.items()} | {"new": 0.05}
    return _exact(CATEGORIES, s.reference, 7), _exact(live, s.live, 8)


def _missing(s: Sizes) -> tuple[Column, Column]:
    live = _normal(s.live, 10)
    live[_rng(11).permutation(s.live)[: s.live // 20]] = np.nan
    return _normal(s.reference, 9), pa.array(live, from_pandas=True)  # NaN -> null


def _zero_inflated(zero_share: float, rows: int, key: int) -> np.ndarray:
    rng = _rng(key)
    values = rng.lognormal(4.0, 1.0, rows)
    values[rng.random(rows) < zero_share] = 0.0
    return values


def _code(shares: list[float], rows: int, key: int) -> np.ndarray:
    return _rng(key).choice(len(shares), rows, p=shares).astype(np.int64)


SYNTHETIC = [
    Case("binary 50→60 %", "int 0/1 column, share of ones 50 % → 60 %", DRIFT,
         lambda s: (_binary(0.5, s.reference, 1), _binary(0.6, s.live, 2))),
    Case("category 13.6→25 %", "one of 5 categories 13.6 % → 25 % (others shrink in proportion)", DRIFT,
         _share_moved),
    Case("mean +0.25 sd", "normal feature, mean shifted by 0.25 σ", DRIFT,
         lambda s: (_normal(s.reference, 5), _normal(s.live, 6, mean=0.25))),
    Case("new category 5 %", "a category the reference never had takes 5 % of live rows", DRIFT, _new_category),
    Case("missing 0→5 %", "normal feature, nulls 0 % → 5 %", DRIFT, _missing),
    Case("zero-inflated 90→80 %", "lognormal amount, share of zeros 90 % → 80 %", DRIFT,
         lambda s: (_zero_inflated(0.9, s.reference, 12), _zero_inflated(0.8, s.live, 13))),
    Case("3-valued code swap", "int code {0,1,2}: 40/35/25 % → 40/10/50 %", DRIFT,
         lambda s: (_code([0.4, 0.35, 0.25], s.reference, 14), _code([0.4, 0.1, 0.5], s.live, 15))),
    Case("small window, mean +1 sd", "200 live rows, normal mean shifted by 1 σ", DRIFT,
         lambda s: (_normal(s.reference, 16), _normal(s.small, 17, mean=1.0))),
    Case("variance ×1.5", "normal feature, sd 1 → 1.5, same mean", DRIFT,
         lambda s: (_normal(s.reference, 18), _normal(s.live, 19, sd=1.5))),
    Case("binary 50→50.5 %, 1 M", "int 0/1, 50 % → 50.5 %, 1 M reference and 1 M live rows", NO_DRIFT,
         lambda s: (_binary(0.5, s.huge, 20), _binary(0.505, s.huge, 21))),
    Case("mean +0.02 sd, 1 M", "normal, mean shifted by 0.02 σ, 1 M reference and 1 M live rows", NO_DRIFT,
         lambda s: (_normal(s.huge, 22), _normal(s.huge, 23, mean=0.02))),
    Case("same normal, 200", "no change: normal, 200 live rows", NO_DRIFT,
         lambda s: (_normal(s.reference, 24), _normal(s.small, 25))),
    Case("same normal, 5 k", "no change: normal, 5,000 live rows", NO_DRIFT,
         lambda s: (_normal(s.reference, 26), _normal(s.live, 27))),
    Case("same normal, 1 M", "no change: normal, 1 M reference and 1 M live rows", NO_DRIFT,
         lambda s: (_normal(s.huge, 28), _normal(s.huge, 29))),
    Case("same binary, 5 k", "no change: int 0/1 at 30 % ones", NO_DRIFT,
         lambda s: (_binary(0.3, s.reference, 30), _binary(0.3, s.live, 31))),
    Case("same categories, 5 k", "no change: the 5 categories drawn at random", NO_DRIFT,
         lambda s: tuple(  # type: ignore[return-value]
             pa.array(_rng(k).choice(list(CATEGORIES), n, p=list(CATEGORIES.values())))
             for k, n in ((32, s.reference), (33, s.live))
         )),
]  # fmt: skip


def write_synthetic(data: Path, sizes: Sizes) -> dict[str, dict[str, Any]]:
    """Each synthetic case as DATA/synthetic/<slug>/{reference,live}.parquet with one column ``x``."""
    cases = {}
    for index, case in enumerate(SYNTHETIC):
        folder = data / "synthetic" / f"s{index:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        reference, live = case.make(sizes)
        pq.write_table(pa.table({"x": reference}), folder / "reference.parquet")
        pq.write_table(pa.table({"x": live}), folder / "live.parquet")
        cases[case.name] = {
            "kind": "synthetic",
            "what": case.what,
            "folder": str(folder),
            "features": ["x"],
            "expected": {"x": case.expected},
            "reference_rows": len(reference),
            "live_rows": len(live),
        }
    return cases


def export_real(data: Path, peers_python: Path) -> dict[str, dict[str, Any]]:
    """The real-data cases, exported from NannyML's package data by peers.py in the peers' venv."""
    folder = data / "real"
    subprocess.run([str(peers_python), str(HERE / "peers.py"), "export", str(folder)], check=True, env=_peer_env())
    described = json.loads((folder / "real_cases.json").read_text())
    cases = {}
    for name, case in described.items():
        cases[name] = {
            "kind": "real",
            "what": case["what"],
            "folder": str(folder / name),
            "features": case["features"],
            "expected_all": case["expected_all"],
            "reference_rows": case["reference_rows"],
            "live_rows": case["live_rows"],
        }
    return cases


def _peer_env() -> dict[str, str]:
    return {**os.environ, "NML_DISABLE_USAGE_LOGGING": "1", "DO_NOT_TRACK": "1", "EVIDENTLY_DISABLE_TELEMETRY": "1"}


# ---------------------------------------------------------------------------
# what a person sees: how far the shares moved


def _shares(column: pa.ChunkedArray, edges: np.ndarray | None) -> dict[str, float]:
    """Shares of each value (or of each reference decile, for numeric columns with many values), nulls included."""
    rows = len(column)
    nulls = column.null_count
    if edges is None:
        counts = column.drop_null().cast(pa.string()).value_counts()
        shares = {
            str(v): c / rows for v, c in zip(counts.field(0).to_pylist(), counts.field(1).to_pylist(), strict=True)
        }
    else:
        values = column.drop_null().to_numpy().astype(np.float64)
        nulls += int(np.isnan(values).sum())
        values = values[~np.isnan(values)]
        bins = np.searchsorted(edges, values, side="right")
        shares = {str(b): c / rows for b, c in enumerate(np.bincount(bins, minlength=edges.size + 1))}
    shares["<null>"] = nulls / rows
    return shares


def visible_change(reference: pa.ChunkedArray, live: pa.ChunkedArray) -> float:
    """TVD between the two sides' shares of values (deciles for numeric columns with more than 20 values)."""
    edges = None
    if pa.types.is_integer(reference.type) or pa.types.is_floating(reference.type):
        values = reference.drop_null().to_numpy().astype(np.float64)
        values = values[~np.isnan(values)]
        if np.unique(values).size > 20:
            edges = np.unique(np.quantile(values, np.linspace(0.1, 0.9, 9)))
    left, right = _shares(reference, edges), _shares(live, edges)
    return 0.5 * sum(abs(left.get(k, 0.0) - right.get(k, 0.0)) for k in set(left) | set(right))


def expectations(cases: dict[str, dict[str, Any]]) -> None:
    """Fill ``visible_tvd`` per feature, and ``expected`` for real cases (the TVD rule, or ``expected_all``)."""
    for case in cases.values():
        folder = Path(case["folder"])
        reference = pq.read_table(folder / "reference.parquet")
        live = pq.read_table(folder / "live.parquet")
        case["visible_tvd"] = {f: visible_change(reference[f], live[f]) for f in case["features"]}
        if case["kind"] == "real":
            expected = {}
            for feature, tvd in case["visible_tvd"].items():
                if case.get("expected_all"):
                    expected[feature] = case["expected_all"]
                else:
                    expected[feature] = DRIFT if tvd >= VISIBLE_TVD else NO_DRIFT if tvd < INVISIBLE_TVD else "?"
            case["expected"] = expected


# ---------------------------------------------------------------------------
# driftmon


def driftmon_defaults() -> dict[str, Any]:
    """The installed driftmon's default settings that decide (read at run time, never hard-coded here),
    and the git commit of the checkout it is imported from."""
    import driftmon
    from driftmon.config_schema import Settings

    source = Path(driftmon.__file__).resolve().parents[1]
    settings = Settings().model_dump(mode="json")
    return {
        "version": driftmon.__version__,
        "source": str(source),
        "commit": _git(source, "rev-parse", "--short", "HEAD"),
        "dirty": bool(_git(source, "status", "--porcelain", "--", "driftmon")),
        "settings": {
            key: settings[key]
            for key in ("measures", "log_base", "smoothing", "binning", "min_samples", "thresholds",
                        "significance", "correction", "auto_thresholds")
        },
    }  # fmt: skip


def _git(where: Path, *args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=where, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


AUTO = "{js: {warning: auto, critical: auto}, psi: {warning: auto, critical: auto}}"


def driftmon_config(cases: dict[str, dict[str, Any]]) -> str:
    """One monitor per case and decision: ``<n>-default`` (nothing set) and ``<n>-auto``."""
    lines = ["monitors:"]
    for index, case in enumerate(cases.values()):
        folder = case["folder"]
        for variant in ("default", "auto"):
            lines += [
                f"  - name: c{index:02d}-{variant}",
                f"    reference: {{type: file, path: {json.dumps(folder + '/reference.parquet')}}}",
                f"    live: {{type: file, path: {json.dumps(folder + '/live.parquet')}}}",
                f"    features: {json.dumps(case['features'])}",
            ]
            if variant == "auto":
                lines.append(f"    thresholds: {AUTO}")
    return "\n".join(lines) + "\n"


def run_driftmon(cases: dict[str, dict[str, Any]], data: Path) -> dict[str, Any]:
    config = data / "driftmon.yaml"
    config.write_text(driftmon_config(cases))
    begun = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-m", "driftmon", "check", "-c", str(config), "--format", "json"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if completed.returncode not in (0, 1, 3):
        raise SystemExit(f"driftmon check failed ({completed.returncode}):\n{completed.stderr[-3000:]}")
    document = json.loads(completed.stdout)
    monitors = {m["monitor"]: m for m in document["monitors"]}
    results: dict[str, Any] = {}
    for index, name in enumerate(cases):
        results[name] = {}
        for variant in ("default", "auto"):
            monitor = monitors[f"c{index:02d}-{variant}"]
            features = {}
            for feature in monitor["features"]:
                severities = feature["severity"].values()
                worst = max(severities, key=SEVERITY_ORDER.__getitem__, default="ok")
                features[feature["feature"]] = {
                    "severity": worst,
                    "flag": worst in ("warning", "critical"),
                    "scores": feature["scores"],
                    "pvalue_adjusted": feature.get("pvalue_adjusted"),
                    "thresholds": feature.get("thresholds"),
                }
            results[name][variant] = {"error": monitor["error"], "status": monitor["status"], "features": features}
    return {"seconds": time.perf_counter() - begun, "cases": results}


def run_peers(cases: dict[str, dict[str, Any]], data: Path, peers_python: Path, only: set[str]) -> dict[str, Any]:
    manifest = {
        name: {
            "reference": case["folder"] + "/reference.parquet",
            "live": case["folder"] + "/live.parquet",
            "features": case["features"],
        }
        for name, case in cases.items()
    }
    (data / "manifest.json").write_text(json.dumps(manifest, indent=1))
    output = data / "peers.json"
    subprocess.run(
        [str(peers_python), str(HERE / "peers.py"), "judge", str(data / "manifest.json"), str(output),
         "--only", ",".join(sorted(only))],
        check=True, env=_peer_env(),
    )  # fmt: skip
    result: dict[str, Any] = json.loads(output.read_text())
    return result


# ---------------------------------------------------------------------------
# the table


def _num(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, str):
        return value
    if value == 0:
        return "0"
    if abs(value) < 1e-3 or abs(value) >= 1e4:
        return f"{value:.1e}"
    return f"{value:.3g}"


def _mark(flag: bool | None, expected: str) -> str:
    if flag is None or expected not in (DRIFT, NO_DRIFT):
        return ""
    return "" if flag == (expected == DRIFT) else " ✗"


def _driftmon_cell(entry: dict[str, Any] | None, expected: str, auto: bool) -> str:
    if entry is None:
        return "–"
    scores = entry["scores"]
    cell = f"**{entry['severity']}**" if entry["flag"] else entry["severity"]
    if auto:
        js_levels = (entry.get("thresholds") or {}).get("js") or {}
        detail = f"js ≥ {_num(js_levels.get('warning'))}/{_num(js_levels.get('critical'))}"
    else:
        detail = f"{_num(scores.get('js'))}, {_num(scores.get('psi'))}, p {_num(entry['pvalue_adjusted'])}"
    return f"{cell} ({detail}){_mark(entry['flag'], expected)}"


def _nannyml_cell(entry: dict[str, Any] | None, expected: str) -> str:
    if entry is None:
        return "–"
    method = entry["methods"].get("jensen_shannon") or next(iter(entry["methods"].values()), {})
    word = "**alert**" if entry["flag"] else "ok"
    chunks = f", {entry['alerted_chunks']}/{entry['chunks']} chunks" if entry.get("chunks", 1) > 1 else ""
    detail = f"{_num(method.get('value'))} vs {_num(method.get('upper_threshold'))}{chunks}"
    return f"{word} ({detail}){_mark(entry['flag'], expected)}"


EVIDENTLY_SHORT = {"Wasserstein distance (normed)": "W", "Jensen-Shannon distance": "JS", "K-S p_value": "KS p",
                   "chi-square p_value": "χ² p", "Z-test p_value": "z p"}  # fmt: skip


def _evidently_cell(entry: dict[str, Any] | None, expected: str) -> str:
    if entry is None:
        return "–"
    word = "**drift**" if entry["flag"] else "ok"
    method = EVIDENTLY_SHORT.get(entry["method"], entry["method"])
    return f"{word} ({method} {_num(entry['value'])}){_mark(entry['flag'], expected)}"


def rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per (case, feature) worth showing: every synthetic case; real features that moved, or were flagged."""
    out = []
    for name, case in result["cases"].items():
        driftmon = result["driftmon"]["cases"].get(name, {}) if result.get("driftmon") else {}
        peers = (result.get("peers") or {}).get("cases", {}).get(name, {})
        for feature in case["features"]:
            row = {
                "case": name,
                "feature": feature,
                "kind": case["kind"],
                "what": case["what"],
                "live_rows": case["live_rows"],
                "reference_rows": case["reference_rows"],
                "visible_tvd": case["visible_tvd"][feature],
                "expected": case["expected"][feature],
                "default": driftmon.get("default", {}).get("features", {}).get(feature),
                "auto": driftmon.get("auto", {}).get("features", {}).get(feature),
                "nannyml": peers.get("nannyml", {}).get("decisions", {}).get(feature),
                "evidently": peers.get("evidently", {}).get("decisions", {}).get(feature),
            }
            out.append(row)
    return out


def _flags(row: dict[str, Any]) -> dict[str, bool | None]:
    return {k: (row[k] or {}).get("flag") if row[k] is not None else None
            for k in ("default", "auto", "nannyml", "evidently")}  # fmt: skip


def markdown(result: dict[str, Any]) -> str:
    defaults = result["driftmon_defaults"]
    settings = defaults["settings"]
    thresholds = ", ".join(
        f"{m} {levels['warning']}/{levels['critical']}" for m, levels in settings["thresholds"].items() if levels
    )
    smoothing = settings["smoothing"]
    smoothing_text = ", ".join(f"{k} {v}" for k, v in smoothing.items())
    lines = [
        f"Run {result['finished']} on {result['machine']}: driftmon {defaults['version']} at git "
        f"`{defaults['commit']}`{' + uncommitted changes under driftmon/' if defaults['dirty'] else ''}; "
        + (
            f"NannyML {result['peers']['versions']['nannyml']}, Evidently {result['peers']['versions']['evidently']} "
            f"(pandas {result['peers']['versions']['pandas']})"
            if result.get("peers")
            else "peers not run"
        )
        + f"; {result['seconds']:.0f} s in all.",
        "",
        f"driftmon's defaults as installed: measures {settings['measures']}, thresholds {thresholds}, "
        f"smoothing {smoothing_text}, binning {settings['binning']['strategy']} {settings['binning']['bins']}, "
        f"significance {settings['significance']} ({settings['correction']}).",
        "",
        "Cells: driftmon default = worst severity (JS bits, PSI, Holm-adjusted p); driftmon auto = worst severity "
        "(the auto JS warning/critical levels it resolved); NannyML = alert (JS distance vs its upper threshold); "
        "Evidently = drift (its method and score); **bold** = flagged; ✗ = disagrees with *expected*. "
        "*moved* is the TVD of the feature's value shares (deciles for numeric features), the yardstick behind "
        f"*expected* on real data (≥ {VISIBLE_TVD}: drift, < {INVISIBLE_TVD}: no drift, else ?).",
        "",
        "| case | what changed | live rows | moved | driftmon default | driftmon auto | NannyML | Evidently "
        "| expected |",
        "|---|---|---:|---:|---|---|---|---|---|",
    ]
    table_rows = rows(result)
    for row in table_rows:
        flags = _flags(row)
        if row["kind"] == "real" and row["expected"] != DRIFT and not any(flags.values()):
            continue  # real features nobody flags and nothing moved: counted in the summary only
        case = row["case"] if row["kind"] == "synthetic" else f"{row['case']}: `{row['feature']}`"
        what = row["what"] if row["kind"] == "synthetic" else f"real: `{row['feature']}` (pair below)"
        lines.append(
            f"| {case} | {what} | {row['live_rows']:,} | {row['visible_tvd']:.3f} "
            f"| {_driftmon_cell(row['default'], row['expected'], auto=False)} "
            f"| {_driftmon_cell(row['auto'], row['expected'], auto=True)} "
            f"| {_nannyml_cell(row['nannyml'], row['expected'])} "
            f"| {_evidently_cell(row['evidently'], row['expected'])} | {row['expected']} |"
        )
    real = {n: c for n, c in result["cases"].items() if c["kind"] == "real"}
    if real:
        lines += ["", "Real-data pairs (reference rows → live rows):", ""]
        lines += [f"- `{n}`: {c['what']} ({c['reference_rows']:,} → {c['live_rows']:,})" for n, c in real.items()]
    lines += [
        "",
        "Real data, all features (flagged / features; in brackets: flagged where *expected* says drift / "
        "expected drift, and flagged where it says no drift / expected no drift):",
        "",
        "| pair | features | driftmon default | driftmon auto | NannyML | Evidently |",
        "|---|---:|---|---|---|---|",
    ]
    by_case: dict[str, list[dict[str, Any]]] = {}
    for row in table_rows:
        if row["kind"] == "real":
            by_case.setdefault(row["case"], []).append(row)
    for name, group in by_case.items():
        cells = []
        for key in ("default", "auto", "nannyml", "evidently"):
            flags = [_flags(r)[key] for r in group]
            if all(f is None for f in flags):
                cells.append("–")
                continue
            drift = [f for r, f in zip(group, flags, strict=True) if r["expected"] == DRIFT]
            calm = [f for r, f in zip(group, flags, strict=True) if r["expected"] == NO_DRIFT]
            cells.append(
                f"{sum(bool(f) for f in flags)} ({sum(bool(f) for f in drift)}/{len(drift)} drift, "
                f"{sum(bool(f) for f in calm)}/{len(calm)} no drift)"
            )
        lines.append(f"| {name} | {len(group)} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Agreement with *expected* over every row with a firm expectation (synthetic cases and real features):",
        "",
        "| decision | drift caught | no drift left alone |",
        "|---|---:|---:|",
    ]
    for key, label in (("default", "driftmon default"), ("auto", "driftmon auto"), ("nannyml", "NannyML"),
                       ("evidently", "Evidently")):  # fmt: skip
        drift = [_flags(r)[key] for r in table_rows if r["expected"] == DRIFT and _flags(r)[key] is not None]
        calm = [_flags(r)[key] for r in table_rows if r["expected"] == NO_DRIFT and _flags(r)[key] is not None]
        if drift or calm:
            lines.append(f"| {label} | {sum(drift)}/{len(drift)} | {len(calm) - sum(calm)}/{len(calm)} |")
    lines += threshold_window(table_rows)
    return "\n".join(lines)


def threshold_window(table_rows: list[dict[str, Any]]) -> list[str]:
    """Where a fixed threshold could sit: driftmon's smallest score on a drift row and its
    largest on a significant no-drift row (the ones only a threshold keeps quiet)."""
    lines = [
        "",
        "Where a fixed threshold can sit, by driftmon's default scores (bins and smoothing as installed): the "
        "three smallest scores among *drift* rows, and the three largest among *no drift* rows whose adjusted "
        "p-value is ≤ 0.01 (those only a threshold keeps quiet):",
        "",
        "| measure | smallest on drift | largest on significant no drift |",
        "|---|---|---|",
    ]
    for measure in ("js", "psi"):
        drift, calm = [], []
        for row in table_rows:
            entry = row["default"]
            score = (entry or {}).get("scores", {}).get(measure)
            if not isinstance(score, int | float):
                continue
            label = row["case"] if row["kind"] == "synthetic" else f"{row['case']}: {row['feature']}"
            if row["expected"] == DRIFT:
                drift.append((score, label))
            elif row["expected"] == NO_DRIFT and (entry.get("pvalue_adjusted") or 1.0) <= 0.01:
                calm.append((score, label))
        lowest = ", ".join(f"{_num(v)} ({label})" for v, label in sorted(drift)[:3]) or "–"
        highest = ", ".join(f"{_num(v)} ({label})" for v, label in sorted(calm, reverse=True)[:3]) or "–"
        lines.append(f"| {measure} | {lowest} | {highest} |")
    return lines


def replace_between(text: str, begin: str, end: str, body: str) -> str:
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        return f"{head}{begin}\n{body}\n{end}{tail}"
    return f"{text.rstrip()}\n\n{begin}\n{body}\n{end}\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--contenders",
        default="driftmon,nannyml,evidently",
        help="comma-separated; driftmon always runs (default: all three)",
    )
    parser.add_argument(
        "--tiny", action="store_true", help="small synthetic cases only, driftmon only (a smoke test of the harness)"
    )
    parser.add_argument("--no-real", action="store_true", help="skip the real-data cases (they need the peers' venv)")
    parser.add_argument("--data", type=Path, default=HERE / "data", help="generated data (gitignored)")
    parser.add_argument("--json", type=Path, default=HERE / "results.json", help="where the results go")
    parser.add_argument("--readme", type=Path, default=HERE / "README.md", help="the README whose table is replaced")
    parser.add_argument("--no-write", action="store_true", help="print the table; write neither README nor JSON")
    parser.add_argument("--peers-python", type=Path, default=PEERS_PYTHON)
    args = parser.parse_args(argv)  # fmt: skip

    begun = time.perf_counter()
    contenders = set(args.contenders.split(",")) | {"driftmon"}
    if args.tiny:
        contenders = {"driftmon"}
    peers = contenders & {"nannyml", "evidently"}
    peers_ok = args.peers_python.exists()
    if peers and not peers_ok:
        print(f"note: {args.peers_python} not found; NannyML and Evidently skipped (see benchmarks/README.md)",
              file=sys.stderr)  # fmt: skip
        peers = set()
    args.data.mkdir(parents=True, exist_ok=True)
    cases = write_synthetic(args.data, TINY if args.tiny else FULL)
    if not (args.tiny or args.no_real) and peers_ok:
        cases.update(export_real(args.data, args.peers_python))
    expectations(cases)
    result: dict[str, Any] = {
        "started": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "tiny": args.tiny,
        "driftmon_defaults": driftmon_defaults(),
        "cases": cases,
    }
    result["driftmon"] = run_driftmon(cases, args.data)
    if peers:
        result["peers"] = run_peers(cases, args.data, args.peers_python, peers)
    result["seconds"] = time.perf_counter() - begun
    result["finished"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    result["rows"] = rows(result)
    table = markdown(result)
    print(table)
    if not args.no_write:
        args.json.write_text(json.dumps(result, indent=1, default=str, allow_nan=False) + "\n")
        text = args.readme.read_text() if args.readme.exists() else "# Shift benchmark\n"
        args.readme.write_text(replace_between(text, TABLE_BEGIN, TABLE_END, table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
