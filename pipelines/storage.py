"""DuckDB files that every current DuckDB opens, and the one-command migration of older warehouses.

The DuckDB library this project loads with (2.0) writes, by default, a storage format that DuckDB 1.4
and 1.5 refuse ("version number 69 ... only 64 to 68"), and those are the engines that the `duckdb` CLI
on PyPI and BI drivers bundle. The format is fixed when a file is created (later writes keep it; dlt's
`global_config` is applied only after dlt has created the file), so every file we write is created
here first, with `storage_compatibility_version` set: the warehouse, the serving file, the migration's
copy.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from pathlib import Path

import duckdb

from pipelines.sql_names import quoted

# STORAGE_VERSION: the oldest DuckDB that must open our files. DuckDB 1.4 is the oldest release dlt offers
# every merge strategy with, and the one BI drivers (and `duckdb-cli`, `duckdb-ext-*` wheels) bundle today.
# It and `create_database` live with the warehouse interface, the one place that opens DuckDB.
from pipelines.warehouse import DUCKDB, STORAGE_VERSION, Connection, Warehouse, create_database

__all__ = ["STORAGE_VERSION", "create_database"]


class StorageError(RuntimeError):
    """A DuckDB file cannot be created, read or migrated; the message is one line naming the fix."""


def attach_new(con: Connection, path: Path, alias: str) -> None:
    """Attach a new DuckDB file at `path` as `alias`, created in the compatible format."""
    con.execute(f"attach ? as {alias} (storage_version '{STORAGE_VERSION}')", [str(path)])


def storage_version(path: Path) -> str:
    """Return the oldest DuckDB release that reads `path`, as DuckDB reports it (e.g. "v1.4.0+")."""
    try:
        with Warehouse(DUCKDB, path=path).connect(read_only=True) as con:
            row = con.fetchone(
                "select tags['storage_version'] from duckdb_databases() "
                "where database_name = current_database()"
            )
    except duckdb.Error as exc:
        raise StorageError(f"storage: cannot open {path}: {str(exc).splitlines()[0]}") from None
    return str(row[0]) if row and row[0] else "unknown"


def is_compatible(version: str) -> bool:
    """Return whether a `storage_version` tag is one that STORAGE_VERSION's release reads."""
    return _release(version) <= _release(STORAGE_VERSION)


def _release(version: str) -> tuple[int, ...]:
    digits = version.strip().lstrip("v").rstrip("+").split(".")
    try:
        return tuple(int(d) for d in digits)
    except ValueError:
        return (999,)  # unknown: treat as too new, so the migration runs


def backup_path_for(db_path: Path) -> Path:
    return db_path.with_name(f"{db_path.stem}.before-migration{db_path.suffix}")


def migrate(db_path: Path) -> str:
    """Rewrite `db_path` in the compatible format (copy, check, rename over); return what was done.

    The caller holds the run lock, so no nightly run writes meanwhile. The old file stays reachable as
    `<name>.before-migration.duckdb` (a hard link, so no extra disk until it is deleted).
    """
    if not db_path.exists():
        raise StorageError(f"migrate-storage: {db_path} does not exist; check --db")
    version, oldest = storage_version(db_path), STORAGE_VERSION.lstrip("v")
    if is_compatible(version):
        return f"{db_path} is already readable by DuckDB {oldest} and later ({version}); nothing to do"
    backup = backup_path_for(db_path)
    if backup.exists():
        raise StorageError(
            f"migrate-storage: {backup} exists from an earlier migration; move or delete it, then retry"
        )
    # Fold a leftover write-ahead log into the file first: the WAL belongs to the old file, and one
    # left beside the new file would be replayed into it.
    try:
        with Warehouse(DUCKDB, path=db_path).connect() as con:
            con.execute("checkpoint")
    except duckdb.Error as exc:
        raise StorageError(
            f"migrate-storage: cannot open {db_path} for writing ({str(exc).splitlines()[0]}); close every "
            "program that has it open (BI tools, SQL prompts) and retry"
        ) from None
    partial = db_path.with_name(f".{db_path.name}.migrating")
    remove_with_wal(partial)
    try:
        with Warehouse(DUCKDB).connect() as con:
            con.execute("attach ? as old (read_only)", [str(db_path)])
            attach_new(con, partial, "new")
            con.execute("copy from database old to new")
            _check_same_rows(con)
            con.execute("detach new")  # checkpoints the copy into its file
    except (duckdb.Error, StorageError) as exc:
        with contextlib.suppress(OSError):
            remove_with_wal(partial)  # the old file is untouched: nothing else to undo
        if isinstance(exc, StorageError):
            raise
        raise StorageError(f"migrate-storage: copying {db_path} failed: {str(exc).splitlines()[0]}") from None
    partial.chmod(stat.S_IMODE(db_path.stat().st_mode))  # whoever could read the warehouse still can
    replace_file(partial, db_path, keep_old_as=backup)
    return (
        f"{db_path} migrated from storage {version} to {STORAGE_VERSION}+ (DuckDB {oldest} and later "
        f"open it); the old file is {backup}: delete it when satisfied"
    )


def _check_same_rows(con: Connection) -> None:
    tables = con.execute(
        "select schema_name, table_name from duckdb_tables() where database_name = 'old' order by 1, 2"
    ).fetchall()
    for schema, table in tables:
        counts = [
            con.execute(f"select count(*) from {db}.{quoted(schema, table)}").fetchone()
            for db in ("old", "new")
        ]
        if counts[0] != counts[1]:
            raise StorageError(
                f"migrate-storage: {schema}.{table} has {counts[0]} rows but its copy {counts[1]}"
            )


def remove_with_wal(path: Path) -> None:
    """Delete a DuckDB file and its write-ahead log, if there."""
    path.unlink(missing_ok=True)
    Path(f"{path}.wal").unlink(missing_ok=True)


def replace_file(partial: Path, final: Path, keep_old_as: Path | None = None) -> None:
    """Rename a finished DuckDB file over `final` atomically, durable once this returns.

    A reader that has the old file open keeps reading it (its inode lives on until it lets go); new
    readers open the new one. Never call this on a file some process is writing.
    """
    if Path(f"{partial}.wal").exists():
        raise StorageError(f"storage: {partial} still has a write-ahead log; it was not closed cleanly")
    with open(partial, "rb") as fh:
        os.fsync(fh.fileno())
    if keep_old_as is not None and final.exists():
        os.link(final, keep_old_as)
    os.replace(partial, final)
    dir_fd = os.open(final.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def migrate_storage(db: Path) -> int:
    """`migrate-storage`: rewrite `db` in the compatible format, holding the run lock so no night writes."""
    from pipelines.lock import LockBusy, RunLock

    try:
        with RunLock(db):
            print(migrate(db))
    except LockBusy as exc:
        logging.getLogger("retail").error("migrate-storage: %s; retry when it has finished", exc)
        return 3
    except StorageError as exc:
        logging.getLogger("retail").error("%s", exc)
        return 1
    return 0
