"""The one way SQL text names a relation or holds a string: quoted, so no name or path can end a statement.

Paths and values from the command line never enter SQL text of ours: they go as parameters (`?`) or
through DuckDB's Python API (`write_parquet(path)`). dlt 1.31's DuckDB loader pastes each load file's path
into `read_parquet('...')` unquoted, and that path starts with the folder of `--db`; `quote_dlt_load_paths`
makes it quote the path, so a warehouse in "/data/Bob's share" loads.
"""

from __future__ import annotations

from dlt.common.data_writers.escape import escape_postgres_identifier
from dlt.destinations.impl.duckdb import duck


def quoted(*parts: str) -> str:
    """Return `"schema"."name"` for the given name parts, each quoted as a DuckDB identifier."""
    return ".".join(escape_postgres_identifier(part) for part in parts)


def literal(text: str) -> str:
    """Return `text` as an SQL string literal (standard quoting: a quote is doubled, backslash is plain)."""
    return "'" + text.replace("'", "''") + "'"


class _QuotedPathCopyJob(duck.DuckDbCopyJob):
    """dlt's DuckDB copy job with the load file's path quoted (dlt pastes it into the SQL as it is)."""

    def run(self) -> None:
        original = self._file_path
        self._file_path = literal(original)[1:-1]  # dlt wraps it in '...' itself
        try:
            super().run()
        finally:
            self._file_path = original


def quote_dlt_load_paths() -> None:
    """Make dlt's DuckDB loader quote load file paths (`create_load_job` looks the class up when called)."""
    duck.DuckDbCopyJob = _QuotedPathCopyJob  # type: ignore[misc]
