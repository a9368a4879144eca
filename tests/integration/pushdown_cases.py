"""Data and checks shared by the tests of the sources that bin where the data lives (SQL, Spark).

The same rows go to every engine; the pandas (file) path's histograms are the oracle.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from driftmon.errors import DataError
from driftmon.histogram import BinningRule, Histogram
from driftmon.sources.base import Source
from driftmon.sources.file import FileSource, FileSourceConfig

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
RULES = [
    BinningRule("x"),  # quantile edges; NaN, NULL, ±inf and out-of-range values
    BinningRule("k", bins=7),  # few distinct values (5 <= 7): one point bin per value
    BinningRule("z"),  # zero-inflated: 0 is a point bin, the rest split by quantiles
    BinningRule("zu", strategy="uniform", bins=5),  # the same, uniform widths for the rest
    BinningRule("b"),  # a 0/1 integer flag: two point bins
    BinningRule("u", strategy="uniform", bins=6),
    BinningRule("e", edges=(-1.0, 0.0, 0.5, 2.0)),
    BinningRule("c", max_categories=3),  # top 3 of 7, NULLs, unseen values live
    BinningRule("flag"),  # booleans are categorical: "True" / "False"
    BinningRule("i", kind="categorical"),  # integers as categories print as "3"
]


def mixed(n: int, shift: float, seed: int) -> pd.DataFrame:
    """Rows with every hard case: NaN, NULL (None), ±inf, far-out values, unseen categories."""
    rng = np.random.default_rng(seed)
    x = rng.normal(shift, 1.0, n)
    x[rng.random(n) < 0.05] = np.nan
    x[:4] = [np.inf, -np.inf, 1e6, -1e6]
    k = rng.integers(0, 5, n).astype(np.float64)
    k[rng.random(n) < 0.05] = np.nan
    e = rng.normal(shift, 1.0, n)
    e[rng.random(n) < 0.05] = np.nan
    c = rng.choice(["a", "b", "c", "d", "é", "Z", "zz"], n).astype(object)
    c[rng.random(n) < 0.05] = None
    if shift:
        c[:40] = "never-seen"
    z = np.where(rng.random(n) < 0.6 - shift / 10, 0.0, rng.exponential(5.0, n))
    frame = pd.DataFrame(
        {
            "x": x,
            "k": k,
            "u": rng.uniform(-3, 3 + shift, n),
            "e": e,
            "c": c,
            "flag": rng.random(n) < 0.3 + shift / 10,
            "i": rng.integers(-3, 4, n),
            "ts": pd.to_datetime(NOW) - pd.to_timedelta(rng.uniform(0, 7200, n), unit="s"),
            "z": z,
            "zu": z * 2.0,
            "b": (rng.random(n) < 0.4 + shift / 10).astype(np.int64),
        }
    )
    return frame


def write_parquet(frame: pd.DataFrame, path: Path, seed: int) -> None:
    """Parquet keeping NaN as NaN in ``x`` (pandas would store it as null), plus some real nulls."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    nulls = np.random.default_rng(seed).random(len(frame)) < 0.03
    nulls[:4] = False
    x = pa.array(frame["x"].to_numpy(), mask=nulls, from_pandas=False)
    table = table.set_column(table.schema.get_field_index("x"), "x", x)
    # e: NaN but no ±inf, so the file's min/max statistics are finite and say nothing of NaN
    # (DuckDB once trusted them and folded isnan() to false).
    e = pa.array(frame["e"].to_numpy(), from_pandas=False)
    table = table.set_column(table.schema.get_field_index("e"), "e", e)
    assert table.column("x").null_count == nulls.sum() and pc.sum(pc.is_nan(table.column("x"))).as_py() > 0
    pq.write_table(table, path, coerce_timestamps="us", allow_truncated_timestamps=True)  # Spark: no ns times


def file_source(folder: Path, name: str, **extra: object) -> FileSource:
    return FileSource(FileSourceConfig(type="file", path=name, **extra), folder, NOW)  # type: ignore[arg-type]


def assert_same(expected: dict[str, Histogram], actual: dict[str, Histogram]) -> None:
    assert list(actual) == list(expected)
    for name, want in expected.items():
        got = actual[name]
        assert got.spec == want.spec, name
        np.testing.assert_array_equal(got.counts, want.counts, err_msg=name)
        assert got.missing == want.missing, name


