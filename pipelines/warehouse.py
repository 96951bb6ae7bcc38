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

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import duckdb

from pipelines.connection import (
    DUCKDB,
    POSTGRES,
    Connection,
    engine_errors,
    is_missing_relation,
    to_dialect,
)
from sources.http import register_secret

log = logging.getLogger("retail.warehouse")

__all__ = [
    "DUCKDB",
    "ENGINES",
    "MOTHERDUCK",
    "POSTGRES",
    "Connection",
    "Warehouse",
    "WarehouseError",
    "as_warehouse",
    "create_database",
    "engine_errors",
    "is_missing_relation",
    "to_dialect",
]

MOTHERDUCK = "motherduck"
ENGINES = (DUCKDB, POSTGRES, MOTHERDUCK)
_USERINFO_PASSWORD = re.compile(r"(://[^:/@]*:)[^@]*@")
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

    def __post_init__(self) -> None:
        # However this warehouse was made (config, a test, an orchestrator), its password or token is
        # redacted, as written and as the URL carries it.
        secret = None
        if self.engine == POSTGRES and self.dsn:
            secret = urlsplit(self.dsn).password
        elif self.engine == MOTHERDUCK and self.dsn:
            query = urlsplit(self.dsn).query  # the token as written: md:DATABASE?motherduck_token=TOKEN
            secret = query.partition("motherduck_token=")[2].partition("&")[0] or None
        if secret:
            for form in (secret, unquote(secret), quote(secret, safe="")):
                register_secret(form)

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
