"""The run history in the warehouse (schema `ops`) and the freshness check a monitor calls.

`ops.run_sources`: one row per run and source: when it started and ended, its status (succeeded, failed,
deferred), rows written per table (JSON) and in total, API calls, and the error line (already redacted).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from pipelines.nightly import SourceResult
from pipelines.storage import create_database
from sources.http import redact

DDL = """
create schema if not exists ops;
create table if not exists ops.run_sources (
    run_id varchar not null,
    source varchar not null,
    started_at timestamptz not null,
    ended_at timestamptz not null,
    status varchar not null,
    rows_written json,
    rows_total bigint,
    api_calls bigint,
    error varchar
);
"""


def record_run(db_path: Path, started_at: datetime, results: list[SourceResult]) -> str:
    """Append this run's results to `ops.run_sources`; return the run id."""
    run_id = uuid.uuid4().hex[:12]
    ended_at = datetime.now(UTC)
    create_database(db_path)
    with duckdb.connect(str(db_path)) as con:
        con.execute(DDL)
        for r in results:
            con.execute(
                "insert into ops.run_sources values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    run_id,
                    r.source,
                    started_at,
                    ended_at,
                    r.status,
                    json.dumps(r.rows),
                    sum(r.rows.values()),
                    r.api_calls,
                    redact(r.error) if r.error else None,
                ],
            )
    return run_id


@dataclass
class Freshness:
    source: str
    last_loaded_at: datetime | None
    age_hours: float | None
    is_stale: bool


def freshness(db_path: Path, sources: list[str], max_age_hours: float) -> list[Freshness]:
    """Return, per source, its last successful (or deferred) load, its age, and whether it is stale."""
    last: dict[str, datetime] = {}
    if db_path.exists():
        with duckdb.connect(str(db_path), read_only=True) as con:
            exists = con.execute(
                "select count(*) from information_schema.tables "
                "where table_schema = 'ops' and table_name = 'run_sources'"
            ).fetchone()
            if exists and exists[0]:
                rows = con.execute(
                    "select source, max(ended_at) from ops.run_sources "
                    "where status in ('succeeded', 'deferred') group by source"
                ).fetchall()
                last = {source: ended for source, ended in rows}
    now = datetime.now(UTC)
    out = []
    for source in sources:
        when = last.get(source)
        age = (now - when).total_seconds() / 3600 if when else None
        out.append(Freshness(source, when, age, age is None or age > max_age_hours))
    return out
