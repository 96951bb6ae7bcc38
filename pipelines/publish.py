"""The serving file: what BI tools read, published after the models and SQL tests pass.

A DuckDB file is locked by whoever has it open, readers included, so a dashboard connected to the
warehouse would block the night's writer. BI tools therefore read a separate file that the loader never
writes in place: each publish writes a new file beside it and renames it over the old one. A
dashboard still connected keeps reading yesterday's file; a new connection opens tonight's; a night
whose models or SQL tests fail publishes nothing, so yesterday's file stays as it was.

What it holds:
- `analytics.*`: every mart, as a table (the same names as in the warehouse);
- `ops.source_freshness`: per source, its last successful load, its last run's status and error;
- `ops.published`: when this file was published, from which warehouse, in which storage format.

Where: `<warehouse stem>.serving.duckdb` beside the warehouse, or `[serving] file` in
`.dlt/config.toml` (env `SERVING__FILE`).

On a server (Postgres, MotherDuck) there is no serving file: readers never block the night's writer
there, and the marts swap in one transaction, so BI tools read `analytics` on the server itself. Publishing
then only (re)creates the view `ops.source_freshness` beside the history, and says so.
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import dlt
import duckdb

from pipelines.history import FRESHNESS
from pipelines.logs import first_line
from pipelines.sql_names import quoted
from pipelines.storage import STORAGE_VERSION, StorageError, attach_new, remove_with_wal, replace_file
from pipelines.warehouse import DUCKDB, Warehouse, as_warehouse, engine_errors
from pipelines.warehouse_file import set_reader_mode

log = logging.getLogger("retail.publish")

MART_SCHEMA = "analytics"
RUNS = "warehouse.ops.run_sources"

FRESHNESS_DDL = """
create table serving.ops.source_freshness (
    source varchar,
    last_loaded_at timestamptz,
    last_run_at timestamptz,
    last_run_status varchar,
    last_run_error varchar
)
"""


class NothingToPublish(StorageError):
    """The warehouse has no marts yet: there is nothing to serve, and nothing is replaced."""


@dataclass
class Published:
    path: Path
    marts: list[str]
    seconds: float

    def summary(self) -> str:
        return f"published {len(self.marts)} marts to {self.path} for BI tools ({self.seconds:.1f}s)"


def serving_path_for(db_path: Path) -> Path:
    """Return the serving file of the warehouse `db_path`: config `[serving] file`, else beside it."""
    configured = dlt.config.get("serving.file", str)
    if configured:
        return Path(configured).expanduser()
    return db_path.with_name(f"{db_path.stem}.serving{db_path.suffix or '.duckdb'}")


def publish(db_path: Path, serving_path: Path | None = None) -> Published:
    """Copy the marts and freshness of `db_path` into a new file, then rename it over the serving file."""
    started = time.monotonic()
    target = serving_path or serving_path_for(db_path)
    if target.resolve() == db_path.resolve():
        raise StorageError(
            f"publish: the serving file {target} is the warehouse itself; set another [serving] file"
        )
    partial = target.with_name(f".{target.name}.partial")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        remove_with_wal(partial)  # left by a publish that was killed
        marts = _write(db_path, partial)
        set_reader_mode(partial)  # owner-only, or group-readable for BI with [warehouse] group_readable
        replace_file(partial, target)
    except NothingToPublish:
        raise
    except (duckdb.Error, OSError, StorageError) as exc:  # the serving file is DuckDB's
        with contextlib.suppress(OSError):
            remove_with_wal(partial)
        raise StorageError(
            f"publish: writing {target} failed ({type(exc).__name__}: {str(exc).splitlines()[0]}); "
            "the previous serving file is unchanged"
        ) from None
    return Published(target, marts, time.monotonic() - started)


def _write(db_path: Path, partial: Path) -> list[str]:
    with Warehouse(DUCKDB).connect() as con:  # in memory, with the warehouse and the new file attached
        con.execute("attach ? as warehouse (read_only)", [str(db_path)])
        marts = [
            r[0]
            for r in con.execute(
                "select table_name from duckdb_tables() where database_name = 'warehouse' "
                "and schema_name = ? order by 1",
                [MART_SCHEMA],
            ).fetchall()
        ]
        if not marts:
            raise NothingToPublish(
                f"publish: {db_path} has no {MART_SCHEMA} marts (no source loaded yet?); "
                "the serving file is left as it was"
            )
        attach_new(con, partial, "serving")
        con.execute(f"create schema serving.{MART_SCHEMA}")
        for mart in marts:
            name = quoted(MART_SCHEMA, mart)
            con.execute(f"create table serving.{name} as select * from warehouse.{name}")
        con.execute("create schema serving.ops")
        con.execute(FRESHNESS_DDL)
        has_history = con.execute(
            "select count(*) from duckdb_tables() where database_name = 'warehouse' "
            "and schema_name = 'ops' and table_name = 'run_sources'"
        ).fetchone()
        if has_history and has_history[0]:
            con.execute("insert into serving.ops.source_freshness " + FRESHNESS.format(runs=RUNS))
        con.execute(
            "create table serving.ops.published as select ?::timestamptz as published_at, "
            "? as warehouse, ? as storage_version, ? as marts",
            [datetime.now(UTC), db_path.name, STORAGE_VERSION, len(marts)],
        )
        con.execute("detach serving")  # checkpoints: the file is complete and has no WAL
    return marts


def publish_or_explain(warehouse: Warehouse | Path) -> int:
    """Publish after a passing build; print the line; on failure log one line and return 1."""
    warehouse = as_warehouse(warehouse)
    if not warehouse.is_file or warehouse.path is None:
        return _freshness_view(warehouse)
    try:
        print(publish(warehouse.path).summary())
    except NothingToPublish as exc:
        log.warning("%s", exc)
    except StorageError as exc:
        log.error("%s", exc)
        return 1
    return 0


def _freshness_view(warehouse: Warehouse) -> int:
    """On a server: (re)create `ops.source_freshness` for BI tools reading it directly; say why no file."""
    try:
        with warehouse.connect() as con:
            if "ops.run_sources" in con.relations(["ops"]):
                view = FRESHNESS.format(runs="ops.run_sources")
                con.execute(f"create or replace view ops.source_freshness as {view}")
    except engine_errors() as exc:
        log.error("publish: cannot create ops.source_freshness on %s: %s", warehouse.label, first_line(exc))
        return 1
    print(
        f"no serving file on {warehouse.engine}: BI tools read the analytics schema on {warehouse.label} "
        "directly (ops.source_freshness says how fresh it is)"
    )
    return 0
