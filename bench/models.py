"""Benchmark the SQL models on DuckDB and on Postgres: build every model and run the SQL tests.

    python -m bench.models                       # Pinogy at 100,000 POs (~1M lines), the others at demo size
    python -m bench.models --scale 0.03          # the demo world (3,000 POs)
    python -m bench.models --engines duckdb      # DuckDB only (no Postgres server needed)

Loads the four simulators into a DuckDB file with the real CLI and, with dlt, into a scratch PostgreSQL
server (started from the machine's server binaries, as the tests do); then times `pipelines.models.build`
on each (three builds, the median reported). Prints a table and writes bench/results/models.json;
nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from bench.common import RESULTS, bench_server, cli_env, load_command, write_results
from bench.pinogy_sync import HEADLINE_POS, SECRETS
from pipelines.models import build
from pipelines.registry import SOURCES
from pipelines.warehouse import DUCKDB, POSTGRES, Warehouse


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the 100,000-PO headline size")
    parser.add_argument("--results", type=Path, default=RESULTS, help="where to write models.json")
    parser.add_argument(
        "--engines", default=f"{DUCKDB},{POSTGRES}", help="comma-separated: duckdb, postgres (default both)"
    )
    args = parser.parse_args()
    n_pos = max(50, int(HEADLINE_POS * args.scale))
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    with tempfile.TemporaryDirectory(prefix="bench-models-") as tmp, ExitStack() as stack:
        work = Path(tmp)
        server = stack.enter_context(bench_server("bench.pinogy_server", "--pos", str(n_pos)))
        env = cli_env(work, **SECRETS, SOURCES__PINOGY__API_HOST=server["url"])
        env.update(_other_simulators(stack))
        db = work / "models.duckdb"
        print(f"models bench: loading {n_pos} POs and the other sources ...", file=sys.stderr, flush=True)
        subprocess.run(load_command(db), env=env, cwd=work, check=True, capture_output=True)
        warehouses = {DUCKDB: Warehouse(DUCKDB, path=db)}
        if POSTGRES in engines:
            warehouses[POSTGRES] = _load_postgres(stack, env, work)
        figures = {engine: _time_builds(warehouses[engine]) for engine in engines}
    result: dict[str, Any] = {"purchase_orders": n_pos, **figures[engines[0]], "engines": figures}
    print(
        f"{'engine':>8} {'POs':>8} {'PO lines':>9} {'models':>7} {'tests':>6} {'failed':>7} "
        f"{'build+tests s, median':>22}"
    )
    for engine, f in figures.items():
        print(
            f"{engine:>8} {n_pos:>8} {f['fct_purchase_order_lines']:>9} {f['models_built']:>7} "
            f"{f['tests_passed']:>6} {f['tests_failed']:>7} {f['seconds_median']:>22}"
        )
    write_results(args.results, "models", result)


def _other_simulators(stack: ExitStack) -> dict[str, str]:
    """Start the sources other than Pinogy at demo size; return the env pointing at them."""
    env: dict[str, str] = {}
    for name, spec in SOURCES.items():
        if name != "pinogy":
            env.update(spec.env(stack.enter_context(spec.start_simulator(**spec.demo_world))))
    return env


def _load_postgres(stack: ExitStack, env: dict[str, str], work: Path) -> Warehouse:
    """Start a scratch Postgres server and load the same sources into it (fresh simulators but Pinogy's)."""
    from tests.postgres_server import load_sources, start

    print("models bench: loading the same into a scratch Postgres ...", file=sys.stderr, flush=True)
    server = start()
    stack.callback(server.stop)
    dsn = server.create_database("bench")
    os.environ.update({**env, **_other_simulators(stack)})  # a fresh Plugivery: its day's reads start over
    load_sources(dsn, SOURCES, work / "pg-pipelines")
    return Warehouse(POSTGRES, dsn=dsn)


def _time_builds(warehouse: Warehouse) -> dict[str, Any]:
    """Build the models three times on `warehouse`; return the last report's counts and the timings."""
    timings, report = [], None
    for _ in range(3):
        started = time.perf_counter()
        report = build(warehouse)
        timings.append(time.perf_counter() - started)
    assert report is not None
    with warehouse.connect(read_only=True) as con:
        row = con.fetchone("select count(*) from analytics.fct_purchase_order_lines")
    return {
        "fct_purchase_order_lines": int(row[0]) if row else 0,
        "models_built": len(report.built),
        "models_skipped": len(report.skipped),
        "tests_passed": len(report.tests_passed),
        "tests_failed": len(report.tests_failed),
        "seconds_median": round(statistics.median(timings), 2),
        "seconds_all": [round(t, 2) for t in timings],
    }


if __name__ == "__main__":
    main()
