"""`make demo`: start the local API stand-ins, run the nightly job against them into demo.duckdb."""

from __future__ import annotations

import logging
import os
import shlex
import shutil
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipelines.history import record_run
from pipelines.models import build
from pipelines.nightly import format_summary, pipelines_dir_for, run_sources, table_totals
from pipelines.publish import publish_or_explain
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
    """Run every demo source into a fresh `db_path`; print the summary; return the exit status."""
    started = time.monotonic()
    for leftover in (db_path, Path(f"{db_path}.wal")):
        leftover.unlink(missing_ok=True)
    shutil.rmtree(pipelines_dir_for(db_path), ignore_errors=True)
    with ExitStack() as stack:
        os.environ.update(simulator_env(start_simulators(stack)))
        started_at = datetime.now(UTC)
        results = run_sources(db_path, list(SOURCES))
    record_run(db_path, started_at, results)  # so `python -m pipelines status --db demo.duckdb` has a history
    print(format_summary(results, table_totals(db_path, list(SOURCES)), time.monotonic() - started))
    models = build(db_path)
    print(models.summary())
    published = publish_or_explain(db_path) if models.ok else 1
    report = write_report(db_path, db_path.with_suffix(".html"))
    print(f"\nThe report is {report}: open it in a browser.")
    print(
        f"\nThe warehouse is {db_path}; BI tools read its serving file. Query it in DuckDB's shell:\n"
        f"  .venv/bin/python -m pipelines sql --db {shlex.quote(str(db_path))}"
    )
    return 0 if all(r.status != "failed" for r in results) and models.ok and published == 0 else 1
