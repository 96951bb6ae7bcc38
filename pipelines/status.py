"""`python -m pipelines status`: silent when every source is fresh, else a table (or JSON) and exit 1."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from pipelines.alerts import notify, staleness_alert
from pipelines.history import freshness, last_run
from pipelines.warehouse import Warehouse, as_warehouse


def print_status(
    db: Warehouse | Path,
    sources: list[str],
    max_age_hours: float,
    as_json: bool = False,
    verbose: bool = False,
) -> int:
    """Say nothing and return 0 when every source is fresh and the last run's SQL tests passed; else print
    each source's last load, age and last error, alert, and return 1. `as_json` always prints."""
    db = as_warehouse(db)
    rows = freshness(db, sources, max_age_hours)
    run = last_run(db)
    stale = [f.source for f in rows if f.is_stale]
    run_trouble = _run_trouble(run)
    trouble = bool(stale or run_trouble)
    if as_json:
        print(
            json.dumps(
                {
                    "ok": not trouble,
                    "max_age_hours": max_age_hours,
                    "sources": [
                        {
                            "source": f.source,
                            "last_loaded_at": f.last_loaded_at,
                            "age_hours": None if f.age_hours is None else round(f.age_hours, 2),
                            "is_stale": f.is_stale,
                            "last_status": f.last_status,
                            "last_attempt_at": f.last_attempt_at,
                            "last_error": f.last_error,
                        }
                        for f in rows
                    ],
                    "last_run": run,
                    "problems": ([f"stale: {', '.join(stale)}"] if stale else []) + run_trouble,
                },
                default=str,
                indent=2,
            )
        )
    elif trouble or verbose:
        print(f"{'source':<14} {'last successful load (UTC)':<27} {'age (h)':>8}  {'state':<6} last error")
        for f in rows:
            when = f.last_loaded_at.strftime("%Y-%m-%d %H:%M:%S") if f.last_loaded_at else "never"
            age = f"{f.age_hours:.1f}" if f.age_hours is not None else "-"
            error = f"{f.last_status}: {f.last_error}" if f.last_error else "-"
            print(f"{f.source:<14} {when:<27} {age:>8}  {'STALE' if f.is_stale else 'fresh':<6} {error}")
        for line in run_trouble:
            print(line)
    if stale:
        logging.getLogger("retail").warning(
            "stale sources (older than %.0f h): %s", max_age_hours, ", ".join(stale)
        )
        message = staleness_alert(db.label, rows, max_age_hours)
        if message:
            notify(message)
    return 1 if trouble else 0


def _run_trouble(run: dict[str, Any] | None) -> list[str]:
    """What the latest run's models and SQL tests need a human for (empty when they passed)."""
    if run is None:
        return []
    when = f"last run {run['run_id']} ({run['started_at']:%Y-%m-%d %H:%M} UTC)"
    out = []
    if run.get("failed_tests"):
        tests = ", ".join(f"{name} ({rows} rows)" for name, rows in run["failed_tests"].items())
        out.append(f"{when}: SQL tests failed: {tests}")
    if run.get("error"):
        out.append(f"{when}: {run['error']}")
    return out
