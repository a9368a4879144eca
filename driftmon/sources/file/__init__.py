"""``type: file``: raw rows from CSV, Parquet or JSON Lines files (a path or a glob).

Memory stays bounded whatever the size of the files. Each Parquet file is opened once;
each feature is a task on a thread pool (numeric ones first) that reads its one column
(at most COLUMN_BATCH_ROWS rows at a time, text as Arrow dictionaries) and bins it; a
reference needs one whole column per task (quantile edges). CSV and JSON
Lines are streamed by pyarrow's readers in READ_BLOCK_BYTES blocks, handed on as Arrow
arrays of at most BATCH_ROWS rows (no pandas); CSV takes the source's ``delimiter``,
``na_values`` (by default only the empty field is null), ``encoding`` and ``header``. Only the configured
features' columns (plus the window's column) are read. With a ``window``, Parquet row groups whose statistics lie
outside it are skipped without being read, and path templates (``{now:%Y/%m/%d}``,
``{start:...}``, ``{end:...}``, in UTC) open only the partitions of the window.

Where things are: ``options`` (the config), ``source`` (paths, windows, the cache's unit),
``format`` (the interface each format implements, and counting from row batches),
``formats`` (the table of formats), ``parquet``, ``csv``, ``jsonl`` (one format each;
``jsonl_duckdb``: DuckDB's JSON reader), ``columns`` (the checks and conversions they share).
"""

from driftmon.sources.file.options import FileSourceConfig
from driftmon.sources.file.source import FileSource

__all__ = ["FileSource", "FileSourceConfig"]
