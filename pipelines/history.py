"""The run history in the warehouse (schema `ops`) and what `status` reads from it.

`ops.runs`: one row per nightly run: when it started and ended, its status (running while it goes, then
succeeded, failed or interrupted; killed when the next run finds it never closed), the exit code, the stop
signal if any, and the models' and SQL tests' results (built/skipped models; passed/failed/skipped tests,
the failed ones by name with their offending row counts). `select * from ops.runs order by started_at desc`
is the run log.

`ops.run_sources`: one row per run and source: when that source started and ended, its status
(succeeded, failed, deferred, interrupted), rows written per table (JSON) and in total, API calls, and the
error line (already redacted).

A warehouse written by an older version is migrated in place: missing tables are created and missing
columns added, never dropped or rewritten. The same SQL runs on every engine (pipelines/warehouse.py).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipelines.nightly import SourceResult
from pipelines.warehouse import Connection, Warehouse, as_warehouse
from sources.http import redact

COLUMNS: dict[str, list[tuple[str, str]]] = {
    "run_sources": [
        ("run_id", "varchar not null"),
        ("source", "varchar not null"),
        ("started_at", "timestamptz not null"),
        ("ended_at", "timestamptz not null"),
        ("status", "varchar not null"),
        ("rows_written", "json"),
        ("rows_total", "bigint"),
        ("api_calls", "bigint"),
        ("error", "varchar"),
    ],
    "runs": [
        ("run_id", "varchar not null"),
        ("started_at", "timestamptz not null"),
        ("ended_at", "timestamptz"),
        ("status", "varchar not null"),
        ("exit_code", "integer"),
        ("stop_signal", "varchar"),
        ("sources", "json"),  # {source: status}
        ("models_built", "integer"),
        ("models_skipped", "integer"),
        ("tests_passed", "integer"),
        ("tests_failed", "integer"),
        ("tests_skipped", "integer"),
        ("failed_tests", "json"),  # {test: offending rows}
        ("error", "varchar"),  # why the models did not build, or the history could not be written
    ],
}


def migrate(con: Connection) -> None:
    """Create the `ops` tables, or add the columns an older version's tables lack."""
    con.execute("create schema if not exists ops")
    for table, columns in COLUMNS.items():
        body = ", ".join(f"{name} {kind}" for name, kind in columns)
        con.execute(f"create table if not exists ops.{table} ({body})")
        for name, kind in columns:
            # An added column cannot be NOT NULL on rows that exist already.
            con.execute(
                f"alter table ops.{table} add column if not exists {name} {kind.replace(' not null', '')}"
            )


def record_run(
    warehouse: Warehouse | Path, started_at: datetime, results: list[SourceResult], run_id: str | None = None
) -> str:
    """Append this run's sources to `ops.run_sources` and open its row in `ops.runs`; return the run id.

    With the `run_id` of a run already open (Dagster records each source as its step ends), add the
    sources to that run's row instead.
    """
    run_id = run_id or uuid.uuid4().hex[:12]
    now = datetime.now(UTC)
    names = [name for name, _ in COLUMNS["run_sources"]]
    with as_warehouse(warehouse).connect() as con:
        migrate(con)
        for r in results:
            con.execute(
                f"insert into ops.run_sources ({', '.join(names)}) values ({', '.join('?' * len(names))})",
                [
                    run_id,
                    r.source,
                    r.started_at or started_at,
                    r.ended_at or now,
                    r.status,
                    json.dumps(r.rows),
                    sum(r.rows.values()),
                    r.api_calls,
                    redact(r.error) if r.error else None,
                ],
            )
        statuses = {r.source: r.status for r in results}
        opened = con.fetchone("select sources from ops.runs where run_id = ?", [run_id])
        if opened is None:
            close_abandoned(con, run_id)
            con.execute(
                "insert into ops.runs (run_id, started_at, status, sources) values (?, ?, 'running', ?)",
                [run_id, started_at, json.dumps(statuses)],
            )
        elif statuses:
            before = json.loads(opened[0]) if isinstance(opened[0], str) else opened[0] or {}
            con.execute(
                "update ops.runs set sources = ? where run_id = ?",
                [json.dumps({**before, **statuses}), run_id],
            )
    return run_id


