"""Shared fixtures: configs and data written to real files in a temporary folder."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write dedented text to a file under tmp_path and return its path."""

    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return _write


@pytest.fixture
def frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    """A reference and a drifted live frame with numeric and categorical columns (seeded)."""
    rng = np.random.default_rng(7)
    reference = pd.DataFrame(
        {
            "x": rng.normal(0, 1, 5000),
            "y": rng.exponential(2.0, 5000),
            "city": rng.choice(["a", "b", "c", "d"], 5000, p=[0.4, 0.3, 0.2, 0.1]),
        }
    )
    live = pd.DataFrame(
        {
            "x": rng.normal(0.5, 1, 2000),
            "y": rng.exponential(2.0, 2000),
            "city": rng.choice(["a", "b", "c", "e"], 2000, p=[0.25, 0.25, 0.25, 0.25]),
        }
    )
    return reference, live
