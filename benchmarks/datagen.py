"""Benchmark data, generated with fixed seeds into benchmarks/data/ (gitignored).

Every file is written once and reused while its manifest (shape, seed, generator version)
matches, so repeated runs of the harness do not pay for generation again.

Tables (Parquet, snappy, pyarrow's default row groups of 1 Mi rows; strings stored as
plain strings, not as Arrow dictionaries, so no reader gets a head start from metadata):

- numeric columns ``n00..``: normal, lognormal, uniform, small integers (many ties, so
  quantile edges merge), exponential with NaN and nulls; the live side drifts a little.
- categorical columns ``c0..``: Zipf-like strings with cardinalities 3 to 5,000 (so the
  top-50 / ``__other__`` logic is exercised), 1 % nulls in one, unseen values in live.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

GENERATOR_VERSION = 1
CHUNK_ROWS = 1_000_000
CARDINALITIES = (3, 12, 40, 200, 5000)


def numeric_names(count: int) -> list[str]:
    return [f"n{i:03d}" if count > 100 else f"n{i:02d}" for i in range(count)]


def categorical_names(count: int) -> list[str]:
    return [f"c{i}" if count <= 10 else f"c{i:02d}" for i in range(count)]


def _numeric(rng: np.random.Generator, i: int, rows: int, live: bool) -> pa.Array:
    shift = (0.05 * (i % 4)) if live else 0.0  # some columns drift, some do not
    kind = i % 5
    if kind == 0:
        values = rng.normal(shift, 1.0, rows)
    elif kind == 1:
        values = rng.lognormal(shift, 0.75, rows)
    elif kind == 2:
        values = rng.uniform(0.0, 100.0 + 10 * shift, rows)
    elif kind == 3:
        values = rng.poisson(3.0 + shift, rows).astype(np.float64)
    else:
        values = rng.exponential(1.0 + shift, rows)
        values[rng.random(rows) < 0.02] = np.nan  # NaN values
        nulls = rng.random(rows) < 0.01  # and real Parquet nulls
        return pa.array(values, mask=nulls)
    return pa.array(values)


def _probabilities(cardinality: int, live: bool, rng: np.random.Generator) -> np.ndarray:
    weights = 1.0 / np.arange(1, cardinality + 1) ** 1.1
    if live:
        weights = weights * rng.uniform(0.8, 1.25, cardinality)
    return weights / weights.sum()


def _categorical(rng: np.random.Generator, j: int, rows: int, live: bool, labels_rng: np.random.Generator) -> pa.Array:
    cardinality = CARDINALITIES[j % len(CARDINALITIES)]
    probabilities = _probabilities(cardinality, live, labels_rng)
    labels = [f"c{j}_v{k}" for k in range(cardinality)]
    if live:  # a few values the reference never had
        labels += [f"c{j}_new{k}" for k in range(3)]
        probabilities = np.concatenate([probabilities * 0.995, np.full(3, 0.005 / 3)])
    indices = rng.choice(len(labels), size=rows, p=probabilities).astype(np.int32)
    mask = (rng.random(rows) < 0.01) if j % 5 == 1 else None
    dictionary = pa.DictionaryArray.from_arrays(pa.array(indices, mask=mask), pa.array(labels))
    return dictionary.cast(pa.string())


def _chunk(seed: int, index: int, rows: int, n_numeric: int, n_categorical: int, live: bool) -> pa.Table:
    rng = np.random.default_rng([seed, index])
    labels_rng = np.random.default_rng([seed, 10_000])  # same live probabilities in every chunk
    columns: dict[str, pa.Array] = {}
    for i, name in enumerate(numeric_names(n_numeric)):
        columns[name] = _numeric(rng, i, rows, live)
    for j, name in enumerate(categorical_names(n_categorical)):
        columns[name] = _categorical(rng, j, rows, live, labels_rng)
    return pa.table(columns)


def table_file(path: Path, rows: int, n_numeric: int, n_categorical: int, live: bool, seed: int) -> Path:
    """Write (once) a Parquet file of ``rows`` rows; returns its path."""
    manifest = {
        "version": GENERATOR_VERSION,
        "rows": rows,
        "numeric": n_numeric,
        "categorical": n_categorical,
        "live": live,
        "seed": seed,
    }
    stamp = path.with_name(path.name + ".manifest.json")
    if path.exists() and stamp.exists() and json.loads(stamp.read_text()) == manifest:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    writer = None
    try:
        for index, start in enumerate(range(0, rows, CHUNK_ROWS)):
            table = _chunk(seed, index, min(CHUNK_ROWS, rows - start), n_numeric, n_categorical, live)
            if writer is None:
                writer = pq.ParquetWriter(temporary, table.schema)
            writer.write_table(table)
    finally:
        if writer is not None:
            writer.close()
    temporary.replace(path)
    stamp.write_text(json.dumps(manifest))
    return path


def kernel_counts(features: int, bins: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(live, reference) counts of shape (features, bins): a few bins empty on both sides."""
    rng = np.random.default_rng(seed)
    shape = rng.gamma(0.7, 1.0, (features, bins))
    shape /= shape.sum(axis=1, keepdims=True)
    reference = rng.poisson(5_000 * shape).astype(np.float64)
    drifted = shape * rng.uniform(0.7, 1.4, (features, bins))
    drifted /= drifted.sum(axis=1, keepdims=True)
    live = rng.poisson(2_000 * drifted).astype(np.float64)
    empty = rng.random((features, bins)) < 0.02  # declared but empty on both sides
    reference[empty] = 0.0
    live[empty] = 0.0
    return live, reference


