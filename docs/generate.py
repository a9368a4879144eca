"""Fill the generated sections of the documentation: one command for every figure and table.

    .venv/bin/python docs/generate.py           # rewrite the sections that changed
    .venv/bin/python docs/generate.py --check   # exit 1 naming the stale ones (tests/test_docs.py)

A generated section sits between two HTML comments, ``<!-- generated:NAME ... -->`` and
``<!-- /generated:NAME -->`` (the config reference keeps the markers ``driftmon schema
--markdown`` prints). Its text comes from the code (the config schema, the exporter's
metric table, ``driftmon check`` on the shipped example) or from benchmark result files.

Which result file: benchmark runs write files named by their start time (UTC), so the
newest is the last in name order:

- ``benchmarks/run.py`` writes ``benchmarks/results/YYYY-MM-DDTHHMM.json``. Each figure is
  taken from the newest such file that measured that workload and contender (runs with
  ``--only`` or ``--contenders`` measure a part; ``--tiny`` runs are skipped), and the
  table names the file of each figure.
- ``benchmarks/http_server.py``: the newest ``benchmarks/results/http-server-<time>.json``
  and ``http-server-<time>-tls.json``.
- ``benchmarks/busy_scrape.py``: the newest ``benchmarks/results/busy-scrape-<time>.json``
  (``{"command", "date", "machine", "runs": [the figures each run printed]}``).
- ``benchmarks/shifts/run.py``: ``benchmarks/shifts/results.json`` (it keeps one).
- ``benchmarks/instrument/run.py``: the newest ``benchmarks/instrument/results-<date>.json``.

So after re-running a benchmark, commit its result file and run this script.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results"
COMMAND = "python docs/generate.py"
RUN_FILE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{4}\.json")
# The docs are typeset: a multiplication sign in sizes and ratios, an en dash for "none" and ranges.
TIMES, DASH = "\N{MULTIPLICATION SIGN}", "\N{EN DASH}"


@dataclass(frozen=True, slots=True)
class Section:
    """One generated section: the file it lives in, its name, and what makes its text."""

    path: str  # relative to the repository
    name: str
    make: Callable[[], str]


# ---------------------------------------------------------------------------
# benchmark result files


def run_files() -> list[tuple[Path, dict[str, Any]]]:
    """benchmarks/run.py's result files, oldest first, without --tiny runs."""
    found = []
    for path in sorted(RESULTS.glob("*.json")):
        if RUN_FILE.fullmatch(path.name):
            document = json.loads(path.read_text(encoding="utf-8"))
            if not document.get("tiny"):
                found.append((path, document))
    return found


def newest_row(workload: str, contender: str) -> tuple[Path, dict[str, Any]] | None:
    """The row of ``contender`` in ``workload`` from the newest run that measured it."""
    for path, document in reversed(run_files()):
        for row in document.get("workloads", {}).get(workload, {}).get("rows", []):
            if row["contender"] == contender:
                return path, row
    return None


def newest_workload(workload: str) -> tuple[Path, dict[str, Any]]:
    """The newest run's record of a workload without contenders (e: the scrape benchmark)."""
    for path, document in reversed(run_files()):
        record = document.get("workloads", {}).get(workload)
        if record and record.get("variants"):
            return path, document
    raise SystemExit(f"no result file in {RESULTS} has workload {workload}: run benchmarks/run.py --only {workload}")


def newest(folder: Path, pattern: str) -> Path:
    """The last file of ``folder`` matching the regular expression ``pattern`` in name order."""
    matches = sorted(p for p in folder.glob("*.json") if re.fullmatch(pattern, p.name))
    if not matches:
        raise SystemExit(f"no file like {pattern} in {folder}: run its benchmark first")
    return matches[-1]


def seconds(value: float) -> str:
    if value >= 10:
        return f"{value:.1f} s"
    if value >= 1:
        return f"{value:.2f} s"
    return f"{value * 1000:.3g} ms"


def link(path: Path, page: str) -> str:
    """A Markdown link to a result's .md table (or its .json) from the page at ``page``."""
    table = path.with_suffix(".md")
    target = table if table.exists() else path
    rel = Path("../" * page.count("/")) / target.relative_to(REPO)
    return f"[{target.name}]({rel.as_posix()})"


def machine(document: dict[str, Any]) -> str:
    m = document["machine"]
    return f"{m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB"


# ---------------------------------------------------------------------------
# the sections


