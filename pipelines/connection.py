"""A connection that takes SQL in DuckDB's dialect on any engine (DuckDB, or Postgres through sqlglot).

`pipelines/warehouse.py` opens these; nothing else needs to know which engine answers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import sqlglot
from sqlglot import exp

DUCKDB, POSTGRES = "duckdb", "postgres"
_PLACEHOLDER = "__retail_placeholder__"


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
