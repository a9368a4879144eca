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

import gc
import importlib
import io
import json
import math
import os
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

LN2 = math.log(2.0)

# ---------------------------------------------------------------------------
# tabular workloads (a), (b), (d): reference + live Parquet files -> scores per feature


def driftmon_check(spec: dict[str, Any]) -> dict[str, Any]:
    """`driftmon check -c CONFIG --format json`: the CLI's own main(), stdout captured.

    The process is set up as the `driftmon` command sets itself up for `check`
    (driftmon.cli.console, before it imports anything): Arrow's jemalloc pool unless the
    environment chose one, no cyclic GC, and no interpreter teardown after the output
    (main() below). So "process" and "peak RSS" are the command's.
    """
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")
    gc.disable()
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


def driftmon_check_pyarrow(spec: dict[str, Any]) -> dict[str, Any]:
    """`driftmon check` with `json_reader: pyarrow` on both sources (JSON Lines without DuckDB)."""
    with open(spec["config"]) as file:
        config = json.load(file)  # run.py writes the config as JSON
    for monitor in config["monitors"]:
        for side in ("reference", "live"):
            monitor[side]["json_reader"] = "pyarrow"
    path = Path(spec["config"]).with_name(Path(spec["config"]).stem + "-pyarrow.yaml")
    path.write_text(json.dumps(config, indent=1))
    return driftmon_check({**spec, "config": str(path)})


# ---------------------------------------------------------------------------
# the floor: the same job as driftmon's defaults, written for speed and nothing else
#
# Independently written (no driftmon import), so that it checks driftmon as well as
# racing it: the bins are driftmon's (docs/statistics.md, How it works, point bins included), the measures
# numpy_floor_measures below. Numbers are float64 numpy arrays in parts (one per Arrow
# chunk), viewed on Arrow's buffers without a copy.

SAMPLE_STEP = 32  # every 32nd reference value brackets the wanted order statistics
SAMPLE_FROM = 1 << 16  # smaller columns: the "sample" is the whole column (exact, and cheap)
OTHERS_LIMIT = 10_000  # driftmon's bound on the reference's other values kept by name
BLOCK = 1 << 16  # values compared per step: 512 kB of floats and a 64 kB flag buffer stay in cache
_scratch = threading.local()  # per-thread flag buffer, reused by every block of every column


def _quiet_start(arrow_pool: str = "mimalloc") -> None:
    """What a one-shot numeric script should do before importing numpy: no BLAS thread
    pool (nothing here multiplies matrices), no cyclic GC (nothing to collect), and the
    Arrow allocator with the lower peak RSS for the job (measured: jemalloc for Parquet
    columns, -10 %; pyarrow's default mimalloc for CSV, -15 %)."""
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, "1")
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", arrow_pool)
    gc.disable()


def _flags(size: int, which: int = 0) -> Any:
    """Scratch boolean buffer number ``which`` of this thread, ``size`` long."""
    import numpy as np

    buffers = getattr(_scratch, "flags", None)
    if buffers is None:
        buffers = _scratch.flags = {}
    buffer = buffers.get(which)
    if buffer is None or buffer.size < size:
        buffer = buffers[which] = np.empty(max(size, BLOCK), dtype=bool)
    return buffer[:size]


def _valid(array: Any) -> Any:
    """True where an Arrow array holds a value: its validity bitmap unpacked (pyarrow.compute
    would import pandas)."""
    import numpy as np

    bits = np.frombuffer(array.buffers()[0], np.uint8)
    return np.unpackbits(bits, count=array.offset + len(array), bitorder="little")[array.offset :].view(bool)


def _arrow_float_parts(column: Any) -> list[Any]:
    """A float64 Arrow array or chunked array as numpy views of its buffers, one per chunk (nulls as NaN:
    a copy of that chunk only). pyarrow's own to_numpy would import pandas."""
    import numpy as np
    import pyarrow as pa

    parts = []
    for chunk in column.chunks if hasattr(column, "chunks") else [column]:
        if not len(chunk):
            continue
        if chunk.type != pa.float64():  # integers: exact in float64 below 2**53
            chunk = chunk.cast(pa.float64())
        values = np.frombuffer(chunk.buffers()[1], np.float64, len(chunk), chunk.offset * 8)
        parts.append(np.where(_valid(chunk), values, math.nan) if chunk.null_count else values)
    return parts