PAGE_PERFORMANCE = "docs/performance.md"
CONTENDERS = ("driftmon", "floor", "scipy-loop", "nannyml", "evidently")
HEADERS = ("driftmon", "floor", "scipy loop", "NannyML", "Evidently")


def end_to_end_table() -> str:
    """Whole-process medians of benchmarks/run.py's workloads a, d, b, and the kernel c."""
    workloads = (  # (key, title, driftmon's contender)
        ("a", f"1 M + 1 M rows {TIMES} 25 features from Parquet", "driftmon"),
        ("a-csv", "the same rows from CSV", "driftmon"),
        ("a-jsonl", "the same rows from JSON Lines (DuckDB's reader)", "driftmon"),
        ("a-jsonl", "the same, without the duckdb extra (`json_reader: pyarrow`)", "driftmon-pyarrow"),
        ("d", f"100 k + 100 k rows {TIMES} 500 features", "driftmon"),
        ("b", f"1 M + 10 M rows {TIMES} 25 features", "driftmon"),
    )
    lines = [
        "| job | " + " | ".join(HEADERS) + " | driftmon ÷ floor: time | memory |",
        "|---|" + "---:|" * (len(HEADERS) + 2),
    ]
    sources: dict[Path, list[str]] = {}
    for key, title, ours in workloads:
        cells = []
        for contender in (ours, *CONTENDERS[1:]):
            found = newest_row(key, contender)
            if found is None:
                cells.append(DASH)
                continue
            path, row = found
            sources.setdefault(path, []).append(f"{key}/{contender}")
            cell = seconds(row["wall_median_s"])
            if contender in (ours, "floor") or row["peak_rss_mb"] > 1000:
                cell += f", {row['peak_rss_mb']:,.0f} MB"
            cells.append(cell)
        time_ratio, memory_ratio = ratio(key, ours, "floor"), ratio(key, ours, "floor", field="peak_rss_mb")
        lines.append(f"| ({key}) {title} | " + " | ".join(cells) + f" | {time_ratio} | {memory_ratio} |")
    kernel = []
    for contender in ("driftmon", "numpy-floor", "scipy-loop"):
        found = newest_row("c", contender)
        kernel.append(seconds(found[1]["work_median_s"]) if found else DASH)
        if found:
            sources.setdefault(found[0], []).append(f"c/{contender}")
    lines.append(
        f"| (c) all 6 measures, 10,000 histograms {TIMES} 50 bins (kernel only) | {kernel[0]} | {kernel[1]} | "
        f"{kernel[2]} | {DASH} | {DASH} | {ratio('c', 'driftmon', 'numpy-floor', field='work_median_s')} | {DASH} |"
    )
    notes = [
        "",
        "Whole process (imports included), median of the runs, and peak RSS; (c) is the kernel alone, "
        "in-process. The ratios are driftmon's median time and peak RSS over the floor's from the same "
        f"run (our goal: 1.5{TIMES} at most). Each figure comes from the "
        "newest result file that measured it:",
        "",
    ]
    for path, items in sorted(sources.items()):
        document = json.loads(path.read_text(encoding="utf-8"))
        load = _load(document, sorted({item.split("/")[0] for item in items}))
        notes.append(
            f"- {link(path, PAGE_PERFORMANCE)} ({document['date'][:16].replace('T', ' ')} UTC, "
            f"{machine(document)}, {document['repeat']} runs, load average {load}): {', '.join(dict.fromkeys(items))}"
        )
    return "\n".join(lines + notes)


SHAPES = (  # benchmarks/run.py's shape workloads (benchmarks/README.md, Workloads)
    ("rg4", "20 normal numerics + 5 text of 60 values, 4 row groups of 256 k rows per file"),
    ("rg1", "the same rows, one row group per file"),
    ("points", "point bins: heavy-tailed, discrete, integer and zero-inflated numerics + 5 text"),
    ("text10", "20 text columns of 10 values + 5 numerics"),
    ("text60", "20 text columns of 60 values + 5 numerics"),
    ("text5000", "20 text columns of 5,000 values + 5 numerics"),
    ("nulls", "5-50 % nulls in 20 numerics, 30 % in 5 text columns"),
    ("files", "rg4's rows in 200 + 200 files of 5,000 rows"),
)


