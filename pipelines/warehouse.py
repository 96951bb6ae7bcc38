"""One interface to the warehouse, whatever the engine: a DuckDB file (the default) or a Postgres server.

Everything that reads or writes the warehouse outside dlt's own loads goes through `Warehouse.connect()`:
history, status, the report, export, reconciliation, table totals and the models. Nothing else calls
`duckdb.connect` or `psycopg2.connect`.

SQL is written once, in DuckDB's dialect with `?` placeholders. On Postgres, `Connection.execute`
transpiles it with sqlglot (already installed with dlt), so `?` becomes `%s`, `strftime` becomes
`to_char`, and so on; SQL that sqlglot cannot carry over must stay inside the portable subset (sql/README.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import sqlglot

from pipelines.storage import create_database

DUCKDB, POSTGRES = "duckdb", "postgres"
_USERINFO_PASSWORD = re.compile(r"(://[^:/@]*:)[^@]*@")


class WarehouseError(RuntimeError):
    """The warehouse cannot be reached or a statement failed; the message is one line without secrets."""


@lru_cache(maxsize=512)
def to_dialect(sql: str, dialect: str) -> str:
    """Return `sql` (DuckDB dialect, `?` placeholders) as `dialect` writes it; unchanged for DuckDB."""
    if dialect == DUCKDB:
        return sql
    return ";\n".join(sqlglot.transpile(sql, read=DUCKDB, write=dialect))


class Connection:
    """A DB-API connection with DuckDB-dialect SQL on any engine; `execute` returns a cursor to fetch from.

    Both engines autocommit each statement; `transaction()` groups statements into one.
    """

    def __init__(self, raw: Any, dialect: str) -> None:
        self.raw, self.dialect = raw, dialect

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        text = to_dialect(sql, self.dialect)
        if self.dialect == DUCKDB:
            return self.raw.execute(text, params) if params is not None else self.raw.execute(text)
        cursor = self.raw.cursor()
        cursor.execute(text, list(params) if params is not None else None)
        return cursor

    def fetchall(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in self.execute(sql, params).fetchall()]

    def fetchone(self, sql: str, params: Sequence[Any] | None = None) -> tuple[Any, ...] | None:
        row = self.execute(sql, params).fetchone()
        return tuple(row) if row is not None else None

    def arrow(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table:
        """Return the query's result as an Arrow table (column names as the query gives them)."""
        if self.dialect == DUCKDB:
            return self.raw.sql(sql, params=params).to_arrow_table()  # no DB-API copy of the rows
        cursor = self.execute(sql, params)
        names = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
        return pa.table({n: [r[i] for r in rows] for i, n in enumerate(names)})

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """Run the block in one transaction: all of it is committed, or none of it."""
        self.execute("begin transaction")
        try:
            yield self
        except BaseException:
            self.execute("rollback")
            raise
        self.execute("commit")

    def relations(self, schemas: Sequence[str] | None = None) -> set[str]:
        """Return the `schema.table` names of tables and views (in `schemas`, if given)."""
        rows = self.fetchall(
            "select table_schema || '.' || table_name, table_schema from information_schema.tables"
        )
        return {name for name, schema in rows if schemas is None or schema in schemas}


@dataclass(frozen=True)
class Warehouse:
    """Where the warehouse lives: `engine` duckdb (a file at `path`) or postgres (a server at `dsn`)."""

    engine: str = DUCKDB
    path: Path | None = None  # duckdb: the file
    dsn: str | None = None  # postgres: a connection string with its password (never printed)

    @property
    def dialect(self) -> str:
        return POSTGRES if self.engine == POSTGRES else DUCKDB

    @property
    def label(self) -> str:
        """How logs and messages name the warehouse: the file, or the server without its password."""
        if self.engine == DUCKDB:
            return str(self.path)
        return _USERINFO_PASSWORD.sub(r"\1***@", self.dsn or "postgres")

    def exists(self) -> bool:
        return self.path.exists() if self.engine == DUCKDB and self.path else self.engine != DUCKDB

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[Connection]:
        """Open a connection; a DuckDB file is created (in the compatible format) unless read-only."""
        if self.engine == DUCKDB:
            assert self.path is not None
            if not read_only:
                create_database(self.path)
            with duckdb.connect(str(self.path), read_only=read_only) as raw:
                yield Connection(raw, DUCKDB)
            return
        import psycopg2

        try:
            raw = psycopg2.connect(self.dsn)
        except psycopg2.Error as exc:
            raise WarehouseError(
                f"warehouse: cannot connect to {self.label}: {str(exc).strip().splitlines()[0]}"
            ) from None
        raw.set_session(readonly=read_only, autocommit=True)
        try:
            yield Connection(raw, POSTGRES)
        finally:
            raw.close()
