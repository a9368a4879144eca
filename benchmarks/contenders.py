"""One contender on one workload, in its own process: ``python contenders.py SPEC.json``.

run.py starts this script once per measured run, under the interpreter the contender
needs (the project's .venv for driftmon, the floor and the scipy loop; the peers' venv
for Evidently and NannyML), and reads rusage (peak RSS, CPU) from the outside. The last
line printed is a JSON object:

    {"import_s": float, "work_s": float | null, "times": [float] | null, "scores": {...}}

``import_s`` is the time to import the contender's libraries; ``work_s`` the job itself
(read, bin, score) after that; ``times`` is used by the kernel workload, which repeats the
call in-process. ``scores`` holds what the contender computed, per feature, under its own
names (so definitions that differ are never mixed up).

Imports are local to each contender: this file must run in either environment.
"""

from __future__ import annotations

import importlib
import io
import json
import math
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import redirect_stdout
from typing import Any

LN2 = math.log(2.0)

# ---------------------------------------------------------------------------
# tabular workloads (a), (b), (d): reference + live Parquet files -> scores per feature


def driftmon_check(spec: dict[str, Any]) -> dict[str, Any]:
    """`driftmon check -c CONFIG --format json`: the CLI's own main(), stdout captured."""
    begun = time.perf_counter()
    # main() imports lazily; import its libraries first, as every other contender does,
    # so that "work" is the job and "import" the libraries for everyone.
    import driftmon.config
    import driftmon.evaluate
    import driftmon.sources  # noqa: F401
    from driftmon.cli import main

    imported = time.perf_counter()
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(["check", "-c", spec["config"], "--format", "json"])
    done = time.perf_counter()
    if code not in (0, 1):
        raise SystemExit(f"driftmon check exited {code}: {out.getvalue()[:2000]}")
    document = json.loads(out.getvalue())
    scores = {}
    for monitor in document["monitors"]:
        if monitor["error"]:
            raise SystemExit(f"driftmon monitor {monitor['monitor']} failed: {monitor['error']}")
        for feature in monitor["features"]:
            scores[feature["feature"]] = {k: (math.inf if v == "+Inf" else v) for k, v in feature["scores"].items()}
    return {"import_s": imported - begun, "work_s": done - imported, "scores": scores}


