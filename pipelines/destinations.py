"""Which warehouse the configuration names, with dlt's own credentials for it (`Warehouse.from_config`).

`[warehouse] destination` is duckdb (the default), postgres or motherduck; the credentials are dlt's:
`[destination.<engine>.credentials]` in .dlt/secrets.toml, or `DESTINATION__<ENGINE>__CREDENTIALS`, read
with dlt's own credential specs so every form dlt accepts works (a connection string, or its fields).
A password or token is registered for redaction the moment it is read.
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path
from typing import Any

from pipelines.warehouse import (
    DUCKDB,
    ENGINES,
    FIX_MOTHERDUCK,
    FIX_POSTGRES,
    MOTHERDUCK,
    POSTGRES,
    Warehouse,
    WarehouseError,
)

log = logging.getLogger("retail.warehouse")


def warehouse_from_config(db: Path | None = None) -> Warehouse:
    """Return the configured warehouse; `db` (`--db`) is the DuckDB shortcut and wins over the config."""
    import dlt

    engine = str(dlt.config.get("warehouse.destination", str) or DUCKDB).strip().lower()
    configured_dir = dlt.config.get("warehouse.pipelines_dir", str)
    pipelines_dir = Path(configured_dir).expanduser().absolute() if configured_dir else None
    if db is not None:
        if engine != DUCKDB:
            log.warning("--db %s: loading into that DuckDB file, not the configured %s", db, engine)
        return Warehouse(DUCKDB, path=db, pipelines_dir=pipelines_dir)
    if engine == DUCKDB:
        return Warehouse(DUCKDB, path=_duckdb_path(), pipelines_dir=pipelines_dir)
    if engine == POSTGRES:
        return Warehouse(POSTGRES, dsn=_postgres_dsn(), pipelines_dir=pipelines_dir)
    if engine == MOTHERDUCK:
        return Warehouse(MOTHERDUCK, dsn=_motherduck_dsn(), pipelines_dir=pipelines_dir)
    raise WarehouseError(
        f"config: [warehouse] destination (WAREHOUSE__DESTINATION) is {engine!r}; "
        f"choose one of {', '.join(ENGINES)}"
    )


def _config_value(key: str) -> Any:
    import dlt

    value: Any = dlt.config.get(key)
    return value if value is not None else dlt.secrets.get(key)


def _duckdb_path() -> Path:
    value = _config_value("destination.duckdb.credentials")
    if isinstance(value, dict):
        value = value.get("database")
    return Path(str(value)).expanduser() if value else Path("warehouse.duckdb")


def _resolved_credentials(spec: Any, engine: str, fix: str) -> Any:
    from dlt.common.configuration import resolve_configuration
    from dlt.common.configuration.exceptions import ConfigFieldMissingException

    try:
        credentials = resolve_configuration(spec, sections=("destination", engine, "credentials"))
    except ConfigFieldMissingException as exc:
        raise WarehouseError(
            f"config: [warehouse] destination = {engine!r} but its credentials lack "
            f"{', '.join(sorted(exc.fields))}; {fix}"
        ) from None
    except Exception as exc:  # a malformed connection string: dlt's message may quote it
        raise WarehouseError(
            f"config: [destination.{engine}.credentials] cannot be read ({type(exc).__name__}); {fix}"
        ) from None
    return credentials


def _postgres_dsn() -> str:
    from dlt.destinations.impl.postgres.configuration import PostgresCredentials

    credentials = _resolved_credentials(PostgresCredentials(), POSTGRES, FIX_POSTGRES)
    return str(credentials.to_native_representation())


def _motherduck_dsn() -> str:
    from dlt.destinations.impl.motherduck.configuration import MotherDuckCredentials

    credentials = _resolved_credentials(MotherDuckCredentials(), MOTHERDUCK, FIX_MOTHERDUCK)
    token = credentials.password or os.environ.get("MOTHERDUCK_TOKEN")
    return f"md:{credentials.database}" + (f"?motherduck_token={token}" if token else "")


def resolve_warehouse(args: argparse.Namespace) -> None:
    """Set `args.target` to the warehouse the command works on, and `args.db` to its file (None on a
    server). Raise WarehouseError when the configuration names no usable warehouse."""

    if not hasattr(args, "db") or not _cwd_exists():  # a deleted cwd: run_checked says so in one line
        return
    args.target = Warehouse.from_config(args.db) if args.command != "demo" else Warehouse(path=args.db)
    args.db = args.target.path if args.target.is_file else None
    if args.db is None and args.command in ("sql", "migrate-storage"):
        raise WarehouseError(
            f"the warehouse is on {args.target.engine} ({args.target.label}), not in a DuckDB file: "
            + (
                "use its own SQL client (psql for Postgres)"
                if args.command == "sql"
                else "nothing to migrate"
            )
        )


def _cwd_exists() -> bool:
    try:
        os.getcwd()
    except FileNotFoundError:
        return False
    return True
