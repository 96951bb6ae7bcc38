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

from pipelines.sql_names import quoted
from pipelines.storage import STORAGE_VERSION, StorageError, attach_new, remove_with_wal, replace_file
from pipelines.warehouse_file import set_reader_mode

log = logging.getLogger("retail.publish")

MART_SCHEMA = "analytics"

FRESHNESS_DDL = """
create table serving.ops.source_freshness (
    source varchar,
    last_loaded_at timestamptz,
    last_run_at timestamptz,
    last_run_status varchar,
    last_run_error varchar
)
"""
FRESHNESS = """
insert into serving.ops.source_freshness
select
    source,
    max(ended_at) filter (where status in ('succeeded', 'deferred')) as last_loaded_at,
    max(ended_at) as last_run_at,
    arg_max(status, ended_at) as last_run_status,
    arg_max(error, ended_at) as last_run_error
from warehouse.ops.run_sources
group by source
order by source
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
    except (duckdb.Error, OSError, StorageError) as exc:
        with contextlib.suppress(OSError):
            remove_with_wal(partial)
        raise StorageError(
            f"publish: writing {target} failed ({type(exc).__name__}: {str(exc).splitlines()[0]}); "
            "the previous serving file is unchanged"
        ) from None
    return Published(target, marts, time.monotonic() - started)


def _write(db_path: Path, partial: Path) -> list[str]:
    with duckdb.connect() as con:
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
            con.execute(FRESHNESS)
        con.execute(
            "create table serving.ops.published as select ?::timestamptz as published_at, "
            "? as warehouse, ? as storage_version, ? as marts",
            [datetime.now(UTC), db_path.name, STORAGE_VERSION, len(marts)],
        )
        con.execute("detach serving")  # checkpoints: the file is complete and has no WAL
    return marts


def publish_or_explain(db_path: Path) -> int:
    """Publish after a passing build; print the line; on failure log one line and return 1."""
    try:
        print(publish(db_path).summary())
    except NothingToPublish as exc:
        log.warning("%s", exc)
    except StorageError as exc:
        log.error("%s", exc)
        return 1
    return 0
