"""`make demo` (`python -m pipelines demo`): the simulators composed with the nightly run path.

The demo takes the warehouse's run lock once and holds it throughout: it wipes `demo.duckdb`, starts each
source's simulator with its demo world, runs the nightly job (`pipelines.runner.run_locked`: load,
history, models, publish, alerts) against them, and writes the report. It lives here, beside the
simulators, so the nightly package (`pipelines/`) never imports `simulators/`.
"""

from __future__ import annotations

import logging
import os
import shlex
import shutil
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from pipelines.lock import LockBusy, RunLock
from pipelines.nightly import pipelines_dir_for
from pipelines.registry import SOURCES
from pipelines.report import write_report
from pipelines.runner import run_locked

log = logging.getLogger("retail.demo")


def start_simulators(stack: ExitStack) -> dict[str, Any]:
    """Start each source's simulator with its demo world on `stack`; return {source: simulator}."""
    sims: dict[str, Any] = {}
    for name, spec in SOURCES.items():
        if spec.simulator:
            sims[name] = stack.enter_context(spec.start_simulator(**spec.demo_world))
            log.info("%s: simulator listening on %s", name, sims[name].url)
    return sims


def simulator_env(sims: dict[str, Any]) -> dict[str, str]:
    """The SOURCES__* env vars pointing each source at its running simulator."""
    return {key: value for name, sim in sims.items() for key, value in SOURCES[name].env(sim).items()}


def remove_warehouse(db_path: Path) -> None:
    """Delete the demo's warehouse and dlt's working dirs for it, so each demo starts from nothing."""
    for leftover in (db_path, Path(f"{db_path}.wal")):
        leftover.unlink(missing_ok=True)
    shutil.rmtree(pipelines_dir_for(db_path), ignore_errors=True)


def run_demo(db_path: Path) -> int:
    """Run the nightly job against the simulators into a fresh `db_path`, holding its run lock from the
    wipe to the report; write the report; return the run's exit status (3 when another run holds it)."""
    try:
        with RunLock(db_path), ExitStack() as stack:  # never wipe a warehouse another run is loading
            remove_warehouse(db_path)
            os.environ.update(simulator_env(start_simulators(stack)))
            status = run_locked(db_path, list(SOURCES), full_refresh=False, skip_models=False)
            report = write_report(db_path, db_path.with_suffix(".html"))
    except LockBusy as exc:
        log.error("demo: %s; the demo exits without touching it", exc)
        return 3
    print(f"\nThe report is {report}: open it in a browser.")
    print(
        f"\nThe warehouse is {db_path}; BI tools read its serving file. Query it in DuckDB's shell:\n"
        f"  .venv/bin/python -m pipelines sql --db {shlex.quote(str(db_path))}"
    )
    return status
