"""`python -m pipelines export --to DIR`: every mart (schema `analytics`) as a Parquet or CSV file.

For BI tools that cannot open the warehouse, or a shared drive: each file is written beside its target
under a temporary name and renamed over it, so a reader never sees half a file. DuckDB writes the files
itself; on Postgres (no `COPY … TO` a client file) the rows travel through pyarrow.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from pipelines.sql_names import quoted
from pipelines.warehouse import Warehouse, as_warehouse

log = logging.getLogger("retail.export")


def export_marts(source: Warehouse | Path, target: Path, fmt: str = "parquet") -> list[Path]:
    """Write every relation of `analytics` to `target/<name>.<fmt>`; return the files written.

    `source` is the serving file (a DuckDB warehouse) or the warehouse itself (a server).
    """
    warehouse = as_warehouse(source)
    target.mkdir(parents=True, exist_ok=True)
    written = []
    with warehouse.connect(read_only=True) as con:
        marts = [
            r[0]
            for r in con.fetchall(
                "select table_name from information_schema.tables where table_schema = 'analytics' order by 1"
            )
        ]
        if not marts:
            raise FileNotFoundError(
                f"export: {warehouse.label} has no analytics marts; run `python -m pipelines models`"
            )
        for mart in marts:
            final = target / f"{mart}.{fmt}"
            partial = target / f".{mart}.{fmt}.partial"
            # The path goes to the writer as a value, never pasted into SQL: a quote in --to is just a quote.
            con.write(f"select * from {quoted('analytics', mart)}", partial, fmt)
            os.replace(partial, final)
            written.append(final)
            log.info("export: analytics.%s -> %s", mart, final)
    return written


def export_command(target: Warehouse, to: Path, fmt: str) -> int:
    """`export`: the marts of the serving file beside a DuckDB warehouse, or of a server's warehouse."""
    from pipelines.publish import serving_path_for

    source = target
    if target.is_file:
        assert target.path is not None
        serving = serving_path_for(target.path)
        if not serving.exists():
            log.error(
                "export: no serving file %s yet; a nightly run publishes it once the models pass "
                "(or run `python -m pipelines models --db %s`)",
                serving,
                target.path,
            )
            return 1
        source = Warehouse(path=serving)
    try:
        files = export_marts(source, to, fmt)
    except FileNotFoundError as exc:
        log.error("%s", exc)
        return 1
    print(f"exported {len(files)} marts to {to}")
    return 0