def close_abandoned(con: Connection, run_id: str) -> None:
    """Close the rows of runs that never closed them (killed by SIGKILL, or the machine stopped).

    Called as a run opens its own row, under the run lock: no other run can be going, so a row still
    `running` belongs to a run that died. It becomes `killed`, with a line saying which run found it.
    """
    con.execute(
        "update ops.runs set status = 'killed', error = ? where status = 'running' and run_id <> ?",
        [
            f"the run ended without closing its row (killed, or the machine stopped); run {run_id} found it",
            run_id,
        ],
    )


@dataclass
class RunOutcome:
    """How a run ended, for its `ops.runs` row."""

    status: str  # succeeded | failed | interrupted
    exit_code: int
    stop_signal: str | None = None
    models_built: int | None = None
    models_skipped: int | None = None
    tests_passed: int | None = None
    tests_failed: dict[str, int] | None = None
    tests_skipped: int | None = None
    error: str | None = None


def finish_run(warehouse: Warehouse | Path, run_id: str, outcome: RunOutcome) -> None:
    """Close the run's row in `ops.runs` with its end time, status, and the models' and tests' results."""
    failed = outcome.tests_failed
    with as_warehouse(warehouse).connect() as con:
        migrate(con)
        con.execute(
            "update ops.runs set ended_at = ?, status = ?, exit_code = ?, stop_signal = ?, "
            "models_built = ?, models_skipped = ?, tests_passed = ?, tests_failed = ?, tests_skipped = ?, "
            "failed_tests = ?, error = ? where run_id = ?",
            [
                datetime.now(UTC),
                outcome.status,
                outcome.exit_code,
                outcome.stop_signal,
                outcome.models_built,
                outcome.models_skipped,
                outcome.tests_passed,
                None if failed is None else len(failed),
                outcome.tests_skipped,
                None if failed is None else json.dumps(failed),
                redact(outcome.error) if outcome.error else None,
                run_id,
            ],
        )


# Per source, its latest attempt (status, end, error), whatever it was: portable SQL (no arg_max).
# Per source: its last successful (or deferred) load, and its latest attempt with that attempt's status and
# error. `status` reads it from the warehouse; the serving file's `ops.source_freshness` (and, on a server,
# the view of that name) holds it for BI tools. `{runs}` is the run_sources table to read.
FRESHNESS = """
select
    loads.source,
    loads.last_loaded_at,
    latest.ended_at as last_run_at,
    latest.status as last_run_status,
    latest.error as last_run_error
from (
    select source, max(ended_at) filter (where status in ('succeeded', 'deferred')) as last_loaded_at
    from {runs} group by source
) as loads
join (
    select source, status, ended_at, error,
        row_number() over (partition by source order by ended_at desc) as attempt
    from {runs}
) as latest on latest.source = loads.source and latest.attempt = 1
order by loads.source
"""


@dataclass
class Freshness:
    source: str
    last_loaded_at: datetime | None
    age_hours: float | None
    is_stale: bool
    last_status: str | None = None  # of the source's latest attempt, whatever it was
    last_attempt_at: datetime | None = None
    last_error: str | None = None  # the latest attempt's error line (a deferral says why)


def freshness(warehouse: Warehouse | Path, sources: list[str], max_age_hours: float) -> list[Freshness]:
    """Return, per source, its last successful (or deferred) load, its age, whether it is stale, and its
    latest attempt with that attempt's error."""
    warehouse = as_warehouse(warehouse)
    known: dict[str, tuple[Any, ...]] = {}
    if warehouse.exists():
        with warehouse.connect(read_only=True) as con:
            if _has_table(con, "run_sources"):
                known = {row[0]: row[1:] for row in con.fetchall(FRESHNESS.format(runs="ops.run_sources"))}
    now = datetime.now(UTC)
    out = []
    for source in sources:
        when, attempted, status, error = known.get(source, (None, None, None, None))
        age = (now - when).total_seconds() / 3600 if when else None
        out.append(Freshness(source, when, age, age is None or age > max_age_hours, status, attempted, error))
    return out