def _code_counts(chunk: Any) -> tuple[Any, int]:
    """Rows per entry of one Arrow dictionary chunk (a bincount of its codes), and its nulls."""
    import numpy as np

    size = len(chunk.dictionary)
    indices = chunk.indices
    width = indices.type.bit_width // 8
    codes = np.frombuffer(indices.buffers()[1], f"i{width}", len(indices), indices.offset * width)
    if indices.null_count:
        codes = np.where(_valid(indices), codes, size)
    counts = np.bincount(codes, minlength=size + 1)
    return counts[:size], int(counts[size])


def _count_below(parts: list[Any], cuts: Any, inclusive: Any) -> tuple[Any, int]:
    """Per cut, the values below it (``<= cut`` where inclusive, else ``< cut``), and the
    values that are not NaN: one comparison per cut per value, no sort, no search."""
    import numpy as np

    below = np.zeros(len(cuts), dtype=np.int64)
    present = 0
    tests = [(np.less_equal if closed else np.less, cut) for cut, closed in zip(cuts, inclusive, strict=True)]
    count = np.count_nonzero
    for values in parts:
        for start in range(0, values.size, BLOCK):
            block = values[start : start + BLOCK]
            flags = _flags(block.size)
            for i, (compare, cut) in enumerate(tests):
                below[i] += count(compare(block, cut, out=flags))
            present += count(np.less_equal(block, math.inf, out=flags))
    return below, present


def _bin_counts(parts: list[Any], cuts: Any, inclusive: Any) -> tuple[Any, int]:
    """Counts per bin (underflow, ..., overflow) and the NaN count, by comparisons."""
    import numpy as np

    below, present = _count_below(parts, cuts, inclusive)
    return np.diff(np.concatenate(([0], below, [present]))).astype(np.float64), sum(p.size for p in parts) - present


def _cuts(edges: Any, points: Any) -> tuple[list[float], list[bool]]:
    """Bin boundaries in value order: a point v is the bin [v, v], so it is two cuts, "< v"
    and "<= v"; an ordinary edge is "< e", except the last, "<= e" (the last interval is closed)."""
    point_set = set(points)
    cuts: list[float] = []
    inclusive: list[bool] = []
    for index, edge in enumerate(edges):
        if edge in point_set:
            cuts += [edge, edge]
            inclusive += [False, True]
        else:
            cuts.append(edge)
            inclusive.append(index == len(edges) - 1)
    return cuts, inclusive


def _select(
    parts: list[Any], ranks: list[int], size: int, sample: Any, not_rest_below: Any, without_heavy: Any
) -> dict[int, float]:
    """The order statistics ``ranks`` (0-based, sorted) of the "rest": the finite values that
    are not heavy points, ``size`` of them, of which ``sample`` is a sorted sample.

    Each rank gets a bracket [lo, hi] of sample values around where it should fall
    (overlapping brackets merged); one pass counts the values below each bracket and
    takes out those inside any; a partition of each bracket's few values finishes. A rank
    outside its bracket (the sample misled): a partition of the whole rest.
    """
    import numpy as np

    m = sample.size
    spread = int(2.5 * math.sqrt(m)) + 2  # a sample rank's spread is below sqrt(m)/2: 5 sd each side
    brackets: list[list[Any]] = []  # [lo, hi, ranks]
    for rank in ranks:
        guess = int(rank * m / size)
        lo = -math.inf if guess - spread <= 0 else float(sample[guess - spread])
        hi = math.inf if guess + spread + 1 >= m else float(sample[guess + spread + 1])
        if brackets and lo <= brackets[-1][1]:
            brackets[-1][1] = max(brackets[-1][1], hi)
            brackets[-1][2].append(rank)
        else:
            brackets.append([lo, hi, [rank]])
    counted = [0] * len(brackets)  # values < lo, per bracket
    taken = []
    count = np.count_nonzero
    for values in parts:
        for start in range(0, values.size, BLOCK):
            block = values[start : start + BLOCK]
            below, above, outside = _flags(block.size, 0), _flags(block.size, 1), _flags(block.size, 2)
            outside[:] = True  # outside every bracket so far (NaN is inside all: dropped later)
            for j, (lo, hi, _) in enumerate(brackets):
                np.less(block, lo, out=below)
                counted[j] += count(below)
                np.greater(block, hi, out=above)
                below |= above
                outside &= below
            taken.append(block[np.logical_not(outside, out=outside)])
    inside = np.concatenate(taken)
    result: dict[int, float] = {}
    for j, (lo, hi, wanted_ranks) in enumerate(brackets):
        candidates = inside[(inside >= lo) & (inside <= hi)]
        candidates = candidates[np.isfinite(candidates)]
        # values < lo outside the rest: -inf and heavy points (NaN is never < lo)
        below = counted[j] - not_rest_below(lo)
        candidates = without_heavy(candidates)
        local = [rank - below for rank in wanted_ranks]
        if local[0] >= 0 and local[-1] < candidates.size:
            chosen = np.partition(candidates, local)[local]
        else:  # the sample misled: select from the whole rest
            whole = without_heavy(np.concatenate([p[np.isfinite(p)] for p in parts]))
            chosen = np.partition(whole, wanted_ranks)[wanted_ranks]
        result.update(zip(wanted_ranks, chosen.tolist(), strict=True))
    return result