def _floor(spec: dict[str, Any], threaded: bool) -> dict[str, Any]:
    """The fastest hand-written pyarrow + numpy version of the same job we could write.

    Same bins and measures as driftmon's defaults (one bin per value when the reference
    has at most 10 distinct values, else values holding >= 1/10 as point bins and
    quantile edges of the rest, duplicates merged; top-50 categories + __other__ +
    __unseen__; missing bin; 0.5 on the empty side of bins seen by one side only; bins
    empty on both sides dropped; KL and JS in bits, PSI in nats), so its scores must
    equal driftmon's to rounding. Reads Parquet with column projection and categorical
    columns as Arrow dictionaries; the reference whole (its quantiles need the whole
    column), the live side one row group at a time (bounded memory); the reference's
    numeric columns sorted once (edges and counts from the sorted copy), the live ones
    counted by comparisons against each edge (no sort); categorical counts per
    dictionary entry with bincount; one pass of the measures over a 2-D array. Columns
    are spread over a thread pool (numpy and Arrow release the GIL).
    """
    begun = time.perf_counter()
    import numpy as np
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    imported = time.perf_counter()
    numeric: list[str] = spec["numeric"]
    categorical: list[str] = spec["categorical"]
    bins: int = spec.get("bins", 10)
    max_categories: int = spec.get("max_categories", 50)
    columns = numeric + categorical
    workers = (os.cpu_count() or 1) if threaded else 1
    pool = ThreadPoolExecutor(workers) if workers > 1 else None
    mapper: Callable[..., Any] = pool.map if pool else map

    def as_float(column: Any) -> Any:
        parts = []
        for chunk in column.chunks:
            if chunk.null_count:
                chunk = pc.fill_null(chunk, math.nan)
            parts.append(chunk.to_numpy(zero_copy_only=False))
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def sorted_counts(ordered: Any, cuts: Any, inclusive: Any) -> tuple[Any, int]:
        """Counts of a sorted array (NaN sorts last) between the bin boundaries, and its NaNs."""
        present = int(np.searchsorted(ordered, np.inf, side="right"))
        counted = np.where(
            inclusive, np.searchsorted(ordered, cuts, side="right"), np.searchsorted(ordered, cuts, side="left")
        )
        bounds = np.concatenate(([0], counted, [present]))
        return np.diff(bounds).astype(np.float64), ordered.size - present

    def compared_counts(values: Any, cuts: Any, inclusive: Any) -> tuple[Any, int]:
        """The same counts without sorting: for each boundary, how many values lie below it.

        A handful of comparisons per value beats a sort (O(log n) per value) for the
        usual 5-30 boundaries; blocks of 256 k values keep the boolean buffer in cache.
        """
        block = 1 << 18
        counted = np.zeros(cuts.size + 1, dtype=np.int64)  # per boundary, then <= +inf
        buffer = np.empty(block, dtype=bool)
        for start in range(0, values.size, block):
            part = values[start : start + block]
            flags = buffer[: part.size]
            for i, (cut, closed) in enumerate(zip(cuts.tolist(), inclusive.tolist(), strict=True)):
                counted[i] += np.count_nonzero((np.less_equal if closed else np.less)(part, cut, out=flags))
            counted[-1] += np.count_nonzero(np.less_equal(part, np.inf, out=flags))
        bounds = np.concatenate(([0], counted))
        return np.diff(bounds).astype(np.float64), values.size - int(counted[-1])

    def entry_counts(chunk: Any) -> tuple[Any, int]:
        """Counts per dictionary entry of one dictionary chunk, and its nulls."""
        size = len(chunk.dictionary)
        indices = chunk.indices
        if chunk.null_count:
            indices = pc.fill_null(indices, size)
        counts = np.bincount(indices.to_numpy(), minlength=size + 1)
        return counts[:size], int(counts[size])

    # reference: derive the bins and count
    reference_table = pq.read_table(
        spec["reference"], columns=columns, read_dictionary=categorical, use_threads=threaded
    )

    def quantiles(finite: Any, parts: int) -> Any:
        position = np.linspace(0.0, 1.0, parts + 1) * (finite.size - 1)
        below = np.floor(position).astype(np.int64)
        above = np.minimum(below + 1, finite.size - 1)
        edges = finite[below] + (finite[above] - finite[below]) * (position - below)
        edges[0], edges[-1] = finite[0], finite[-1]
        return edges

    def profile_numeric(name: str, table: Any = reference_table) -> tuple[Any, Any, Any, int]:
        ordered = np.sort(as_float(table.column(name)))
        lo = int(np.searchsorted(ordered, -np.inf, side="right"))
        hi = int(np.searchsorted(ordered, np.inf, side="left"))
        finite = ordered[lo:hi]
        # Point bins: every value when there are at most `bins`, else values holding >= 1/bins.
        starts = np.flatnonzero(np.concatenate(([True], finite[1:] != finite[:-1])))
        values = finite[starts]
        if values.size <= bins:
            points, edges = values, values
        else:
            runs = np.diff(np.append(starts, finite.size))
            heavy = runs * bins >= finite.size
            points = values[heavy]
            rest = finite[~np.repeat(heavy, runs)] if points.size else finite
            if rest[0] == rest[-1]:
                points = np.sort(np.append(points, rest[0]))
                edges = rest[:1]
            else:
                edges = quantiles(rest, bins - points.size)
            edges = np.unique(np.concatenate([edges, points]))
        is_point = np.isin(edges, points)
        cuts = np.repeat(edges, np.where(is_point, 2, 1))
        inclusive = np.zeros(cuts.size, dtype=bool)
        inclusive[np.cumsum(np.where(is_point, 2, 1))[is_point] - 1] = True  # the "<= v" of each point
        if not is_point[-1]:
            inclusive[-1] = True  # the last interval is closed on the right
        counts, missing = sorted_counts(ordered, cuts, inclusive)
        return cuts, inclusive, counts, missing

    def profile_categorical(name: str, table: Any = reference_table) -> tuple[Any, Any, Any, int]:
        totals: dict[str, int] = {}
        missing = 0
        for chunk in table.column(name).chunks:
            counts, nulls = entry_counts(chunk)
            missing += nulls
            for value, count in zip(chunk.dictionary.to_pylist(), counts.tolist(), strict=True):
                if count:
                    totals[value] = totals.get(value, 0) + count
        order = sorted(totals.items(), key=lambda item: (-item[1], item[0]))
        categories = [value for value, _ in order[:max_categories]]
        others = [value for value, _ in order[max_categories:]]
        top = [count for _, count in order[:max_categories]]
        rest = sum(count for _, count in order[max_categories:])
        counts = np.array([*top, rest, 0], dtype=np.float64)  # categories, __other__, __unseen__
        return categories, others, counts, missing

    numeric_reference = list(mapper(profile_numeric, numeric))
    categorical_reference = list(mapper(profile_categorical, categorical))
    del reference_table, profile_numeric, profile_categorical  # the defaults hold the table

    # live: one row group at a time, counts accumulated
    import pyarrow as pa

    live_file = pq.ParquetFile(spec["live"], read_dictionary=categorical)
    live_numeric = [np.zeros(cuts.size + 1) for cuts, _, _, _ in numeric_reference]
    live_numeric_missing = [0] * len(numeric)
    live_categorical = [np.zeros(len(cats) + 2) for cats, _, _, _ in categorical_reference]
    live_categorical_missing = [0] * len(categorical)
    value_sets = [
        (pa.array(cats, pa.string()), pa.array(others, pa.string())) for cats, others, _, _ in categorical_reference
    ]

    for group in range(live_file.num_row_groups):
        table = live_file.read_row_group(group, columns=columns, use_threads=threaded)

        def count_numeric(i: int, table: Any = table) -> None:
            counts, missing = compared_counts(as_float(table.column(numeric[i])), *numeric_reference[i][:2])
            live_numeric[i] += counts
            live_numeric_missing[i] += missing

        def count_categorical(j: int, table: Any = table) -> None:
            cats, others = value_sets[j]
            k = len(cats)
            for chunk in table.column(categorical[j]).chunks:
                counts, nulls = entry_counts(chunk)
                position = pc.fill_null(pc.index_in(chunk.dictionary, value_set=cats), -1).to_numpy()
                is_other = pc.is_in(chunk.dictionary, value_set=others).to_numpy(zero_copy_only=False)
                target = np.where(position >= 0, position, np.where(is_other, k, k + 1))
                live_categorical[j] += np.bincount(target, weights=counts, minlength=k + 2)
                live_categorical_missing[j] += nulls

        list(mapper(count_numeric, range(len(numeric))))
        list(mapper(count_categorical, range(len(categorical))))
        del table

    # measures: one pass over (features x bins), missing as the last bin
    rows = [
        (np.append(counts, missing), np.append(live_numeric[i], live_numeric_missing[i]))
        for i, (_, _, counts, missing) in enumerate(numeric_reference)
    ] + [
        (np.append(counts, missing), np.append(live_categorical[j], live_categorical_missing[j]))
        for j, (_, _, counts, missing) in enumerate(categorical_reference)
    ]
    width = max(r.size for r, _ in rows)
    q_counts = np.zeros((len(rows), width))
    p_counts = np.zeros((len(rows), width))
    for row, (r, c) in enumerate(rows):
        q_counts[row, : r.size] = r
        p_counts[row, : c.size] = c
    scores = numpy_floor_measures(p_counts, q_counts, ("kl", "js", "psi"))
    done = time.perf_counter()
    if pool:
        pool.shutdown()
    names = numeric + categorical
    return {
        "import_s": imported - begun,
        "work_s": done - imported,
        "scores": {name: {m: float(scores[m][i]) for m in ("kl", "js", "psi")} for i, name in enumerate(names)},
    }