def shapes_table() -> str:
    """driftmon against the floor on every shape of data (1 M + 1 M rows x 25 features each)."""
    lines = [
        f"| shape (1 M + 1 M rows {TIMES} 25 features, Parquet) | driftmon: process, CPU, peak RSS | floor | "
        "driftmon ÷ floor: time | CPU | memory | load average |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    sources: set[Path] = set()
    for key, title in SHAPES:
        ours, floor = newest_row(key, "driftmon"), newest_row(key, "floor")
        if ours is None or floor is None or ours[0] != floor[0]:
            lines.append(f"| ({key}) {title} | {DASH} | {DASH} | {DASH} | {DASH} | {DASH} | {DASH} |")
            continue
        path, document = ours[0], json.loads(ours[0].read_text(encoding="utf-8"))
        sources.add(path)
        cells = [
            f"{seconds(row['wall_median_s'])}, {seconds(row['cpu_median_s'])}, {row['peak_rss_mb']:,.0f} MB"
            for row in (ours[1], floor[1])
        ]
        ratios = [ours[1][field] / floor[1][field] for field in ("wall_median_s", "cpu_median_s", "peak_rss_mb")]
        shown = " | ".join(f"{value:.2f}{TIMES}" for value in ratios)
        lines.append(f"| ({key}) {title} | {cells[0]} | {cells[1]} | {shown} | {_load(document, [key])} |")
    notes = [
        "",
        "Medians of interleaved runs (driftmon, floor, driftmon, ...), whole processes; CPU is user + system "
        f"seconds. From {', '.join(link(path, PAGE_PERFORMANCE) for path in sorted(sources)) or DASH}.",
    ]
    return "\n".join(lines + notes)


def _load(document: dict[str, Any], workloads: list[str]) -> str:
    values = []
    for key in workloads:
        record = document["workloads"][key]
        values += [record.get("load_before", [0])[0], record.get("load_after", [0])[0]]
    return f"{min(values):.1f}{DASH}{max(values):.1f}"


def ratio(workload: str, numerator: str, denominator: str, *, field: str = "wall_median_s") -> str:
    """numerator ÷ denominator (medians, or peak RSS), only when both come from the same result file."""
    top, bottom = newest_row(workload, numerator), newest_row(workload, denominator)
    if top is None or bottom is None or top[0] != bottom[0] or not bottom[1].get(field):
        return DASH
    return f"{top[1][field] / bottom[1][field]:.2f}{TIMES}"


def incremental_table() -> str:
    """benchmarks/incremental.py (workload f): evaluation cost with and without the live-file cache."""
    path = newest(RESULTS, r"incremental-\d{4}-\d\d-\d\dT\d{4}\.json")
    document = json.loads(path.read_text(encoding="utf-8"))
    load = document["load_average_before_after"]
    lines = [
        f"{document['title']} ({link(path, PAGE_PERFORMANCE)}, {document['date'][:16].replace('T', ' ')} UTC, "
        f"{document['machine']}, load average {min(load):.1f}{DASH}{max(load):.1f}; medians).",
        "",
        "| evaluation | cache | runs | wall | CPU | bytes read | files read / reused |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for step, label in (("steady", "no new file"), ("new file", "a file arrived")):
        off = document["summary"][step]["off"]
        for state in ("off", "on", "sql"):
            row = document["summary"][step].get(state)
            if not row or not row["runs"]:
                continue
            gain = "" if state == "off" else _against(off["wall_s"], row["wall_s"])
            read_gain = "" if state == "off" else _against(off["bytes_read"], row["bytes_read"])
            files = DASH if row["files_read"] is None else f"{row['files_read']} / {row['files_reused']}"
            cache = "`type: sql` (DuckDB)" if state == "sql" else state
            lines.append(
                f"| {label} | {cache} | {row['runs']} | {seconds(row['wall_s'])}{gain} | {seconds(row['cpu_s'])} | "
                f"{row['bytes_read'] / 1e6:,.0f} MB{read_gain} | {files} |"
            )
    return "\n".join(lines)


def _against(baseline: float, value: float) -> str:
    """A figure against the cache-off one: " (20 times less)" or " (2.9 times more)"."""
    if value <= baseline:
        return f" ({baseline / value:.0f}{TIMES} less)"
    return f" ({value / baseline:.1f}{TIMES} more)"


def parallel_table() -> str:
    """benchmarks/parallel_monitors.py: the daemon's time to evaluate every monitor once, by worker count."""
    path = newest(RESULTS, r"parallel-monitors-\d{4}-\d\d-\d\dT\d{4}\.json")
    document = json.loads(path.read_text(encoding="utf-8"))
    load = document["load_before"] + document["load_after"]
    when = document["date"][:16].replace("T", " ")
    lines = [
        f"{document['monitors']} monitors of {document['rows']:,} + {document['rows']:,} rows {TIMES} "
        f"{document['features']} features ({link(path, PAGE_PERFORMANCE)}, {when} UTC, "
        f"{machine(document)}, load average {min(load):.1f}{DASH}{max(load):.1f}).",
        "",
        "| `--evaluation.workers` | runs | all monitors evaluated, median | min | max |",
        "|---:|---:|---:|---:|---:|",
    ]
    for row in document["summary"]:
        lines.append(
            f"| {row['workers']} | {row['runs']} | {seconds(row['evaluating_median_s'])} | "
            f"{seconds(row['evaluating_min_s'])} | {seconds(row['evaluating_max_s'])} |"
        )
    return "\n".join(lines)


def scrape_table() -> str:
    """benchmarks/run.py's workload e: /metrics latency of an idle and a busy daemon."""
    path, document = newest_workload("e")
    record = document["workloads"]["e"]
    lines = [
        f"{record['title']}: {record['series']:,} series, {record['body_bytes'] / 1e6:.1f} MB per plain-text scrape "
        f"({link(path, PAGE_PERFORMANCE)}, {document['date'][:16].replace('T', ' ')} UTC, {machine(document)}).",
        "",
        "| daemon, request | scrapes | median | p99 | max |",
        "|---|---:|---:|---:|---:|",
    ]
    for variant, figures in record["variants"].items():
        lines.append(
            f"| {variant} | {figures['scrapes']} | {seconds(figures['median_s'])} | "
            f"{seconds(figures['p99_s'])} | {seconds(figures['max_s'])} |"
        )
    lines += [
        "",
        f"Evaluations skipped by the busy daemon: {record['evaluations_skipped_busy']}; "
        f"peak RSS {record['daemon_peak_rss_mb_idle']:.0f} MB idle, {record['daemon_peak_rss_mb_busy']:.0f} MB busy.",
    ]
    return "\n".join(lines)


def busy_scrape_table() -> str:
    """benchmarks/busy_scrape.py: /metrics while every worker evaluates back to back."""
    path = newest(RESULTS, r"busy-scrape-\d{4}-\d{2}-\d{2}T\d{4}\.json")
    document = json.loads(path.read_text(encoding="utf-8"))
    runs = document["runs"]
    first = runs[0]
    lines = [
        f"{first['monitors']} monitors {TIMES} {first['features']} features {TIMES} {first['live_rows']:,} rows, "
        f"every monitor due every second: {first['series']:,} series, {first['body_bytes'] / 1e6:.1f} MB of text, "
        f"{first['gzip_body_bytes'] / 1e6:.2f} MB gzipped; a gzip scrape every 0.1 s "
        f"({link(path, PAGE_PERFORMANCE)}: `{document['command']}`, {document['date']} UTC, {document['machine']}).",
        "",
        "| run | scrapes | p50 | p90 | p99 | max | evaluations/s |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for number, run in enumerate(runs, 1):
        lines.append(
            f"| {number} | {run['scrapes']} | {run['p50_ms']:.1f} ms | {run['p90_ms']:.1f} ms | "
            f"{run['p99_ms']:.0f} ms | {run['max_ms']:.0f} ms | {run['evaluations_per_s']:.1f} |"
        )
    return "\n".join(lines)


HTTP_COLUMNS = (
    ("200 concurrent scrapes: p50 / p99", lambda r: f"{r['p50_ms']:,.0f} / {r['p99_ms']:,.0f} ms"),
    ("threads at rest / with 1,000 idle sockets", lambda r: f"{r['threads_at_rest']} / {r['threads_idle']}"),
    ("RSS at rest / with 1,000 idle", lambda r: f"{r['rss_at_rest_mb']:.0f} / {r['rss_idle_mb']:.0f} MB"),
    ("a scrape while 1,000 sockets idle", lambda r: _ms(r["scrape_with_idle_ms"])),
    ("a scrape while 50 slowloris clients drip", lambda r: _ms(r["scrape_with_slow_ms"])),
)
HTTP_NAMES = {
    "wsgiref": "wsgiref, thread per connection (driftmon before)",
    "cheroot": "cheroot 11.1, stock (backlog raised to 1024)",
    "waitress": "waitress 3.0 (no TLS)",
    "driftmon": "**driftmon: cheroot + the gate**",
    "driftmon-tls": "driftmon with TLS and basic auth (every scrape a new TLS connection)",
}


def _ms(value: float | str) -> str:
    return "inf" if value in ("inf", float("inf")) else f"{float(value):.0f} ms"


def http_server_table() -> str:
    """benchmarks/http_server.py: the servers compared, plain and with TLS."""
    page = "docs/operations.md"
    plain = newest(RESULTS, r"http-server-\d{4}-\d{2}-\d{2}T\d{4}\.json")
    tls = newest(RESULTS, r"http-server-\d{4}-\d{2}-\d{2}T\d{4}-tls\.json")
    rows = json.loads(plain.read_text(encoding="utf-8")) + json.loads(tls.read_text(encoding="utf-8"))
    lines = [
        "| server | " + " | ".join(title for title, _ in HTTP_COLUMNS) + " |",
        "| --- " * (len(HTTP_COLUMNS) + 1) + "|",
    ]
    for row in rows:
        name = HTTP_NAMES.get(row["server"], row["server"])
        lines.append(f"| {name} | " + " | ".join(cell(row) for _, cell in HTTP_COLUMNS) + " |")
    lines += [
        "",
        f'From {link(plain, page)} and {link(tls, page)}; "inf" is a scrape that had not finished after 60 s.',
    ]
    return "\n".join(lines)


def instrument_table() -> str:
    """benchmarks/instrument/run.py: µs per observed row."""
    folder = REPO / "benchmarks" / "instrument"
    path = newest(folder, r"results-.*\.json")
    figures = json.loads(path.read_text(encoding="utf-8"))
    lines = ["| input | µs per row, median / p90 |", "| --- | ---: |"]
    for name, value in figures.items():
        if "median_us_per_row" in value:
            lines.append(f"| {name} | {value['median_us_per_row']:.2f} / {value['p90_us_per_row']:.2f} |")
    series = figures.get("series", {})
    if series:
        lines += [
            "",
            f"10,000 distinct unseen categories in one batch: {series['before']} series before, "
            f"{series['after']} after ([{path.name}](../benchmarks/instrument/{path.name})).",
        ]
    return "\n".join(lines)


def _decision(entry: dict[str, Any] | None, word: str) -> str:
    if entry is None:
        return DASH
    return f"**{word}**" if entry["flag"] else "ok"


def shift_tables() -> str:
    """benchmarks/shifts/results.json: the planted shifts, and every contender's hits over all cases."""
    path = REPO / "benchmarks" / "shifts" / "results.json"
    result = json.loads(path.read_text(encoding="utf-8"))
    lines = [
        f"From [results.json](../benchmarks/shifts/results.json) (run {result['started']}, {result['machine']}); "
        "**bold**: flagged; default: worst severity and JS in bits.",
        "",
        "| case | what changed | live rows | expected | driftmon default | driftmon auto | NannyML | Evidently |",
        "|---|---|---:|---|---|---|---|---|",
    ]
    for row in result["rows"]:
        if row["kind"] != "synthetic":
            continue
        default = row["default"]
        severity = f"**{default['severity']}**" if default["flag"] else default["severity"]
        if default["severity"] in ("warning", "critical"):
            severity += f" (JS {default['scores']['js']:.2g})"
        auto = f"**{row['auto']['severity']}**" if row["auto"]["flag"] else row["auto"]["severity"]
        lines.append(
            f"| {row['case']} | {row['what']} | {row['live_rows']:,} | {row['expected']} | {severity} | {auto} | "
            f"{_decision(row.get('nannyml'), 'alert')} | {_decision(row.get('evidently'), 'drift')} |"
        )
    firm = [row for row in result["rows"] if row["expected"] in ("drift", "no drift")]
    synthetic = sum(row["kind"] == "synthetic" for row in firm)
    lines += [
        "",
        f"Over every row with a firm expectation ({synthetic} synthetic cases and {len(firm) - synthetic} real "
        "feature pairs):",
        "",
        "| decision | drift caught | no drift left alone |",
        "|---|---:|---:|",
    ]
    for key, title in (
        ("default", "driftmon default"),
        ("auto", "driftmon auto"),
        ("nannyml", "NannyML"),
        ("evidently", "Evidently"),
    ):
        judged = [row for row in firm if row.get(key)]
        drift = [row for row in judged if row["expected"] == "drift"]
        calm = [row for row in judged if row["expected"] == "no drift"]
        caught = sum(bool(row[key]["flag"]) for row in drift)
        alone = sum(not row[key]["flag"] for row in calm)
        lines.append(f"| {title} | {caught}/{len(drift)} | {alone}/{len(calm)} |")
    return "\n".join(lines)


def check_example() -> str:
    """What `driftmon check` prints on the shipped example (fixed seeds: the same every time)."""
    from driftmon.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        main(["check", "-c", str(REPO / "config" / "driftmon.example.yaml")])
    return "```\n" + out.getvalue().rstrip("\n") + "\n```"


def config_reference() -> str:
    from driftmon.docs import reference_table

    return reference_table()


def config_defaults() -> str:
    from driftmon.docs import defaults_yaml

    return "```yaml\n" + defaults_yaml() + "\n```"


def metrics_reference() -> str:
    from driftmon.docs import metrics_table

    return metrics_table()


SECTIONS = (
    Section("README.md", "check-example", check_example),
    Section("docs/configuration.md", "config-defaults", config_defaults),
    Section("docs/configuration.md", "config-reference", config_reference),
    Section("docs/metrics.md", "metrics-reference", metrics_reference),
    Section(PAGE_PERFORMANCE, "end-to-end", end_to_end_table),
    Section(PAGE_PERFORMANCE, "shapes", shapes_table),
    Section(PAGE_PERFORMANCE, "incremental", incremental_table),
    Section(PAGE_PERFORMANCE, "parallel-monitors", parallel_table),
    Section(PAGE_PERFORMANCE, "scrape", scrape_table),
    Section(PAGE_PERFORMANCE, "busy-scrape", busy_scrape_table),
    Section("docs/operations.md", "http-servers", http_server_table),
    Section("docs/instrumenting.md", "instrument-cost", instrument_table),
    Section("docs/statistics.md", "shift-benchmark", shift_tables),
)


# ---------------------------------------------------------------------------
# markers


def markers(name: str) -> tuple[str, str]:
    """The begin and end comments of a section (the config reference keeps its own)."""
    if name == "config-reference":
        from driftmon.docs import BEGIN, END

        return BEGIN, END
    return f"<!-- generated:{name} (by `{COMMAND}`; do not edit) -->", f"<!-- /generated:{name} -->"


def fill(text: str, section: Section) -> str:
    """``text`` with the section's body regenerated; SystemExit if its markers are missing.

    The begin marker is found by its name (``<!-- generated:NAME`` up to ``-->``), so a new
    section can be started with a bare ``<!-- generated:NAME -->`` and its end marker.
    """
    begin, end = markers(section.name)
    body = section.make()
    if section.name == "config-reference":  # reference_table() includes its markers
        replacement, pattern = body, re.escape(begin)
    else:
        replacement = f"{begin}\n{body}\n{end}"
        pattern = rf"<!-- generated:{re.escape(section.name)} [^>]*-->"  # with or without the command
    found = re.search(pattern, text)
    stop = text.find(end, found.start()) if found else -1
    if found is None or stop < 0:
        raise SystemExit(f"{section.path}: no {begin!r} ... {end!r} markers for section {section.name}")
    return text[: found.start()] + replacement + text[stop + len(end) :]


def regenerate(root: Path = REPO) -> dict[str, tuple[str, str]]:
    """Every page with generated sections: {path: (current text, regenerated text)}."""
    pages: dict[str, tuple[str, str]] = {}
    for section in SECTIONS:
        current = (root / section.path).read_text(encoding="utf-8")
        before = pages.get(section.path, (current, current))[1]
        pages[section.path] = (current, fill(before, section))
    return pages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a section is stale")
    args = parser.parse_args(argv)
    stale = []
    for path, (current, regenerated) in regenerate().items():
        if current != regenerated:
            stale.append(path)
            if not args.check:
                (REPO / path).write_text(regenerated, encoding="utf-8")
    if args.check and stale:
        print(f"stale generated sections in {', '.join(stale)}: run `{COMMAND}`", file=sys.stderr)
        return 1
    print(("updated: " + ", ".join(stale)) if stale and not args.check else "all generated sections are current")
    return 0


if __name__ == "__main__":
    sys.exit(main())