def _sample(values: Any, step: int) -> Any:
    """One value of every ``step``, at a random place in each stretch (a fixed seed): as
    cheap as a stride, but no periodic pattern in the data can hide from it."""
    import numpy as np

    if step == 1:
        return values
    starts = np.arange(0, values.size, step)
    jitter = np.random.default_rng(values.size).integers(0, step, starts.size)
    return values[np.minimum(starts + jitter, values.size - 1)]


def _numeric_bins(parts: list[Any], bins: int) -> tuple[list[float], list[float]]:
    """driftmon's numeric bins from the reference: (edges, points).

    At most ``bins`` distinct finite values: each is a point bin. Else values holding at
    least 1/bins of the finite values are point bins, the rest is cut at its quantiles
    (linear interpolation, numpy's default) into bins - points parts, duplicate edges merged.
    """
    import numpy as np

    n = sum(p.size for p in parts)
    step = SAMPLE_STEP if n >= SAMPLE_FROM else 1
    sample = np.concatenate([_sample(p, step) for p in parts]) if parts else np.empty(0)
    sample = np.sort(sample[np.isfinite(sample)])
    if sample.size == 0:
        return [], []
    starts = np.flatnonzero(np.concatenate(([True], sample[1:] != sample[:-1])))
    sample_values = sample[starts]
    sample_runs = np.diff(np.append(starts, sample.size))
    # candidates: few distinct values, or values frequent in the sample; their exact counts
    few = sample_values.size <= bins
    candidates = sample_values if few else sample_values[sample_runs * bins * 2 >= sample.size]
    order = np.sort(candidates)
    # one pass: "< v" and "<= v" per candidate v, then "<= -inf" and "< +inf"
    cuts = [float(v) for v in order for _ in (0, 1)] + [-math.inf, math.inf]
    inclusive = [closed for _ in order for closed in (False, True)] + [True, False]
    below, _ = _count_below(parts, cuts, inclusive)
    exact = below[1:-2:2] - below[0:-2:2]
    minus_inf, below_plus_inf = int(below[-2]), int(below[-1])
    finite = below_plus_inf - minus_inf
    if few and int(exact.sum()) == finite:
        points = [float(v) for v in order]
        return points, points
    if few:  # values the sample missed: few or many distinct, not known without more work
        whole = np.sort(np.concatenate([p[np.isfinite(p)] for p in parts]))
        step, sample = 1, whole
        starts = np.flatnonzero(np.concatenate(([True], whole[1:] != whole[:-1])))
        values, runs = whole[starts], np.diff(np.append(starts, whole.size))
        if values.size <= bins:
            points = [float(v) for v in values]
            return points, points
        order, exact = values, runs
    heavy = {float(v): int(c) for v, c in zip(order, exact, strict=True) if c * bins >= finite}
    points = sorted(heavy)
    size = finite - sum(heavy.values())
    if heavy:
        sample = sample[~np.isin(sample, points)]

    def not_rest_below(value: float) -> int:
        """Values below ``value`` that are not in the rest: -inf and heavy points."""
        return (minus_inf if value > -math.inf else 0) + sum(c for v, c in heavy.items() if v < value)

    def without_heavy(values: Any) -> Any:
        return values[~np.isin(values, points)] if points else values

    parts_count = bins - len(points)
    position = np.linspace(0.0, 1.0, parts_count + 1) * (size - 1)
    lower = np.floor(position).astype(np.int64)
    upper = np.minimum(lower + 1, size - 1)
    ranks = sorted(set(lower.tolist()) | set(upper.tolist()))
    picked = _select(parts, ranks, size, sample, not_rest_below, without_heavy)
    low, high = picked[0], picked[size - 1]
    if low == high:  # the rest is one value: a point too
        points = sorted([*points, low])
        return points, points
    at_lower = np.array([picked[r] for r in lower.tolist()])
    at_upper = np.array([picked[r] for r in upper.tolist()])
    edges = at_lower + (at_upper - at_lower) * (position - lower)
    edges[0], edges[-1] = low, high
    return sorted({float(e) for e in edges} | set(points)), points


