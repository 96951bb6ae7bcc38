"""One interface to the warehouse, whatever the engine: a DuckDB file (the default), a Postgres server or
MotherDuck.

Everything that reads or writes the warehouse outside dlt's own loads goes through `Warehouse.connect()`:
history, status, the report, export, reconciliation, table totals, publishing and the models. Nothing
else calls `duckdb.connect` or `psycopg2.connect`.

SQL is written once, in DuckDB's dialect with `?` placeholders. On Postgres, `Connection.execute`
transpiles it with sqlglot (already installed with dlt), so `?` becomes `%s`, `strftime` becomes
`to_char`, and so on; SQL that sqlglot cannot carry over must stay inside the portable subset (sql/README.md).

Which warehouse: `Warehouse.from_config()` reads `[warehouse] destination` (duckdb | postgres | motherduck)
and dlt's own `[destination.<engine>.credentials]`; `--db FILE` is the DuckDB shortcut. dlt's working
directory (`[warehouse] pipelines_dir`) defaults to `.<file stem>.dlt` beside a DuckDB file, and to
`.<engine>_<database>.dlt` in the working directory for a server.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import duckdb
import pyarrow as pa
import sqlglot
from sqlglot import exp

log = logging.getLogger("retail.warehouse")

DUCKDB, POSTGRES, MOTHERDUCK = "duckdb", "postgres", "motherduck"
ENGINES = (DUCKDB, POSTGRES, MOTHERDUCK)
_USERINFO_PASSWORD = re.compile(r"(://[^:/@]*:)[^@]*@")
_PLACEHOLDER = "__retail_placeholder__"
# The oldest DuckDB that must open our files (pipelines/storage.py says why).
STORAGE_VERSION = "v1.4.0"
FIX_POSTGRES = (
    "check [destination.postgres.credentials] in .dlt/secrets.toml (host, port, database, username, "
    "password) or DESTINATION__POSTGRES__CREDENTIALS=postgresql://USER:PASSWORD@HOST:5432/DATABASE"
)
FIX_MOTHERDUCK = (
    "set [destination.motherduck.credentials] database and password (the MotherDuck token) in "
    ".dlt/secrets.toml, or DESTINATION__MOTHERDUCK__CREDENTIALS=md:DATABASE?motherduck_token=TOKEN"
)


class WarehouseError(RuntimeError):
    """The warehouse cannot be reached or a statement failed; the message is one line without secrets."""


def create_database(path: Path) -> None:
    """Create an empty DuckDB file at `path` in the compatible format; leave an existing file alone."""
    if path.exists():
        return
    duckdb.connect(str(path), config={"storage_compatibility_version": STORAGE_VERSION}).close()


@lru_cache(maxsize=512)
def to_dialect(sql: str, dialect: str, with_params: bool = False) -> str:
    """Return `sql` (DuckDB dialect, `?` placeholders) as `dialect` writes it; unchanged for DuckDB.

    With parameters, psycopg2 reads every `%` as a placeholder's start: literal ones are doubled.
    """
    if dialect == DUCKDB:
        return sql
    if not with_params:
        return ";\n".join(sqlglot.transpile(sql, read=DUCKDB, write=dialect))
    statements = []
    for tree in sqlglot.parse(sql, read=DUCKDB):
        if tree is None:
            continue
        marked = tree.transform(
            lambda node: exp.Var(this=_PLACEHOLDER) if isinstance(node, exp.Placeholder) else node
        )
        statements.append(marked.sql(dialect=dialect))
    return ";\n".join(statements).replace("%", "%%").replace(_PLACEHOLDER, "%s")


def engine_errors() -> tuple[type[BaseException], ...]:
    """The exception types a statement can raise on any installed engine (for `except`)."""
    try:
        import psycopg2
    except ImportError:
        return (duckdb.Error,)
    return (duckdb.Error, psycopg2.Error)


def is_missing_relation(exc: BaseException, columns: bool = False) -> bool:
    """Return whether `exc` says a table, view or schema (with `columns`, or column) does not exist."""
    if isinstance(exc, duckdb.CatalogException) or (columns and isinstance(exc, duckdb.BinderException)):
        return True
    # undefined_table, invalid_schema_name; undefined_column
    return getattr(exc, "pgcode", None) in ("42P01", "3F000", *(("42703",) if columns else ()))


# Postgres type OIDs whose Arrow type the values alone cannot tell (an empty result, all nulls).
_ARROW_TYPES = {
    16: pa.bool_(),
    20: pa.int64(),
    21: pa.int64(),
    23: pa.int64(),
    700: pa.float64(),
    701: pa.float64(),
    25: pa.string(),
    1043: pa.string(),
    114: pa.string(),
    3802: pa.string(),
    1082: pa.date32(),
    1083: pa.time64("us"),
    1114: pa.timestamp("us"),
    1184: pa.timestamp("us", tz="UTC"),
}


def _arrow_type(column: Any) -> pa.DataType | None:
    if column.type_code == 1700 and column.precision and 0 < column.precision <= 38:
        return pa.decimal128(column.precision, max(column.scale or 0, 0))
    return _ARROW_TYPES.get(column.type_code)


class Connection:
    """A DB-API connection with DuckDB-dialect SQL on any engine; `execute` returns a cursor to fetch from.

    Both engines autocommit each statement; `transaction()` groups statements into one.
    """

    def __init__(self, raw: Any, dialect: str) -> None:
        self.raw, self.dialect = raw, dialect

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        text = to_dialect(sql, self.dialect, params is not None)
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
        rows = cursor.fetchall()
        columns = {}
        for i, column in enumerate(cursor.description):
            values = [r[i] for r in rows]
            if column.type_code in (114, 3802):  # psycopg2 hands JSON back parsed
                values = [None if v is None else json.dumps(v) for v in values]
            columns[column.name] = pa.array(values, type=_arrow_type(column))
        return pa.table(columns)

    def write(self, sql: str, path: Path, fmt: str = "parquet") -> None:
        """Write the query's result to a Parquet or CSV file: DuckDB's own writer, else through pyarrow."""
        if self.dialect == DUCKDB:
            relation = self.raw.sql(sql)
            if fmt == "parquet":
                relation.write_parquet(str(path))
            else:
                relation.write_csv(str(path), header=True)
            return
        table = self.arrow(sql)
        if fmt == "parquet":
            import pyarrow.parquet as pq

            pq.write_table(table, path)
        else:
            import pyarrow.csv as pacsv

            pacsv.write_csv(table, path)

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
    """Where the warehouse lives: `engine` duckdb (a file at `path`, or in memory without one), postgres
    (a server at `dsn`) or motherduck (`dsn` = md:DATABASE?motherduck_token=...)."""

    engine: str = DUCKDB
    path: Path | None = None  # duckdb: the file
    # postgres, motherduck: a connection string with its secret; never printed, not even by repr()
    dsn: str | None = field(default=None, repr=False)
    pipelines_dir: Path | None = None  # dlt's working directory; None: the default (`working_dir`)

    @classmethod
    def from_config(cls, db: Path | None = None) -> Warehouse:
        """Return the warehouse `[warehouse] destination` names, with dlt's credentials for it.

        `db` (the `--db` option) is the DuckDB shortcut: that file, whatever the config says.
        Raise WarehouseError (one line naming the setting) when the config is incomplete or wrong.
        """
        from pipelines.destinations import warehouse_from_config

        return warehouse_from_config(db)

    @property
    def dialect(self) -> str:
        return POSTGRES if self.engine == POSTGRES else DUCKDB

    @property
    def is_file(self) -> bool:
        """A local DuckDB file: locked by whoever opens it, published to a serving file for BI."""
        return self.engine == DUCKDB and self.path is not None

    @property
    def database(self) -> str:
        """The database's name: the file's stem, or the server's database."""
        if self.engine == DUCKDB:
            return self.path.stem if self.path else "memory"
        if self.engine == MOTHERDUCK:
            return (self.dsn or "md:").split("?", 1)[0].removeprefix("md:").strip("/") or "my_db"
        return urlsplit(self.dsn or "").path.lstrip("/") or "postgres"

    @property
    def label(self) -> str:
        """How logs and messages name the warehouse: the file, or the server without its password."""
        if self.engine == DUCKDB:
            return str(self.path) if self.path else ":memory:"
        if self.engine == MOTHERDUCK:
            return f"md:{self.database}"
        return _USERINFO_PASSWORD.sub(r"\1***@", (self.dsn or "postgres").split("?", 1)[0])

    @property
    def working_dir(self) -> Path:
        """dlt's working directory for this warehouse's pipelines (state, schemas, traces, packages)."""
        if self.pipelines_dir is not None:
            return self.pipelines_dir
        if self.engine == DUCKDB and self.path is not None:
            return self.path.parent / f".{self.path.stem}.dlt"
        return Path.cwd() / f".{self.engine}_{self.database}.dlt"

    def exists(self) -> bool:
        return self.path.exists() if self.engine == DUCKDB and self.path else self.engine != DUCKDB

    def destination(self) -> Any:
        """The dlt destination that loads into this warehouse (credentials given, not looked up again)."""
        import dlt

        if self.engine == POSTGRES:
            return dlt.destinations.postgres(credentials=str(self.dsn))
        if self.engine == MOTHERDUCK:
            return dlt.destinations.motherduck(credentials=str(self.dsn))
        assert self.path is not None
        create_database(self.path)  # before dlt creates it in a format older DuckDBs cannot read
        return dlt.destinations.duckdb(str(self.path))

    def credentials_env(self) -> dict[str, str]:
        """The environment that makes dlt's own tools (`dlt pipeline ...`) find this warehouse."""
        if self.engine == DUCKDB:
            return {"DESTINATION__DUCKDB__CREDENTIALS": str(Path(self.path or "").absolute())}
        return {f"DESTINATION__{self.engine.upper()}__CREDENTIALS": self.dsn or ""}

    @contextmanager
    def connect(self, read_only: bool = False, application_name: str | None = None) -> Iterator[Connection]:
        """Open a connection; a DuckDB file is created (in the compatible format) unless read-only.

        Without a path, a DuckDB warehouse is an in-memory database (to attach files to).
        """
        if self.engine == DUCKDB:
            if self.path is not None and not read_only:
                create_database(self.path)
            target = str(self.path) if self.path is not None else ":memory:"
            with duckdb.connect(target, read_only=read_only) as raw:
                yield Connection(raw, DUCKDB)
            return
        if self.engine == MOTHERDUCK:
            try:
                raw = duckdb.connect(self.dsn or "md:", read_only=read_only)
            except duckdb.Error as exc:
                raise WarehouseError(
                    f"warehouse: cannot connect to {self.label}: {_first_line(exc)}; {FIX_MOTHERDUCK}"
                ) from None
            with raw:
                yield Connection(raw, DUCKDB)
            return
        raw = self._connect_postgres(application_name)
        raw.set_session(readonly=read_only, autocommit=True)
        try:
            yield Connection(raw, POSTGRES)
        finally:
            raw.close()

    def _connect_postgres(self, application_name: str | None) -> Any:
        try:
            import psycopg2
        except ImportError:
            raise WarehouseError(
                "warehouse: postgres needs the postgres extra; install it: pip install -e '.[postgres]'"
            ) from None
        try:
            # UTC, so timestamps come back as they do from DuckDB here and never in a server's local zone.
            return psycopg2.connect(
                self.dsn, options="-c timezone=UTC", application_name=application_name or "retail-warehouse"
            )
        except psycopg2.Error as exc:
            raise WarehouseError(
                f"warehouse: cannot connect to {self.label}: {_first_line(exc)}; {FIX_POSTGRES}"
            ) from None


def as_warehouse(target: Warehouse | Path | str) -> Warehouse:
    """Accept a Warehouse or, as callers did before there were engines, the path of a DuckDB file."""
    return target if isinstance(target, Warehouse) else Warehouse(DUCKDB, path=Path(target))


def _first_line(exc: BaseException) -> str:
    from sources.http import redact

    return redact((str(exc).strip().splitlines() or [type(exc).__name__])[0])