def last_run(warehouse: Warehouse | Path) -> dict[str, Any] | None:
    """Return the latest finished run of `ops.runs` as a dict, or None when there is none."""
    warehouse = as_warehouse(warehouse)
    if not warehouse.exists():
        return None
    with warehouse.connect(read_only=True) as con:
        if not _has_table(con, "runs"):
            return None
        cursor = con.execute(
            "select * from ops.runs where status <> 'running' order by started_at desc limit 1"
        )
        row = cursor.fetchone()
        names = [d[0] for d in cursor.description or []]
    if row is None:
        return None
    run = dict(zip(names, row, strict=True))
    for key in ("sources", "failed_tests"):
        if isinstance(run.get(key), str):
            run[key] = json.loads(run[key])
    return run


def _has_table(con: Connection, table: str) -> bool:
    found = con.fetchone(
        "select count(*) from information_schema.tables where table_schema = 'ops' and table_name = ?",
        [table],
    )
    return bool(found and found[0])


def recent_runs(warehouse: Warehouse | Path, limit: int = 10) -> list[dict[str, Any]]:
    """Return the latest `limit` runs of `ops.runs`, newest first, each with its sources' rows and errors."""
    warehouse = as_warehouse(warehouse)
    if not warehouse.exists():
        return []
    with warehouse.connect(read_only=True) as con:
        if not _has_table(con, "runs"):
            return []
        cursor = con.execute(
            "select run_id, started_at, ended_at, status, exit_code, models_built, tests_failed "
            "from ops.runs order by started_at desc limit ?",
            [limit],
        )
        names = [d[0] for d in cursor.description or []]
        runs = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        ids = [run["run_id"] for run in runs]
        sources = con.fetchall(
            "select run_id, source, status, rows_total, api_calls, error from ops.run_sources "
            "where run_id = any(?) order by source",
            [ids],
        )
    for run in runs:
        run["sources"] = [
            {"source": s, "status": st, "rows": rows, "api_calls": calls, "error": error}
            for run_id, s, st, rows, calls, error in sources
            if run_id == run["run_id"]
        ]
    return runs


def format_runs(runs: list[dict[str, Any]]) -> str:
    """Return the runs as a table for people: one line per run, one indented line per source."""
    lines = [
        f"{'run':<12} {'started (UTC)':<19} {'status':<11} {'exit':>4} {'models':>6} {'failed tests':>12}"
    ]
    for run in runs:
        started = run["started_at"].astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
        lines.append(
            f"{run['run_id']:<12} {started:<19} {run['status']:<11} {_dash(run['exit_code']):>4} "
            f"{_dash(run['models_built']):>6} {_dash(run['tests_failed']):>12}"
        )
        for s in run["sources"]:
            error = f"  {s['error']}" if s["error"] else ""
            lines.append(
                f"  {s['source']:<14} {s['status']:<11} {s['rows'] or 0:>9} rows "
                f"{s['api_calls'] or 0:>6} calls{error}"
            )
    return "\n".join(lines)


def _dash(value: Any) -> str:
    return "-" if value is None else str(value)


def print_history(warehouse: Warehouse, limit: int, as_json: bool) -> int:
    """`history`: print the latest runs (a table, or JSON); say so when none is recorded yet."""
    runs = recent_runs(warehouse, limit)
    if as_json:
        print(json.dumps(runs, default=str, indent=2))
    elif runs:
        print(format_runs(runs))
    else:
        print(f"no run recorded in {warehouse.label} yet")
    return 0