def floor(spec: dict[str, Any]) -> dict[str, Any]:
    return _floor(spec, threaded=True)


def floor_single(spec: dict[str, Any]) -> dict[str, Any]:
    return _floor(spec, threaded=False)


def scipy_loop(spec: dict[str, Any]) -> dict[str, Any]:
    """What a user writes by hand: pandas, np.histogram and scipy per column, same bins."""
    begun = time.perf_counter()
    import numpy as np
    import pandas as pd
    from scipy.spatial.distance import jensenshannon
    from scipy.stats import entropy

    imported = time.perf_counter()
    numeric: list[str] = spec["numeric"]
    categorical: list[str] = spec["categorical"]
    bins: int = spec.get("bins", 10)
    max_categories: int = spec.get("max_categories", 50)
    reference = pd.read_parquet(spec["reference"], columns=numeric + categorical)
    live = pd.read_parquet(spec["live"], columns=numeric + categorical)
    scores = {}
    for name in numeric:
        ref = reference[name].to_numpy(dtype=float, na_value=np.nan)
        cur = live[name].to_numpy(dtype=float, na_value=np.nan)
        finite = ref[np.isfinite(ref)]
        # A bin per value for few distinct values; else values holding >= 1/bins get a bin of
        # their own and the rest is cut at its quantiles.
        values, counts = np.unique(finite, return_counts=True)
        if values.size <= bins:
            points = edges = values
        else:
            points = values[counts * bins >= finite.size]
            rest = finite[~np.isin(finite, points)]
            if rest.min() == rest.max():
                points, edges = np.sort(np.append(points, rest[0])), rest[:1]
            else:
                edges = np.quantile(rest, np.linspace(0, 1, bins - points.size + 1))
            edges = np.unique(np.concatenate([edges, points]))
        # np.histogram's bins are [a, b): a point v is [v, nextafter(v)); the last interval is
        # closed on the right, as in driftmon (and SPEC section 2)
        outer = [-np.inf]
        for index, edge in enumerate(edges):
            if edge in points:
                outer += [edge, np.nextafter(edge, np.inf)]
            else:
                outer.append(np.nextafter(edge, np.inf) if index == edges.size - 1 else edge)
        outer.append(np.inf)
        ref_counts = np.append(np.histogram(ref[~np.isnan(ref)], outer)[0], np.isnan(ref).sum())
        cur_counts = np.append(np.histogram(cur[~np.isnan(cur)], outer)[0], np.isnan(cur).sum())
        scores[name] = _scipy_scores(ref_counts, cur_counts, entropy, jensenshannon)
    for name in categorical:
        ref_freq = reference[name].value_counts()
        ref_freq = ref_freq.sort_index().sort_values(ascending=False, kind="stable")
        top = ref_freq.index[:max_categories]
        others = set(ref_freq.index[max_categories:])
        cur_freq = live[name].value_counts()
        cur_top = cur_freq.reindex(top, fill_value=0)
        cur_other = cur_freq[cur_freq.index.isin(others)].sum()
        ref_counts = np.array(
            [*ref_freq.iloc[:max_categories], ref_freq.iloc[max_categories:].sum(), 0, reference[name].isna().sum()],
            dtype=float,
        )
        cur_counts = np.array(
            [*cur_top, cur_other, cur_freq.sum() - cur_top.sum() - cur_other, live[name].isna().sum()], dtype=float
        )
        scores[name] = _scipy_scores(ref_counts, cur_counts, entropy, jensenshannon)
    done = time.perf_counter()
    return {"import_s": imported - begun, "work_s": done - imported, "scores": scores}


