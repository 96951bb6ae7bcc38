"""The nightly run: lock the warehouse, load the sources, record the run, build the models, publish, alert.

`python -m pipelines run` calls `run`; the demo (`simulators/demo.py`) holds the lock itself and calls
`run_locked`, so both go through the same path. Nothing here imports `simulators/`.
"""

from __future__ import annotations

import logging
import signal
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dlt.common.configuration.exceptions import ConfigFieldMissingException

from pipelines.alerts import notify, run_alert
from pipelines.history import RunOutcome, finish_run, record_run
from pipelines.lock import LockBusy, run_lock
from pipelines.logs import first_line
from pipelines.models import ModelError, build
from pipelines.nightly import (
    format_summary,
    run_sources,
    signal_name,
    stop_requested,
    stop_signals,
    table_totals,
)
from pipelines.publish import publish_or_explain
from pipelines.registry import SOURCES
from pipelines.warehouse import Warehouse, as_warehouse, engine_errors
from pipelines.warehouse_file import describe_duckdb_error, probe_writable
from sources.http import SourceError, redact

log = logging.getLogger("retail")


def dry_run(sources: list[str]) -> int:
    """Check each source's configuration and connectivity; print one line per source."""
    failed = 0
    for name in sources:
        try:
            check = SOURCES[name].check
            print(f"{name:<14} ok      {check() if check else 'no dry-run call'}")
        except ConfigFieldMissingException as exc:
            print(f"{name:<14} FAILED  {SOURCES[name].missing_config_line(exc.fields)}")
            failed += 1
        except SourceError as exc:
            print(f"{name:<14} FAILED  {exc}")
            failed += 1
        except Exception as exc:  # an unexpected failure of one check must not hide the others
            print(f"{name:<14} FAILED  {redact(f'{type(exc).__name__}: {exc}')}")
            failed += 1
    return 1 if failed else 0


def run(
    db: Warehouse | Path,
    sources: list[str],
    full_refresh: bool,
    skip_models: bool,
    allow_shrink: bool = False,
) -> int:
    """The nightly job: lock the warehouse (a DuckDB file's path, or any Warehouse), then `run_locked`;
    exit 3 when another run holds it (a lock file, or on Postgres an advisory lock)."""
    warehouse = as_warehouse(db)
    try:
        with run_lock(warehouse):
            return run_locked(warehouse, sources, full_refresh, skip_models, allow_shrink)
    except LockBusy as exc:
        log.error("run: %s; this run exits without loading", exc)
        return 3


def run_locked(
    db: Warehouse | Path,
    sources: list[str],
    full_refresh: bool,
    skip_models: bool,
    allow_shrink: bool = False,
) -> int:
    """Load, record the run, build the models, summarise; the caller holds the run lock on `db`.

    SIGTERM/SIGINT stop it at the next safe point: no further source or model starts, the history says
    interrupted, and the exit status is 128 + the signal (143, 130).
    """
    db = as_warehouse(db)
    try:
        with stop_signals():
            # A program holding the file open: one line naming its PID, before any API call.
            if db.is_file and db.path is not None:
                probe_writable(db.path)
            started, started_at = time.monotonic(), datetime.now(UTC)
            results = run_sources(db, sources, full_refresh=full_refresh, allow_shrink=allow_shrink)
            run_id = _record(db, started_at, results)
            print(format_summary(results, table_totals(db, sources), time.monotonic() - started))
            ok = run_id is not None and all(r.status in ("succeeded", "deferred") for r in results)
            status, models = (0 if ok else 1), None
            if not skip_models and not stop_requested():
                models = build_and_publish(db)
                status = max(status, models[0])
            return finish_run_and_alert(db, run_id, results, status, models)
    except KeyboardInterrupt as exc:  # a second Ctrl-C: stop at once, as promised
        code = getattr(exc, "signal_code", signal.SIGINT)
        log.error("run: stopped at once by %s", signal.Signals(code).name)
        return 128 + code


def _record(db: Warehouse, started_at: datetime, results: list[Any]) -> str | None:
    """Append the run to the history; return its id, or None (said in one line) when the file is busy."""
    try:
        return record_run(db, started_at, results)
    except engine_errors() as exc:
        log.error("run history: cannot write ops.run_sources: %s", _describe(db, exc))
        return None


def _describe(db: Warehouse, exc: BaseException) -> str:
    """One line for a warehouse error: DuckDB's lock errors name the PID holding the file; no guessing."""
    if db.is_file:
        return describe_duckdb_error(db.path, exc)[0]  # type: ignore[arg-type]
    return f"{db.label}: {type(exc).__name__}: {first_line(exc)}"


def finish_run_and_alert(
    db: Warehouse,
    run_id: str | None,
    results: list[Any],
    status: int,
    models: tuple[int, Any, str | None] | None,
) -> int:
    """Close the run's history row (models, tests, status), alert if a human is needed; return the exit."""
    stop = stop_requested()
    if stop:
        status = 128 + stop
        log.error(
            "run: stopped by %s; no further source or model started (exit %d); the next run finishes "
            "what this one left",
            signal_name(stop),
            status,
        )
    outcome = RunOutcome(
        status="interrupted" if stop else "succeeded" if status == 0 else "failed",
        exit_code=status,
        stop_signal=signal_name(stop) if stop else None,
    )
    if models is not None:
        report, outcome.error = models[1], models[2]
        if report is not None:
            outcome.models_built, outcome.models_skipped = len(report.built), len(report.skipped)
            outcome.tests_passed, outcome.tests_failed = len(report.tests_passed), dict(report.tests_failed)
            outcome.tests_skipped = len(report.tests_skipped)
    if run_id is not None:
        try:
            finish_run(db, run_id, outcome)
        except engine_errors() as exc:
            log.error("run history: cannot write ops.runs: %s", _describe(db, exc))
            run_id, status = None, max(status, 1)
    message = run_alert(db.label, run_id, results, outcome)
    if message:
        notify(message)
    return status


def build_models(db: Warehouse | Path) -> int:
    """Build the models and print their summary; publish the serving file when every SQL test passes.

    Return 1 when a model or an SQL test fails, or the serving file cannot be written.
    """
    return build_and_publish(db)[0]


def build_and_publish(db: Warehouse | Path) -> tuple[int, Any, str | None]:
    """`build_models`, returning also the build report (None if a model failed) and that model's error."""
    try:
        report = build(as_warehouse(db))
    except ModelError as exc:
        print(str(exc))
        return 1, None, str(exc)
    print(report.summary())
    if not report.ok:
        return 1, report, None  # publish nothing: BI keeps yesterday's serving file
    return publish_or_explain(db), report, None