Counter = Callable[[list[Any]], Any]  # one live column's parts -> its counts, missing last


def _numeric_profile(reference: list[Any], bins: int) -> tuple[Any, Counter]:
    """A numeric feature's reference counts (missing last), and the counter of live parts."""
    import numpy as np

    edges, points = _numeric_bins(reference, bins)
    cuts, inclusive = _cuts(edges, points)

    def count(parts: list[Any]) -> Any:
        counts, missing = _bin_counts(parts, cuts, inclusive)
        return np.append(counts, missing)

    return count(reference), count


def _categorical_profile(reference: list[Any], max_categories: int) -> tuple[Any, Counter]:
    """The same for a categorical feature, from Arrow dictionary chunks: top ``max_categories``
    (by count, then value), __other__, __unseen__, missing."""
    import numpy as np

    totals: dict[str, int] = {}
    missing = 0
    for chunk in reference:
        counts, nulls = _code_counts(chunk)
        missing += nulls
        for value, count in zip(chunk.dictionary.to_pylist(), counts.tolist(), strict=True):
            if count:
                totals[value] = totals.get(value, 0) + count
    order = sorted(totals.items(), key=lambda item: (-item[1], item[0]))
    k = min(max_categories, len(order))
    ref_counts = np.array([*(c for _, c in order[:k]), sum(c for _, c in order[k:]), 0, missing], dtype=np.float64)
    slot = {value: i for i, (value, _) in enumerate(order[:k])}
    slot.update((value, k) for value, _ in order[k:])  # the others are __other__; anything new __unseen__
    # (driftmon keeps at most OTHERS_LIMIT others by name; beyond, a new value cannot be told apart)
    new = k + 1 if len(order) - k <= OTHERS_LIMIT else k

    def count(chunks: list[Any]) -> Any:
        live_counts = np.zeros(k + 3)
        for chunk in chunks:
            counts, nulls = _code_counts(chunk)
            target = np.fromiter((slot.get(v, new) for v in chunk.dictionary.to_pylist()), np.intp, len(counts))
            live_counts[: k + 2] += np.bincount(target, weights=counts, minlength=k + 2)
            live_counts[k + 2] += nulls
        return live_counts

    return ref_counts, count


class _Serial:
    """A stand-in for a thread pool that runs everything in the calling thread."""

    def map(self, function: Callable[[Any], Any], items: Any) -> Any:
        return map(function, items)

    def __enter__(self) -> _Serial:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def _profile(spec: dict[str, Any], name: str, reference: list[Any]) -> tuple[Any, Counter]:
    """A feature's reference counts and live counter, by its kind in ``spec``."""
    if name in spec["numeric"]:
        return _numeric_profile(reference, spec.get("bins", 10))
    return _categorical_profile(reference, spec.get("max_categories", 50))


def _pool(threaded: bool) -> Any:
    """Threads = cores (numpy and Arrow release the GIL), or the calling thread only."""
    workers = (os.cpu_count() or 1) if threaded else 1
    return ThreadPoolExecutor(workers) if workers > 1 else _Serial()


