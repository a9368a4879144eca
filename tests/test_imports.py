"""Deferred imports: pandas is loaded only when used, and safely from many threads at once."""

from __future__ import annotations

import subprocess
import sys


def test_parquet_check_path_does_not_import_pandas_until_used() -> None:
    """Importing the CLI, evaluation and daemon leaves pandas unimported; first use imports it in every thread."""
    code = """
import sys, threading
import driftmon.cli, driftmon.evaluate, driftmon.daemon, driftmon.histogram as h
assert 'pandas' not in sys.modules, 'pandas imported at start-up'
seen = []
def use():
    seen.append(h.pd.Series([1, 2]).sum())
threads = [threading.Thread(target=use) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
assert seen == [3] * 8, seen
assert 'pandas' in sys.modules
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