def _scipy_scores(ref_counts: Any, cur_counts: Any, entropy: Any, jensenshannon: Any) -> dict[str, float]:
    import numpy as np

    kept = (ref_counts > 0) | (cur_counts > 0)
    q = np.where(ref_counts[kept] > 0, ref_counts[kept], 0.5)  # 0.5 only where one side is empty
    p = np.where(cur_counts[kept] > 0, cur_counts[kept], 0.5)
    q, p = q / q.sum(), p / p.sum()
    return {
        "kl": float(entropy(p, q, base=2)),
        "js": float(jensenshannon(p, q, base=2) ** 2),
        "psi": float(np.sum((p - q) * np.log(p / q))),
    }


def evidently(spec: dict[str, Any]) -> dict[str, Any]:
    """Evidently's Report with ValueDrift(method=jensenshannon) and (method=kl_div) per column.

    Its own bins (Sturges edges over reference + current for numeric columns with more
    than 20 distinct values, every value for the others); JS is scipy's *distance* in
    nats; kl_div is KL(reference || current) with a 1e-4 floor, in nats.
    """
    begun = time.perf_counter()
    import pandas as pd
    from evidently import DataDefinition, Dataset, Report
    from evidently.metrics import ValueDrift

    imported = time.perf_counter()
    numeric: list[str] = spec["numeric"]
    categorical: list[str] = spec["categorical"]
    reference = pd.read_parquet(spec["reference"], columns=numeric + categorical)
    live = pd.read_parquet(spec["live"], columns=numeric + categorical)
    definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)
    ref_data = Dataset.from_pandas(reference, data_definition=definition)
    live_data = Dataset.from_pandas(live, data_definition=definition)
    metrics = [
        ValueDrift(column=name, method=method)
        for name in numeric + categorical
        for method in ("jensenshannon", "kl_div")
    ]
    snapshot = Report(metrics).run(current_data=live_data, reference_data=ref_data)
    result = snapshot.dict()
    done = time.perf_counter()
    scores: dict[str, dict[str, float]] = {}
    for metric in result["metrics"]:
        config = metric["config"]
        key = {"jensenshannon": "js_distance_nats", "kl_div": "kl_reference_live_nats"}[config["method"]]
        scores.setdefault(config["column"], {})[key] = float(metric["value"])
    return {"import_s": imported - begun, "work_s": done - imported, "scores": scores}