def histogram_files(directory: Path, n_features: int, seed: int) -> tuple[Path, Path]:
    """Reference and live ``driftmon.histograms/v1`` files for the scrape workload (e)."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    documents: dict[str, dict[str, object]] = {"reference": {}, "live": {}}
    for f in range(n_features):
        name = f"f{f:02d}"
        if f % 5 == 4:
            categories = [f"v{k}" for k in range(20)]
            for side, scale in (("reference", 10_000), ("live", 1_000)):
                counts = rng.poisson(scale / 20, 20)
                documents[side][name] = {
                    "kind": "categorical",
                    "counts": {c: int(n) for c, n in zip(categories, counts, strict=True)},
                    "missing": int(rng.poisson(5)),
                }
        else:
            edges = [float(e) for e in np.round(np.linspace(-2, 2, 11), 3)]
            for side, scale in (("reference", 10_000), ("live", 1_000)):
                counts = rng.poisson(scale / 12, len(edges) + 1)
                documents[side][name] = {
                    "kind": "numeric",
                    "edges": edges,
                    "counts": [int(n) for n in counts],
                    "missing": int(rng.poisson(5)),
                }
    paths = []
    for side in ("reference", "live"):
        path = directory / f"{side}.json"
        path.write_text(json.dumps({"format": "driftmon.histograms/v1", "features": documents[side]}))
        paths.append(path)
    return paths[0], paths[1]


TEXT_DECIMALS = 6  # CSV / JSON Lines numbers are written rounded, as text files usually hold them


def text_file(parquet_path: Path, path: Path) -> Path:
    """Write (once) the rows of a Parquet file as CSV or JSON Lines (by ``path``'s suffix).

    Numbers are rounded to TEXT_DECIMALS decimals (17 significant digits per value would
    double the file for nothing); NaN and null are both written as missing (an empty CSV
    cell, JSON ``null``), which every reader counts in the missing bin, like the Parquet file.
    """
    manifest = {
        "version": GENERATOR_VERSION,
        "source": parquet_path.name,
        "source_manifest": json.loads(parquet_path.with_name(parquet_path.name + ".manifest.json").read_text()),
        "decimals": TEXT_DECIMALS,
    }
    stamp = path.with_name(path.name + ".manifest.json")
    if path.exists() and stamp.exists() and json.loads(stamp.read_text()) == manifest:
        return path
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv

    temporary = path.with_name(path.name + ".tmp")
    parquet = pq.ParquetFile(parquet_path)
    writer = None
    with open(temporary, "wb") as out:
        for group in range(parquet.num_row_groups):
            table = parquet.read_row_group(group)
            columns = []
            for column in table.columns:
                if pa.types.is_floating(column.type):
                    column = pc.round(column, TEXT_DECIMALS)
                    column = pc.if_else(pc.is_nan(column), pa.scalar(None, pa.float64()), column)
                columns.append(column)
            table = pa.table(columns, names=table.column_names)
            if path.suffix == ".csv":
                if writer is None:
                    writer = pcsv.CSVWriter(out, table.schema)
                writer.write_table(table)
            else:
                frame = table.to_pandas()
                out.write(frame.to_json(orient="records", lines=True, double_precision=10).encode())  # ends in \n
        if writer is not None:
            writer.close()
    temporary.replace(path)
    stamp.write_text(json.dumps(manifest))
    return path


# ---------------------------------------------------------------------------
# the shapes users have (workloads rg4, rg1, points, text10, text60, text5000, nulls, files)
#
# A shape is a list of (name, kind) columns; the kinds:
#   normal                    N(0, 1) (live: some columns shifted a little)
#   heavy                     Pareto (shape 1.2, a heavy right tail) and Cauchy in turn
#   discrete                  small integers (Poisson, 2): fewer distinct values than bins, every one a point bin
#   integers                  int64 0..39, Zipf-like: the frequent ones are point bins, the rest quantiles
#   zero-inflated             60 % exactly 0.0, the rest lognormal: one point bin at 0, quantiles above
#   nulls                     normal with 5-50 % Parquet nulls (and a few NaN)
#   text-K                    Zipf-like strings of K values (live: a few values the reference never had)
#   text-K-nulls              the same with 30 % nulls

SHAPES_VERSION = 1


def shape_columns(shape: str) -> list[tuple[str, str]]:
    """The columns of a named shape (see above), numeric ones first."""

    def numeric(kinds: list[str]) -> list[tuple[str, str]]:
        return [(f"n{i:02d}", kind) for i, kind in enumerate(kinds)]

    def text(kind: str, count: int) -> list[tuple[str, str]]:
        return [(f"c{j:02d}", kind) for j in range(count)]

    if shape == "issue":  # the shape: 20 normal numerics, 5 Zipf text columns of 60 values
        return numeric(["normal"] * 20) + text("text-60", 5)
    if shape == "points":
        kinds = ["heavy", "discrete", "integers", "zero-inflated", "normal"] * 4
        return numeric(kinds) + text("text-60", 5)
    if shape.startswith("text"):  # text10, text60, text5000: 20 text columns, 5 normal numerics
        return numeric(["normal"] * 5) + text(f"text-{int(shape[4:])}", 20)
    if shape == "nulls":
        return numeric(["nulls"] * 20) + text("text-60-nulls", 5)
    raise ValueError(f"unknown shape {shape!r}")


def _shape_column(kind: str, index: int, rng: np.random.Generator, rows: int, live: bool) -> pa.Array:
    shift = (0.05 * (index % 4)) if live else 0.0
    if kind == "normal":
        return pa.array(rng.normal(shift, 1.0, rows))
    if kind == "heavy":
        if index % 2:
            return pa.array(rng.standard_cauchy(rows) + shift)
        return pa.array((rng.pareto(1.2, rows) + 1.0) * (1.0 + shift))
    if kind == "discrete":
        return pa.array(rng.poisson(2.0 + shift, rows).astype(np.float64))
    if kind == "integers":
        weights = 1.0 / np.arange(1, 41) ** (1.3 - shift)
        return pa.array(rng.choice(40, size=rows, p=weights / weights.sum()).astype(np.int64))
    if kind == "zero-inflated":
        values = rng.lognormal(shift, 1.0, rows)
        values[rng.random(rows) < 0.6 - shift] = 0.0
        return pa.array(values)
    if kind == "nulls":
        values = rng.normal(shift, 1.0, rows)
        values[rng.random(rows) < 0.01] = np.nan
        share = 0.05 + 0.45 * (index % 5) / 4  # 5 % to 50 % nulls
        return pa.array(values, mask=rng.random(rows) < share)
    if kind.startswith("text-"):
        parts = kind.split("-")
        cardinality = int(parts[1])
        labels_rng = np.random.default_rng([index, cardinality])  # the same live weights in every file
        probabilities = _probabilities(cardinality, live, labels_rng)
        labels = [f"v{k}" for k in range(cardinality)]
        if live:
            labels += [f"new{k}" for k in range(3)]
            probabilities = np.concatenate([probabilities * 0.995, np.full(3, 0.005 / 3)])
        codes = rng.choice(len(labels), size=rows, p=probabilities).astype(np.int32)
        mask = rng.random(rows) < 0.3 if parts[-1] == "nulls" else None
        return pa.DictionaryArray.from_arrays(pa.array(codes, mask=mask), pa.array(labels)).cast(pa.string())
    raise ValueError(f"unknown column kind {kind!r}")


def shape_files(
    directory: Path, shape: str, rows: int, live: bool, seed: int, *, files: int = 1, row_group_rows: int | None = None
) -> list[Path]:
    """Write (once) ``rows`` rows of ``shape`` as ``files`` Parquet files of equal size, each
    with row groups of ``row_group_rows`` (None: one row group per file); returns the paths."""
    manifest = {
        "version": SHAPES_VERSION,
        "shape": shape,
        "rows": rows,
        "live": live,
        "seed": seed,
        "files": files,
        "row_group_rows": row_group_rows,
    }
    stamp = directory / "manifest.json"
    paths = [directory / f"part-{k:04d}.parquet" for k in range(files)]
    if stamp.exists() and json.loads(stamp.read_text()) == manifest and all(p.exists() for p in paths):
        return paths
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*.parquet"):
        old.unlink()
    columns = shape_columns(shape)
    per_file = -(-rows // files)
    for k, path in enumerate(paths):
        count = min(per_file, rows - k * per_file)
        rng = np.random.default_rng([seed, k])
        table = pa.table({name: _shape_column(kind, i, rng, count, live) for i, (name, kind) in enumerate(columns)})
        pq.write_table(table, path, row_group_size=row_group_rows or max(count, 1))
    stamp.write_text(json.dumps(manifest))
    return paths
