"""The one way SQL text names a schema or relation: quoted, so no name can end the statement early.

Paths and values never enter SQL text at all: they go as parameters (`?`) or through DuckDB's Python API
(`write_parquet(path)`, `read_csv(?)`).
"""

from __future__ import annotations

from dlt.common.data_writers.escape import escape_postgres_identifier


def quoted(*parts: str) -> str:
    """Return `"schema"."name"` for the given name parts, each quoted as a DuckDB identifier."""
    return ".".join(escape_postgres_identifier(part) for part in parts)
