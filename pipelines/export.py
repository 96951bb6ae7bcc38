"""`python -m pipelines export --to DIR`: every mart (schema `analytics`) as a Parquet or CSV file.

For BI tools that cannot open DuckDB, or a shared drive: each file is written beside its target under a
temporary name and renamed over it, so a reader never sees half a file.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import duckdb

from pipelines.sql_names import quoted

log = logging.getLogger("retail.export")


def export_marts(db_path: Path, target: Path, fmt: str = "parquet") -> list[Path]:
    """Write every relation of `analytics` to `target/<name>.<fmt>`; return the files written."""
    target.mkdir(parents=True, exist_ok=True)
    written = []
    with duckdb.connect(str(db_path), read_only=True) as con:
        marts = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = 'analytics' order by 1"
            ).fetchall()
        ]
        if not marts:
            raise FileNotFoundError(
                f"export: {db_path} has no analytics marts; run `python -m pipelines models`"
            )
        for mart in marts:
            final = target / f"{mart}.{fmt}"
            partial = target / f".{mart}.{fmt}.partial"
            # The path goes to DuckDB as a value, never pasted into SQL: a quote in --to is just a quote.
            relation = con.sql(f"select * from {quoted('analytics', mart)}")
            if fmt == "parquet":
                relation.write_parquet(str(partial))
            else:
                relation.write_csv(str(partial), header=True)
            os.replace(partial, final)
            written.append(final)
            log.info("export: analytics.%s -> %s", mart, final)
    return written
