"""`make demo`: start the local API stand-ins, run the nightly job against them into demo.duckdb."""

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

log = logging.getLogger("retail.demo")


def start_simulators(stack: ExitStack) -> dict[str, Any]:
    """Start each source's simulator with its demo world on `stack`; return {source: simulator}.

    The simulators are imported here, from the specs' names, so the nightly job never needs them.
    """
    sims: dict[str, Any] = {}
    for name, spec in SOURCES.items():
        if spec.simulator:
            sims[name] = stack.enter_context(spec.start_simulator(**spec.demo_world))
            log.info("%s: simulator listening on %s", name, sims[name].url)
    return sims


def simulator_env(sims: dict[str, Any]) -> dict[str, str]:
    """The SOURCES__* env vars pointing each source at its running simulator."""
    return {key: value for name, sim in sims.items() for key, value in SOURCES[name].env(sim).items()}


def run_demo(db_path: Path) -> int:
    """Run the nightly job (`run`: lock, load, history, models, publish) against the simulators into a
    fresh `db_path`; write the report; return the run's exit status."""
    from pipelines.cli import run

    try:
        with RunLock(db_path):  # never wipe a warehouse another run is loading
            for leftover in (db_path, Path(f"{db_path}.wal")):
                leftover.unlink(missing_ok=True)
            shutil.rmtree(pipelines_dir_for(db_path), ignore_errors=True)
    except LockBusy as exc:
        log.error("demo: %s; the demo exits without touching it", exc)
        return 3
    with ExitStack() as stack:
        os.environ.update(simulator_env(start_simulators(stack)))
        status = run(db_path, list(SOURCES), full_refresh=False, skip_models=False)
    report = write_report(db_path, db_path.with_suffix(".html"))
    print(f"\nThe report is {report}: open it in a browser.")
    print(
        f"\nThe warehouse is {db_path}; BI tools read its serving file. Query it in DuckDB's shell:\n"
        f"  .venv/bin/python -m pipelines sql --db {shlex.quote(str(db_path))}"
    )
    return status