def _scores(features: list[str], rows: list[tuple[Any, Any]]) -> dict[str, dict[str, float]]:
    """kl, js, psi per feature from (reference counts, live counts): one pass over a 2-D array."""
    import numpy as np

    width = max(r.size for r, _ in rows)
    q_counts = np.zeros((len(rows), width))
    p_counts = np.zeros((len(rows), width))
    for row, (ref, live) in enumerate(rows):
        q_counts[row, : ref.size] = ref
        p_counts[row, : live.size] = live
    scores = numpy_floor_measures(p_counts, q_counts, ("kl", "js", "psi"))
    return {name: {m: float(scores[m][i]) for m in ("kl", "js", "psi")} for i, name in enumerate(features)}


NOISE_DRAWS = 1000  # driftmon's defaults (driftmon.noise.NullSettings): draws, quantile levels
NOISE_QUANTILES = (0.95, 0.99)


def _noise_key(ref: Any, live: Any) -> tuple[Any, ...] | None:
    """A feature's null model as driftmon's default job rounds it (driftmon.noise.NullCache): the
    pooled proportions sorted, on a grid of half an octave; each sample size exact up to 1,024
    rows, above on a grid of 1/32 octave. None for a side without rows."""
    import numpy as np

    sizes = []
    for total in (float(live.sum()), float(ref.sum())):
        rows = max(1, round(total))
        if total == 0:
            return None
        sizes.append(rows if rows <= 1024 else round(2.0 ** (round(32 * math.log2(rows)) / 32)))
    pooled = np.asarray(ref, dtype=np.float64) + live
    proportions = np.sort(pooled[pooled > 0])[::-1] / pooled.sum()
    grid = tuple(np.rint(-2.0 * np.log2(proportions[proportions > 0])).astype(np.int64).tolist())
    return grid, sizes[0], sizes[1]