def nannyml(spec: dict[str, Any]) -> dict[str, Any]:
    """NannyML's UnivariateDriftCalculator, jensen_shannon for every column, one live chunk.

    Its own bins (Doane edges from the reference for continuous columns); reports scipy's
    JS *distance* in base 2.
    """
    begun = time.perf_counter()
    import nannyml as nml
    import pandas as pd

    imported = time.perf_counter()
    numeric: list[str] = spec["numeric"]
    categorical: list[str] = spec["categorical"]
    names = numeric + categorical
    reference = pd.read_parquet(spec["reference"], columns=names)
    live = pd.read_parquet(spec["live"], columns=names)
    calculator = nml.UnivariateDriftCalculator(
        column_names=names,
        treat_as_categorical=categorical,
        continuous_methods=["jensen_shannon"],
        categorical_methods=["jensen_shannon"],
        chunk_number=1,
    )
    calculator.fit(reference)
    table = calculator.calculate(live).filter(period="analysis").to_df()
    done = time.perf_counter()
    scores = {name: {"js_distance_bits": float(table[(name, "jensen_shannon", "value")].iloc[0])} for name in names}
    return {"import_s": imported - begun, "work_s": done - imported, "scores": scores}


# ---------------------------------------------------------------------------
# kernel workload (c): every measure on (features x bins) count arrays

ALL_MEASURES = ("kl", "kl_reverse", "js", "psi", "hellinger", "tvd")


def numpy_floor_measures(live: Any, reference: Any, measures: tuple[str, ...] = ALL_MEASURES) -> dict[str, Any]:
    """The vectorised-numpy floor: 0.5 on the empty side of one-sided bins, bins empty on both sides dropped,
    every measure over the whole 2-D array at once. KL and JS in bits.

    Written for speed: four (F, B) float buffers, every later step in place (a freshly
    allocated 4 MB temporary costs more in page faults than the arithmetic it holds), the
    logarithm taken twice (ln(p/q), ln(p/m)), JS as sum m*ln(p/m) + KL(q||p)/2.
    """
    import numpy as np

    kept = live > 0
    kept |= reference > 0
    dropped = ~kept
    p = np.multiply(kept & (live == 0), 0.5)
    p += live
    p /= p.sum(axis=1, keepdims=True)
    q = np.multiply(kept & (reference == 0), 0.5)
    q += reference
    q /= q.sum(axis=1, keepdims=True)
    work = np.add(p, dropped)  # dropped bins: 1/1 inside the logs, so their terms vanish
    other = np.add(q, dropped)
    work /= other
    np.log(work, out=work)  # ln(p/q)
    p_lr = np.einsum("ij,ij->i", p, work)
    q_lr = np.einsum("ij,ij->i", q, work)
    out: dict[str, Any] = {"kl": p_lr / LN2, "kl_reverse": -q_lr / LN2, "psi": p_lr - q_lr}
    if "js" in measures:
        np.add(p, q, out=other)
        other *= 0.5  # m
        other += dropped
        np.add(p, dropped, out=work)
        work /= other
        np.log(work, out=work)  # ln(p/m)
        other -= dropped
        out["js"] = (np.einsum("ij,ij->i", other, work) - 0.5 * q_lr) / LN2
    if "hellinger" in measures:
        np.sqrt(p, out=work)
        np.sqrt(q, out=other)
        work -= other
        out["hellinger"] = np.sqrt(0.5 * np.einsum("ij,ij->i", work, work))
    if "tvd" in measures:
        np.subtract(p, q, out=work)
        np.abs(work, out=work)
        out["tvd"] = 0.5 * work.sum(axis=1)
    return {m: out[m] for m in measures}


def _kernel_scipy_loop(live: Any, reference: Any) -> dict[str, Any]:
    """One feature at a time, as a user would write it with scipy."""
    import numpy as np
    from scipy.spatial.distance import jensenshannon
    from scipy.stats import entropy

    out = {m: np.empty(live.shape[0]) for m in ALL_MEASURES}
    for i in range(live.shape[0]):
        kept = (live[i] > 0) | (reference[i] > 0)
        p = np.where(live[i][kept] > 0, live[i][kept], 0.5)
        q = np.where(reference[i][kept] > 0, reference[i][kept], 0.5)
        p, q = p / p.sum(), q / q.sum()
        out["kl"][i] = entropy(p, q, base=2)
        out["kl_reverse"][i] = entropy(q, p, base=2)
        out["js"][i] = jensenshannon(p, q, base=2) ** 2
        out["psi"][i] = np.sum((p - q) * np.log(p / q))
        out["hellinger"][i] = np.sqrt(0.5 * np.sum((np.sqrt(p) - np.sqrt(q)) ** 2))
        out["tvd"][i] = 0.5 * np.sum(np.abs(p - q))
    return out