def write_cases(folder: Path) -> Path:
    """ref.parquet and live.parquet in ``folder``: NaN and NULL in x, NULL in k and c, unseen c live."""
    write_parquet(mixed(4000, 0.0, 1), folder / "ref.parquet", 11)
    write_parquet(mixed(2500, 0.6, 2), folder / "live.parquet", 12)
    return folder


def check_both_sides(folder: Path, reference: Source, live: Source) -> None:
    """Reference (bins and counts) and live counts equal the file path's, bin for bin."""
    expected_reference = file_source(folder, "ref.parquet").profile(RULES)
    assert_same(expected_reference, reference.profile(RULES))
    specs = {name: h.spec for name, h in expected_reference.items()}
    expected_live = file_source(folder, "live.parquet").count(specs)
    assert expected_live["c"].counts[-1] == 40  # the unseen values are really there
    assert expected_live["x"].missing > 0 and expected_live["x"].counts[0] > 0
    assert_same(expected_live, live.count(specs))


# ---------------------------------------------------------------------------
# extreme values: one binning rule for the file path and every engine (issue 27)

BIGGEST = float(np.finfo(np.float64).max)
TINIEST = 5e-324  # the smallest subnormal
SPECIALS = (
    1e308, -1e308, 1.7e308, -1.7e308, BIGGEST, -BIGGEST, TINIEST, -TINIEST, 1e-310, -1e-310,
    2.2250738585072014e-308, 0.0, -0.0, 1.0, np.inf, -np.inf, np.nan,
)  # fmt: skip


