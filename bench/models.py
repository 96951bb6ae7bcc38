"""Benchmark the SQL models: build every model and run the SQL tests on a warehouse with ~1M PO lines.

    python -m bench.models                 # Pinogy at 100,000 POs (~1M lines), the others at demo size
    python -m bench.models --scale 0.01    # a quick run

Loads the four simulators with the real CLI, then times `pipelines.models.build` (three builds, the
median reported). Prints a table and writes bench/results/models.json; nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import duckdb

from bench.common import REPO, RESULTS, load_command, write_results
from bench.pinogy_sync import HEADLINE_POS, SECRETS
from pipelines.models import build
from pipelines.registry import SOURCES
from pipelines.warehouse import DUCKDB, Warehouse


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the 100,000-PO headline size")
    parser.add_argument("--results", type=Path, default=RESULTS, help="where to write models.json")
    args = parser.parse_args()
    n_pos = max(50, int(HEADLINE_POS * args.scale))
    with tempfile.TemporaryDirectory(prefix="bench-models-") as tmp, ExitStack() as stack:
        work = Path(tmp)
        server = subprocess.Popen(
            [sys.executable, "-m", "bench.pinogy_server", "--pos", str(n_pos)],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        stack.callback(server.wait, 60)
        stack.callback(lambda: server.stdin.close() if server.stdin else None)
        assert server.stdout is not None
        env = {
            **os.environ,
            **SECRETS,
            "SOURCES__PINOGY__API_HOST": json.loads(server.stdout.readline())["url"],
            "PYTHONPATH": str(REPO),
            "DLT_PROJECT_DIR": str(REPO),
            "DLT_DATA_DIR": str(work / "dlt"),
            "RUNTIME__DLTHUB_TELEMETRY": "false",
        }
        for name, spec in SOURCES.items():
            if name != "pinogy":
                env.update(spec.env(stack.enter_context(spec.start_simulator(**spec.demo_world))))
        db = work / "models.duckdb"
        print(f"models bench: loading {n_pos} POs and the other sources ...", file=sys.stderr, flush=True)
        subprocess.run(load_command(db), env=env, cwd=work, check=True, capture_output=True)
        timings, report = [], None
        for _ in range(3):
            started = time.perf_counter()
            report = build(Warehouse(DUCKDB, path=db))
            timings.append(time.perf_counter() - started)
        assert report is not None
        with duckdb.connect(str(db), read_only=True) as con:
            row = con.execute("select count(*) from analytics.fct_purchase_order_lines").fetchone()
        lines = int(row[0]) if row else 0
    result = {
        "purchase_orders": n_pos,
        "fct_purchase_order_lines": lines,
        "models_built": len(report.built),
        "models_skipped": len(report.skipped),
        "tests_passed": len(report.tests_passed),
        "tests_failed": len(report.tests_failed),
        "seconds_median": round(statistics.median(timings), 2),
        "seconds_all": [round(t, 2) for t in timings],
    }
    print(
        f"{'POs':>8} {'PO lines':>9} {'models':>7} {'tests':>6} {'failed':>7} {'build+tests s, median':>22}"
    )
    print(
        f"{n_pos:>8} {lines:>9} {result['models_built']:>7} {result['tests_passed']:>6} "
        f"{result['tests_failed']:>7} {result['seconds_median']:>22}"
    )
    write_results(args.results, "models", result)


if __name__ == "__main__":
    main()