def _kernel_scipy_axis(live: Any, reference: Any) -> dict[str, Any]:
    """scipy's functions with axis=1 over the whole array (the vectorised scipy way)."""
    import numpy as np
    from scipy.spatial.distance import jensenshannon
    from scipy.stats import entropy

    kept = (live > 0) | (reference > 0)
    p = live + (kept & (live == 0)) * 0.5
    q = reference + (kept & (reference == 0)) * 0.5
    p, q = p / p.sum(axis=1, keepdims=True), q / q.sum(axis=1, keepdims=True)
    return {
        "kl": entropy(p, q, base=2, axis=1),
        "kl_reverse": entropy(q, p, base=2, axis=1),
        "js": jensenshannon(p, q, base=2, axis=1) ** 2,
        "psi": np.sum((p - q) * np.log(np.where(kept, p / np.where(kept, q, 1.0), 1.0)), axis=1),
        "hellinger": np.sqrt(0.5 * np.sum((np.sqrt(p) - np.sqrt(q)) ** 2, axis=1)),
        "tvd": 0.5 * np.sum(np.abs(p - q), axis=1),
    }


def kernel(spec: dict[str, Any]) -> dict[str, Any]:
    """Time one kernel `spec["repeat"]` times in this process (after one warm-up call)."""
    begun = time.perf_counter()
    import numpy as np

    name = spec["kernel"]
    if name == "driftmon":
        from driftmon.divergence import MEASURE_NAMES, Smoothing, divergences

        def function(live: Any, reference: Any) -> dict[str, Any]:
            return divergences(live, reference, MEASURE_NAMES, Smoothing("unseen", 0.5), 2.0)
    elif name == "numpy-floor":
        function = numpy_floor_measures
    elif name == "scipy-loop":
        importlib.import_module("scipy.stats")  # imported before the clock starts

        function = _kernel_scipy_loop
    elif name == "scipy-axis":
        importlib.import_module("scipy.stats")  # imported before the clock starts

        function = _kernel_scipy_axis
    else:
        raise SystemExit(f"unknown kernel {name!r}")
    imported = time.perf_counter()
    live, reference = np.load(spec["live"]), np.load(spec["reference"])
    result = function(live, reference)  # warm-up, and the scores to compare
    times = []
    for _ in range(spec["repeat"]):
        started = time.perf_counter()
        function(live, reference)
        times.append(time.perf_counter() - started)
    sample = {m: [float(v) for v in result[m][:5]] for m in ALL_MEASURES}
    summary = {m: [float(np.nanmin(result[m])), float(np.nanmax(result[m]))] for m in ALL_MEASURES}
    np.save(spec["scores_out"], np.stack([np.asarray(result[m], dtype=float) for m in ALL_MEASURES]))
    return {"import_s": imported - begun, "times": times, "scores": {"first5": sample, "range": summary}}


# ---------------------------------------------------------------------------
# memory bandwidth


def bandwidth(spec: dict[str, Any]) -> dict[str, Any]:
    """Sum of a 1 GB float64 array (already touched), `repeat` times."""
    begun = time.perf_counter()
    import numpy as np

    imported = time.perf_counter()
    array = np.ones(spec["bytes"] // 8)
    array.sum()
    times = []
    for _ in range(spec["repeat"]):
        started = time.perf_counter()
        array.sum()
        times.append(time.perf_counter() - started)
    return {"import_s": imported - begun, "times": times, "scores": {"bytes": array.nbytes}}


CONTENDERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "driftmon": driftmon_check,
    "floor": floor,
    "floor-1thread": floor_single,
    "scipy-loop": scipy_loop,
    "evidently": evidently,
    "nannyml": nannyml,
    "kernel": kernel,
    "bandwidth": bandwidth,
}


def main() -> None:
    with open(sys.argv[1]) as file:
        spec = json.load(file)
    result = CONTENDERS[spec["contender"]](spec)
    sys.stdout.flush()
    print("\n" + json.dumps(result, allow_nan=True))


if __name__ == "__main__":
    main()