def _noise_floors(features: list[str], rows: list[tuple[Any, Any]], pool: Any) -> dict[str, dict[str, float]]:
    """The rest of driftmon's default job past the scores: each feature's noise floor and `auto`
    thresholds, i.e. kl, js and psi under "no drift" at its sample sizes. As driftmon does it:
    NOISE_DRAWS live and reference histograms drawn from the pooled distribution (numpy's
    multinomial, vectorised over draws), scored, then their mean and NOISE_QUANTILES order
    statistics; one simulation per distinct rounded null model (`_noise_key`), on the threads.
    Its values are not compared with driftmon's: the random streams differ."""
    import hashlib

    import numpy as np

    keys = [_noise_key(ref, live) for ref, live in rows]
    models = list(dict.fromkeys(key for key in keys if key is not None))

    def simulate(key: tuple[Any, ...]) -> dict[str, float]:
        grid, live_size, reference_size = key
        proportions = 2.0 ** (-np.asarray(grid, dtype=np.float64) / 2.0)
        proportions /= proportions.sum()
        seed = int.from_bytes(hashlib.blake2b(repr(key).encode(), digest_size=16).digest(), "little")
        rng = np.random.default_rng(seed)
        chunk = max(1, (1 << 20) // proportions.size)  # bounded memory for many bins
        drawn: dict[str, list[Any]] = {"kl": [], "js": [], "psi": []}
        for start in range(0, NOISE_DRAWS, chunk):
            count = min(chunk, NOISE_DRAWS - start)
            live = rng.multinomial(live_size, proportions, size=count)
            reference = rng.multinomial(reference_size, proportions, size=count)
            for measure, values in numpy_floor_measures(live, reference, ("kl", "js", "psi")).items():
                drawn[measure].append(values)
        out = {}
        for measure, parts in drawn.items():
            values = np.sort(np.concatenate(parts))
            out[f"{measure}_noise_floor"] = float(values.mean())
            for level in NOISE_QUANTILES:  # the ceil(q (D + 1))-th smallest of D draws
                rank = min(values.size, math.ceil(level * (values.size + 1))) - 1
                out[f"{measure}_noise_q{round(100 * level)}"] = float(values[rank])
        return out

    simulated = dict(zip(models, pool.map(simulate, models), strict=True))
    return {name: simulated[key] for name, key in zip(features, keys, strict=True) if key is not None}


def _whole_job(features: list[str], rows: list[tuple[Any, Any]], pool: Any) -> dict[str, dict[str, float]]:
    """The scores, with each feature's noise floor and quantiles next to them (`_noise_floors`)."""
    scores = _scores(features, rows)
    for name, floors in _noise_floors(features, rows, pool).items():
        scores[name].update(floors)
    return scores


def _floor(spec: dict[str, Any], threaded: bool) -> dict[str, Any]:
    """The fastest exact pyarrow + numpy version of the job on Parquet we could write.

    Same bins and measures as driftmon's defaults (see _numeric_bins, _categorical_profile;
    0.5 on the empty side of bins seen by one side only, bins empty on both sides dropped,
    KL and JS in bits, PSI in nats), so its scores equal driftmon's to rounding. Features
    are tasks on threads = cores, numeric ones (the heavier) first; each task reads one
    column of one file at a time (text as an Arrow dictionary), viewed as numpy without a
    copy: the reference, binned and let go, then the live column, counted a row group (or
    1 M values) at a time. Each file is opened once per thread (its footer parsed once). Reference
    quantiles are selected from sample brackets (no sort); every count is one comparison
    per bin boundary; categorical counts are bincounts of dictionary codes.
    """
    begun = time.perf_counter()
    _quiet_start("jemalloc")
    import numpy as np  # noqa: F401  (imported before the clock: the libraries are not the job)
    import pyarrow.parquet as pq

    imported = time.perf_counter()
    numeric: list[str] = spec["numeric"]
    files = {side: spec.get(f"{side}_files") or [spec[side]] for side in ("reference", "live")}
    handles = threading.local()  # each file opened once per thread: its footer parsed once (500 columns in d)

    def handle(path: str) -> Any:
        opened = getattr(handles, "files", None)
        if opened is None:
            opened = handles.files = {}
        if path not in opened:
            opened[path] = pq.ParquetFile(path, read_dictionary=spec["categorical"])
        return opened[path]

    def parts(name: str, column: Any) -> Any:
        if name in numeric:
            return _arrow_float_parts(column)
        return column.chunks if hasattr(column, "chunks") else [column]

    def feature(name: str) -> tuple[Any, Any]:
        whole = [p for path in files["reference"] for p in parts(name, handle(path).read([name], False).column(0))]
        counts, counter = _profile(spec, name, whole)  # the reference column goes here
        del whole
        live = 0
        for path in files["live"]:  # one row group at a time (read_row_group: iter_batches costs twice)
            file = handle(path)
            for group in range(file.num_row_groups):
                if file.metadata.row_group(group).num_rows <= 1 << 20:
                    slices = [file.read_row_group(group, columns=[name], use_threads=False).column(0)]
                else:  # a large group in slices of 1 M values: bounded memory
                    slices = [b.column(0) for b in file.iter_batches(1 << 20, [group], [name], use_threads=False)]
                for values in slices:
                    live = live + counter(parts(name, values))
        return counts, live

    features = numeric + spec["categorical"]
    with _pool(threaded) as pool:
        if len(files["reference"]) + len(files["live"]) > SMALL_FILES:
            rows = _by_file(spec, files, features, parts, pool)
        else:
            rows = list(pool.map(feature, features))
        scores = _whole_job(features, rows, pool) if spec.get("noise", True) else _scores(features, rows)
    return {"import_s": imported - begun, "work_s": time.perf_counter() - imported, "scores": scores}


SMALL_FILES = 16  # past this many files, each file is one read of every column (a task per file)
GROUP_ROWS = 1 << 18  # many small live files: counted in groups of about this many rows


def _by_file(
    spec: dict[str, Any], files: dict[str, list[str]], features: list[str], parts: Any, pool: Any
) -> list[tuple[Any, Any]]:
    """Many small files: a read per column per file would cost more than the counting, so each
    file is read whole (its wanted columns, one call) by one task; the reference columns are
    gathered and profiled a column per task, then each live file is counted by one task."""
    import pyarrow.parquet as pq

    def read(path: str) -> Any:
        return pq.ParquetFile(path, read_dictionary=spec["categorical"]).read(features, use_threads=False)

    import numpy as np

    def gathered(tables: list[Any], name: str) -> list[Any]:
        """One column of several tables as few parts: numbers joined into one array (a few
        large parts count faster than many small ones), text as its dictionary chunks."""
        found = [p for t in tables for p in parts(name, t.column(name))]
        return [np.concatenate(found)] if name in numeric and len(found) > 1 else found

    numeric = set(spec["numeric"])
    held = {"reference": list(pool.map(read, files["reference"]))}  # let go once profiled
    profiles = list(pool.map(lambda name: _profile(spec, name, gathered(held["reference"], name)), features))
    held.clear()
    rows = pq.ParquetFile(files["live"][0]).metadata.num_rows or 1
    step = max(1, GROUP_ROWS // rows)  # files per task: about GROUP_ROWS rows

    def count(start: int) -> list[Any]:
        tables = [read(path) for path in files["live"][start : start + step]]
        return [profiles[i][1](gathered(tables, name)) for i, name in enumerate(features)]

    live = [sum(column) for column in zip(*pool.map(count, range(0, len(files["live"]), step)), strict=True)]
    return [(counts, live[i]) for i, (counts, _) in enumerate(profiles)]


def _floor_text(spec: dict[str, Any], threaded: bool) -> dict[str, Any]:
    """The same floor on CSV or JSON Lines files (by the files' suffix).

    Text has no columns to read one at a time: pyarrow's reader parses only the wanted
    columns, numbers straight to float64 and (CSV) text straight to Arrow dictionaries.
    The reference is read whole (its quantiles need every value), binned feature by
    feature on threads, and let go; the live file is streamed block by block and counted.
    """
    begun = time.perf_counter()
    _quiet_start()
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.json as pjson

    imported = time.perf_counter()
    numeric: list[str] = spec["numeric"]
    categorical: list[str] = spec["categorical"]
    features = numeric + categorical
    block_size = spec.get("block_size", 1 << 20)  # 1 MB blocks: the lowest RSS, no slower (measured)
    csv = str(spec["reference"]).endswith(".csv")
    text = pa.dictionary(pa.int32(), pa.string())  # CSV text straight to codes
    types = {name: pa.float64() for name in numeric} | {name: text for name in categorical}

    read_options = (pcsv if csv else pjson).ReadOptions(use_threads=threaded, block_size=block_size)
    convert_options = pcsv.ConvertOptions(include_columns=features, column_types=types, strings_can_be_null=True)
    schema = pa.schema([(name, pa.float64() if name in numeric else pa.string()) for name in features])
    parse_options = pjson.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")

    json_reader = spec.get("json_reader", "duckdb")
    if not csv and json_reader == "duckdb":
        import duckdb  # its JSON reader takes half the CPU of pyarrow.json's here

        imported = time.perf_counter()
        connection = duckdb.connect(config={"threads": (os.cpu_count() or 1) if threaded else 1})
        wanted = ", ".join(f"'{n}': '{'DOUBLE' if n in numeric else 'VARCHAR'}'" for n in features)

    def batches(path: str) -> Any:
        """The file as record batches of the wanted columns, parsed on threads."""
        if csv:
            return pcsv.open_csv(path, read_options=read_options, convert_options=convert_options)
        if json_reader == "duckdb":
            quoted = path.replace("'", "''")
            query = f"select * from read_json('{quoted}', format='newline_delimited', columns={{{wanted}}})"
            return connection.sql(query).to_arrow_reader(spec.get("batch_rows", 1 << 17))
        return pjson.open_json(path, read_options=read_options, parse_options=parse_options)

    def dictionary_chunks(column: Any) -> list[Any]:
        if not pa.types.is_dictionary(column.type):  # JSON text: encoded here (no pandas)
            column = column.dictionary_encode()
        return column.chunks if isinstance(column, pa.ChunkedArray) else [column]

    def parts(column: Any, name: str) -> list[Any]:
        return _arrow_float_parts(column) if name in numeric else dictionary_chunks(column)

    def read_whole(path: str) -> Any:
        """The reference: read at once (``read_csv``/``read_json``) or gathered from the stream."""
        if spec.get("reader", "stream") == "stream" or json_reader == "duckdb":
            return pa.Table.from_batches(list(batches(path)))
        if csv:
            return pcsv.read_csv(path, read_options=read_options, convert_options=convert_options)
        return pjson.read_json(path, read_options=read_options, parse_options=parse_options)

    held = {"reference": read_whole(spec["reference"])}  # let go once binned

    def profile(name: str) -> tuple[Any, Counter]:
        return _profile(spec, name, parts(held["reference"].column(name), name))

    with _pool(threaded) as pool:
        profiles = list(pool.map(profile, features))
        held.clear()
        live = [np.zeros(counts.size) for counts, _ in profiles]
        for batch in batches(spec["live"]):

            def count(index: int, batch: Any = batch) -> None:
                live[index] += profiles[index][1](parts(batch.column(features[index]), features[index]))

            list(pool.map(count, range(len(features))))
        rows = [(counts, live[i]) for i, (counts, _) in enumerate(profiles)]
        scores = _whole_job(features, rows, pool) if spec.get("noise", True) else _scores(features, rows)
    return {"import_s": imported - begun, "work_s": time.perf_counter() - imported, "scores": scores}


def _is_text(spec: dict[str, Any]) -> bool:
    return str(spec["reference"]).endswith((".csv", ".jsonl"))


def floor(spec: dict[str, Any]) -> dict[str, Any]:
    return (_floor_text if _is_text(spec) else _floor)(spec, threaded=True)


def floor_single(spec: dict[str, Any]) -> dict[str, Any]:
    return (_floor_text if _is_text(spec) else _floor)(spec, threaded=False)


def floor_bins(spec: dict[str, Any]) -> dict[str, Any]:
    """The floor without the noise floors: histograms and scores only (the floor before 2026-12-04)."""
    return floor({**spec, "noise": False})


def _pandas_read(path: str, columns: list[str]) -> Any:
    """A Parquet, CSV or JSON Lines file as a DataFrame, the way a user reads it."""
    import pandas as pd

    if path.endswith(".csv"):
        return pd.read_csv(path, usecols=columns)
    if path.endswith(".jsonl"):
        return pd.read_json(path, lines=True, dtype=False)[columns]
    return pd.read_parquet(path, columns=columns)


def scipy_loop(spec: dict[str, Any]) -> dict[str, Any]:
    """What a user writes by hand: pandas, np.histogram and scipy per column, same bins."""
    begun = time.perf_counter()
    import numpy as np
    import pandas  # noqa: F401  (imported before the clock, as every contender's libraries)
    from scipy.spatial.distance import jensenshannon
    from scipy.stats import entropy

    imported = time.perf_counter()
    numeric: list[str] = spec["numeric"]
    categorical: list[str] = spec["categorical"]
    bins: int = spec.get("bins", 10)
    max_categories: int = spec.get("max_categories", 50)
    reference = _pandas_read(spec["reference"], numeric + categorical)
    live = _pandas_read(spec["live"], numeric + categorical)
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
        # closed on the right, as in driftmon (and docs/statistics.md)
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
    "driftmon-pyarrow": driftmon_check_pyarrow,
    "floor": floor,
    "floor-single": floor_single,
    "floor-bins": floor_bins,
    "floor-1thread": floor_single,  # its name before 2026-11-26
    "scipy-loop": scipy_loop,
    "evidently": evidently,
    "nannyml": nannyml,
    "kernel": kernel,
    "bandwidth": bandwidth,
}


def _own_peak_rss_mb() -> float | None:
    """This process's peak RSS since its exec (VmHWM belongs to its own address space).

    Not ru_maxrss: Linux carries the parent's high-water mark into a forked child's
    ru_maxrss across exec, so the harness's own memory would count for every contender.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def main() -> None:
    with open(sys.argv[1]) as file:
        spec = json.load(file)
    result = CONTENDERS[spec["contender"]](spec)
    result["peak_rss_mb"] = _own_peak_rss_mb()
    sys.stdout.flush()
    print("\n" + json.dumps(result, allow_nan=True), flush=True)
    if spec["contender"].startswith(("floor", "driftmon")):
        os._exit(0)  # the output is out: a one-shot script (and `driftmon check`) skips the teardown


if __name__ == "__main__":
    main()
