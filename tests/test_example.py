"""The shipped example: its data is what the script in the repo makes, and it shows drift and no drift."""

from __future__ import annotations

import runpy
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "config" / "example" / "data"


def test_example_data_is_reproduced_by_its_script(tmp_path: Path) -> None:
    """config/example/generate.py regenerates exactly the committed example data."""
    module = runpy.run_path(str(REPO / "config" / "example" / "generate.py"))
    module["main"](tmp_path)
    committed = sorted(p.relative_to(DATA) for p in DATA.rglob("*") if p.is_file())
    regenerated = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert committed == regenerated
    for name in committed:
        if name.suffix == ".parquet":
            pd.testing.assert_frame_equal(pd.read_parquet(DATA / name), pd.read_parquet(tmp_path / name))
        else:
            assert (DATA / name).read_bytes() == (tmp_path / name).read_bytes(), name


def test_example_data_is_small() -> None:
    """The example data stays a few MB at most."""
    size = sum(p.stat().st_size for p in DATA.rglob("*") if p.is_file())
    assert size < 3_000_000