def _extreme_column(rng: np.random.Generator, case: int) -> np.ndarray:
    """One column of a family chosen by ``case``: all-equal, two values, specials, clusters, subnormals, spans."""
    n = int(rng.integers(1, 160))
    specials = np.array(SPECIALS)
    family = case % 7
    if family == 0:  # all equal, with some ±inf and NaN around
        values = np.full(n, rng.choice(specials[:13]))
    elif family == 1:  # two distinct values
        values = rng.choice(rng.choice(specials[:13], 2, replace=False), n)
    elif family == 2:  # specials only, any mix
        values = rng.choice(specials, n)
    elif family == 3:  # clusters near both float limits
        values = np.concatenate([rng.uniform(-1.75e308, -1.6e308, n), rng.uniform(1.6e308, 1.75e308, n // 2 + 1)])
    elif family == 4:  # subnormals and the smallest normals
        values = rng.integers(-40, 40, n) * TINIEST * float(rng.choice([1.0, 1e5, 1e10]))
    elif family == 5:  # nearly the whole float range, spread evenly
        t = rng.random(n)
        values = -BIGGEST * (1.0 - t) + BIGGEST * t
    else:  # a point mass at an extreme, the rest spread
        values = np.where(rng.random(n) < 0.4, rng.choice([-1e308, 1e308, 0.0]), rng.normal(0, 1e307, n))
    extra = rng.choice(np.array([np.inf, -np.inf, np.nan]), int(rng.integers(0, 4)))
    return rng.permutation(np.concatenate([values.astype(np.float64), extra]))


def extreme_cases(seed: int, columns: int) -> tuple[pd.DataFrame, list[BinningRule]]:
    """``columns`` generated columns (c0, c1, ...; padded with NaN, which is missing) and a rule for each."""
    rng = np.random.default_rng(seed)
    data = [_extreme_column(rng, case) for case in range(columns)]
    rows = max(len(column) for column in data)
    frame = pd.DataFrame(
        {f"c{i}": np.concatenate([column, np.full(rows - len(column), np.nan)]) for i, column in enumerate(data)}
    )
    strategies = ("quantile", "uniform")
    rules = [
        BinningRule(f"c{i}", kind="numeric", strategy=strategies[int(rng.integers(2))], bins=int(rng.integers(2, 13)))
        for i in range(columns)
    ]
    return frame, rules


def write_extremes(folder: Path, seed: int = 27, columns: int = 28) -> tuple[pd.DataFrame, list[BinningRule]]:
    """extreme.parquet in ``folder`` (NaN kept as NaN), and the rules to profile it with."""
    frame, rules = extreme_cases(seed, columns)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    for index, name in enumerate(frame.columns):
        table = table.set_column(index, name, pa.array(frame[name].to_numpy(), from_pandas=False))
    pq.write_table(table, folder / "extreme.parquet")
    return frame, rules


def check_extremes(folder: Path, rules: list[BinningRule], actual: dict[str, Histogram]) -> None:
    """The engine's reference bins and counts are the file path's, bin for bin; every edge finite."""
    expected = file_source(folder, "extreme.parquet").profile(rules)
    for name, histogram in expected.items():
        assert np.isfinite(histogram.spec.edges).all(), (name, histogram.spec)
    assert_same(expected, actual)


# ---------------------------------------------------------------------------
# segments (driftmon.segments)


def same_segments(expected: object, actual: object) -> None:
    """Same segment values and, per feature, the same spec and counts per segment."""
    assert actual.segmentation == expected.segmentation  # type: ignore[attr-defined]
    for name, hist in expected.histograms.items():  # type: ignore[attr-defined]
        got = actual.histograms[name]  # type: ignore[attr-defined]
        assert got.spec == hist.spec, name
        np.testing.assert_array_equal(got.counts, hist.counts, err_msg=name)
        np.testing.assert_array_equal(got.missing, hist.missing, err_msg=name)


def check_segments(data: Path, reference: Source, live: Source, rules: list[BinningRule], by: list[str]) -> None:
    """Per-segment reference bins and counts, and live counts, equal the file path's (top 3 of ``by``)."""
    expected = file_source(data, "ref.parquet").profile_segments(rules, by, 3)
    assert expected.segmentation.size == 5 and expected.histograms["x"].counts[-1].sum() > 0  # NULL segment rows
    same_segments(expected, reference.profile_segments(rules, by, 3))
    specs = {name: h.spec for name, h in expected.histograms.items()}
    counted = file_source(data, "live.parquet").count_segments(specs, expected.segmentation)
    found = live.count_segments(specs, expected.segmentation)
    for name, hist in counted.items():
        np.testing.assert_array_equal(found[name].counts, hist.counts, err_msg=name)
        np.testing.assert_array_equal(found[name].missing, hist.missing, err_msg=name)


# ---------------------------------------------------------------------------
# the names of unseen values (driftmon.sources.pushdown_unseen)

# 20 unseen values of c live, most frequent first: two tie at 45 (kept, sorted by value) and
# the 16th and 17th differ (10 and 8), so the kept set is the same however ties are broken.
UNSEEN_C = dict(
    zip(
        ["zeta", "Zeta", "ñu", "o'brien", "日本", *(f"u{i:02d}" for i in range(15))],
        [50, 45, 45, 40, 33, 30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2],
        strict=True,
    )
)
UNSEEN_RULES = [
    BinningRule("c", max_categories=3),  # a, b, c; others d, e known: "d" live is __other__
    BinningRule("i", kind="categorical"),  # integers print as "7"
    BinningRule("f", kind="categorical"),  # whole floats print as "4", others as "2.5"
]


def write_unseen(folder: Path) -> Path:
    """ref_unseen.parquet and live_unseen.parquet: 20 unseen values of c, two of i, two of f live; segment s."""
    rng = np.random.default_rng(20)
    ref_c = np.repeat(["a", "b", "c", "d", "e"], [400, 300, 200, 50, 30]).astype(object)
    n = ref_c.size
    reference = pd.DataFrame(
        {"c": ref_c, "i": rng.integers(0, 5, n), "f": rng.choice([1.0, 2.0, 3.0], n), "s": rng.choice(["p", "q"], n)}
    )
    live_c = np.concatenate([np.repeat(["a", "d"], [100, 20]), np.repeat(list(UNSEEN_C), list(UNSEEN_C.values()))])
    live_c = np.concatenate([live_c.astype(object), [None] * 10])
    m = live_c.size
    i = rng.integers(0, 5, m)
    i[:30], i[30:37] = 7, 8
    f = rng.choice([1.0, 2.0, 3.0], m)
    f[:25], f[25:29] = 2.5, 4.0
    # Each value's rows alternate between the segments (p gets the odd one out): no ties at the
    # 16th count within a segment either.
    s = np.where(pd.Series(live_c).fillna("").groupby(pd.Series(live_c).fillna("")).cumcount() % 2 == 0, "p", "q")
    live = pd.DataFrame({"c": live_c, "i": i, "f": f, "s": s})
    reference.sample(frac=1.0, random_state=1).to_parquet(folder / "ref_unseen.parquet", index=False)
    live.sample(frac=1.0, random_state=2).to_parquet(folder / "live_unseen.parquet", index=False)
    return folder


def unseen_oracle(values: pd.Series, known: set[str]) -> tuple[tuple[str, float], ...]:
    """The 16 most frequent present values outside ``known``, by count then value (code points)."""
    counts = values.dropna().astype(str).value_counts()
    pairs = sorted(((v, float(c)) for v, c in counts.items() if v not in known), key=lambda p: (-p[1], p[0]))
    return tuple(pairs[:16])


def check_unseen(folder: Path, reference: Source, live: Source) -> dict[str, Histogram]:
    """The engine's live histograms name the same unseen values, with the same counts, as the
    file source and as pandas' value counts; the bins equal the file path's. Returns them."""
    expected_reference = file_source(folder, "ref_unseen.parquet").profile(UNSEEN_RULES)
    assert_same(expected_reference, reference.profile(UNSEEN_RULES))
    specs = {name: h.spec for name, h in expected_reference.items()}
    expected = file_source(folder, "live_unseen.parquet").count(specs)
    actual = live.count(specs)
    assert_same(expected, actual)
    frame = pd.read_parquet(folder / "live_unseen.parquet")
    printed = {"c": frame["c"], "i": frame["i"].astype(str), "f": frame["f"].map(lambda v: f"{v:g}")}
    for name, spec in specs.items():
        known = set(spec.categories) | set(spec.others or ())
        oracle = unseen_oracle(printed[name], known)
        assert oracle, name
        assert expected[name].unseen_values == oracle, name
        assert actual[name].unseen_values == oracle, name
        assert actual[name].counts[-1] == sum(c for v, c in printed[name].value_counts().items() if v not in known)
    assert [v for v, _ in actual["c"].unseen_values[:3]] == ["zeta", "Zeta", "ñu"]
    assert actual["c"].unseen_values[-1] == ("u10", 10.0) and actual["c"].counts[-1] == sum(UNSEEN_C.values())
    assert actual["i"].unseen_values == (("7", 30.0), ("8", 7.0))
    assert actual["f"].unseen_values == (("2.5", 25.0), ("4", 4.0))
    return actual


def check_unseen_segments(folder: Path, reference: Source, live: Source) -> None:
    """Per segment, the engine names the unseen values the file source names."""
    expected = file_source(folder, "ref_unseen.parquet").profile_segments(UNSEEN_RULES, ["s"], 3)
    found = reference.profile_segments(UNSEEN_RULES, ["s"], 3)
    same_segments(expected, found)
    specs = {name: h.spec for name, h in expected.histograms.items()}
    counted = file_source(folder, "live_unseen.parquet").count_segments(specs, expected.segmentation)
    got = live.count_segments(specs, expected.segmentation)
    for name, hist in counted.items():
        np.testing.assert_array_equal(got[name].counts, hist.counts, err_msg=name)
        assert any(hist.unseen_values), name
        assert got[name].unseen_values == hist.unseen_values, name


# ---------------------------------------------------------------------------
# date and time features: seconds since 1970 (whole microseconds / 1e6), as the file source

TIME_RULES = [
    BinningRule("t", kind="numeric"),  # a naive timestamp (UTC), microseconds, some before 1970
    BinningRule("tz", kind="numeric", bins=7),  # the same instants, time-zone aware
    BinningRule("d", kind="numeric", strategy="uniform", bins=5),  # dates
]


def times(n: int, shift_days: float, seed: int) -> pd.DataFrame:
    """Timestamps with microsecond fractions over 30 days (a few in 1969), nulls, and dates."""
    rng = np.random.default_rng(seed)
    base = pd.Timestamp("2026-02-01").value // 1000  # microseconds
    micros = base + ((rng.uniform(0, 30, n) + shift_days) * 86_400e6).astype(np.int64)
    micros[:3] = [-500_000, -1, -86_400_000_001]  # 1969-12-31 23:59:59.5, ...
    t = pd.Series(micros.astype("datetime64[us]"))
    nulls = rng.random(n) < 0.03
    nulls[:3] = False
    t[nulls] = pd.NaT
    d = t.dt.date.astype(object).where(t.notna(), None)
    return pd.DataFrame({"t": t, "tz": t.dt.tz_localize("UTC"), "d": d})


def write_times(folder: Path) -> Path:
    """times_ref.parquet and times_live.parquet (live two days later), microsecond timestamps."""
    for name, frame in (("ref", times(3000, 0.0, 5)), ("live", times(2000, 2.0, 6))):
        table = pa.Table.from_pandas(frame, preserve_index=False)
        assert table.schema.field("d").type == pa.date32() and table.schema.field("tz").type.tz == "UTC"
        pq.write_table(table, folder / f"times_{name}.parquet")
    return folder


def seconds_oracle(values: pd.Series) -> np.ndarray:
    """Unix seconds by hand: the whole microseconds since 1970-01-01 UTC over 1e6, null as NaN."""
    stamps = pd.to_datetime(values, utc=True)
    micros = stamps.dt.tz_localize(None).to_numpy(dtype="datetime64[us]").astype(np.int64).astype(np.float64)
    return np.where(stamps.isna().to_numpy(), np.nan, micros / 1e6)


def check_times(folder: Path, reference: Source, live: Source) -> None:
    """Reference bins and live counts of timestamp, timestamptz and date features equal the file
    path's bit for bit, the quantile edges numpy's over the seconds; no kind is the file's error."""
    expected_reference = file_source(folder, "times_ref.parquet").profile(TIME_RULES)
    frame = pd.read_parquet(folder / "times_ref.parquet")
    seconds = seconds_oracle(frame["t"])
    seconds = seconds[~np.isnan(seconds)]
    np.testing.assert_array_equal(expected_reference["t"].spec.edges, np.quantile(seconds, np.linspace(0, 1, 11)))
    assert expected_reference["t"].spec.edges[0] == -86_400.000001
    assert_same(expected_reference, reference.profile(TIME_RULES))
    specs = {name: h.spec for name, h in expected_reference.items()}
    expected = file_source(folder, "times_live.parquet").count(specs)
    assert expected["t"].counts[-1] > 0 and expected["t"].missing > 0  # past the reference's end; nulls
    assert_same(expected, live.count(specs))
    with pytest.raises(DataError, match=r"feature 't' is a date/time or duration column .*set `kind: numeric`"):
        reference.profile([BinningRule("t")])


# ---------------------------------------------------------------------------
# a numeric column stuck at one value inside a range bin: the live (min, max) from the engine
# (Histogram.extent), as the file source keeps it, so the `constant` check sees it

STUCK_RULES = [
    BinningRule("s"),  # a sensor: continuous in the reference, stuck at 23.17 live (with nulls)
    BinningRule("w"),  # live values all in one range bin, but not one value: not constant
    BinningRule("n"),  # live spread over every bin: no extent kept
    BinningRule("i", bins=5),  # integers 0..999 in range bins, stuck at 500 live
    BinningRule("hi", bins=4),  # every live value +inf (the overflow bin)
]


def write_stuck(folder: Path) -> Path:
    """ref_stuck.parquet and live_stuck.parquet (see STUCK_RULES)."""
    rng = np.random.default_rng(40)
    n, m = 3_000, 800
    reference = pd.DataFrame(
        {
            "s": rng.normal(20, 5, n),
            "w": rng.normal(20, 5, n),
            "n": rng.normal(0, 1, n),
            "i": rng.integers(0, 1_000, n),
            "hi": rng.normal(0, 1, n),
        }
    )
    s = np.full(m, 23.17)
    s[:50] = np.nan
    live = pd.DataFrame(
        {
            "s": s,
            "w": 23.17 + rng.uniform(0, 1e-3, m),
            "n": rng.normal(0, 1, m),
            "i": np.full(m, 500, dtype=np.int64),
            "hi": np.full(m, np.inf),
        }
    )
    reference.to_parquet(folder / "ref_stuck.parquet", index=False)
    live.to_parquet(folder / "live_stuck.parquet", index=False)
    return folder


def check_stuck(folder: Path, reference: Source, live: Source) -> dict[str, Histogram]:
    """The engine's live histograms carry the file source's extent (min, max) where every live
    value fell in one bin, checked against pandas' min and max too, and None elsewhere; the
    `constant` check then says what it says on files. Returns them."""
    from driftmon.quality import feature_quality

    expected_reference = file_source(folder, "ref_stuck.parquet").profile(STUCK_RULES)
    found_reference = reference.profile(STUCK_RULES)
    assert_same(expected_reference, found_reference)
    specs = {name: h.spec for name, h in expected_reference.items()}
    expected = file_source(folder, "live_stuck.parquet").count(specs)
    actual = live.count(specs)
    assert_same(expected, actual)
    frame = pd.read_parquet(folder / "live_stuck.parquet")
    oracle = {name: (float(frame[name].min()), float(frame[name].max())) for name in ("s", "w", "i", "hi")}
    assert {name: h.extent for name, h in expected.items()} == {**oracle, "n": None}
    assert {name: h.extent for name, h in actual.items()} == {**oracle, "n": None}
    constant = {name: feature_quality(name, expected_reference[name], actual[name], {}).constant for name in specs}
    assert constant == {"s": True, "w": False, "n": False, "i": True, "hi": True}
    return actual
