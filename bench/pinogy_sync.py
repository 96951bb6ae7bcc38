"""Benchmark the Pinogy source: full sync vs the floor, a 1% night, a quiet night, a 5% night, peak RSS.

    python -m bench.pinogy_sync                 # headline: 100,000 POs (~1M lines), plus a 1/4 size for RSS
    python -m bench.pinogy_sync --scale 0.01    # a quick run

The simulator runs in its own process with pre-rendered pages; the loader (`python -m pipelines run`)
and the floor (`bench.pinogy_floor`) each run in a child process whose peak RSS comes from wait4().
Prints a table and writes bench/results/pinogy_sync.json. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

import duckdb

from bench.common import REPO, RESULTS, bench_server, control, timed_child, write_results

HEADLINE_POS = 100_000
SECRETS = {
    "SOURCES__PINOGY__ACCESS_KEY": "sim-access-key",
    "SOURCES__PINOGY__SECRET_KEY": "sim-secret-key",
    "SOURCES__PINOGY__PASSWORD": "sim-password",
}


def timed_run(args: list[str], env: dict[str, str]) -> tuple[float, float, float | None]:
    """Run a child; return (wall seconds, peak RSS in MB, the run's own seconds as the CLI's summary
    reports them, i.e. without interpreter start and imports)."""
    seconds, rss, out = timed_child(args, env, " ".join(args[2:4]))
    in_run = re.search(r"sources loaded in ([0-9.]+)s", out)
    return seconds, rss, float(in_run.group(1)) if in_run else None


def trace_steps(db: Path) -> dict[str, float]:
    """Seconds of dlt's extract, normalize and load steps in the last run's trace (kept on disk)."""
    from pipelines.nightly import make_pipeline

    trace = make_pipeline("pinogy", db).last_trace
    steps = trace.steps if trace else []
    return {
        step.step: round((step.finished_at - step.started_at).total_seconds(), 2)
        for step in steps
        if step.step in ("extract", "normalize", "load") and step.finished_at
    }


def bench_size(n_pos: int, work: Path) -> dict[str, Any]:
    with bench_server("bench.pinogy_server", "--pos", str(n_pos)) as info:
        url = info["url"]
        env = {
            **os.environ,
            **SECRETS,
            "SOURCES__PINOGY__API_HOST": url,
            "PYTHONPATH": str(REPO),
            "DLT_PROJECT_DIR": str(REPO),
            "DLT_DATA_DIR": str(work / "dlt"),
            "RUNTIME__DLTHUB_TELEMETRY": "false",
        }
        db = work / f"pinogy_{n_pos}.duckdb"
        load = [
            sys.executable,
            "-m",
            "pipelines",
            "--log-level",
            "WARNING",
            "run",
            "--db",
            str(db),
            "--sources",
            "pinogy",
            "--skip-models",
        ]

        control(url, "/_bench/stats")
        floor_s, floor_rss, _ = timed_run(
            [sys.executable, "-m", "bench.pinogy_floor", "--db", str(work / f"floor_{n_pos}.duckdb")], env
        )
        floor_calls = control(url, "/_bench/stats")

        full_s, full_rss, full_in_run = timed_run(load, env)
        full_calls = control(url, "/_bench/stats")
        full_steps = trace_steps(db)
        with duckdb.connect(str(db), read_only=True) as con:
            rows = sum(
                con.execute(f"select count(*) from pinogy.{t}").fetchone()[0]  # type: ignore[index]
                for t in ("purchase_orders", "purchase_order_lines")
            )

        changed = control(url, "/_bench/mutate?percent=1")
        control(url, "/_bench/stats")
        incr_s, incr_rss, incr_in_run = timed_run(load, env)
        incr_calls = control(url, "/_bench/stats")
        incr_steps = trace_steps(db)

        quiet_s, _, quiet_in_run = timed_run(load, env)
        quiet_calls = control(url, "/_bench/stats")

        # Pages read must grow with the change: a night five times busier.
        changed_5 = control(url, "/_bench/mutate?percent=5")
        control(url, "/_bench/stats")
        busy_s, _, busy_in_run = timed_run(load, env)
        busy_calls = control(url, "/_bench/stats")
    return {
        "purchase_orders": info["pos"],
        "lines": info["lines"],
        "rows_loaded": rows,
        "floor": {"seconds": round(floor_s, 2), "peak_rss_mb": round(floor_rss), **floor_calls},
        "full": {
            "seconds": round(full_s, 2),
            "in_run_seconds": full_in_run,
            "rows_per_second": round(rows / full_s),
            "dlt_steps": full_steps,
            "peak_rss_mb": round(full_rss),
            **full_calls,
        },
        "full_over_floor": round(full_s / floor_s, 2),
        "incremental": {
            "seconds": round(incr_s, 2),
            "in_run_seconds": incr_in_run,
            "dlt_steps": incr_steps,
            "peak_rss_mb": round(incr_rss),
            "changed": changed,
            **incr_calls,
        },
        "incremental_over_full": round(incr_s / full_s, 3),
        "incremental_over_full_in_run": round(incr_in_run / full_in_run, 3)
        if incr_in_run and full_in_run
        else None,
        "quiet_night": {"seconds": round(quiet_s, 2), "in_run_seconds": quiet_in_run, **quiet_calls},
        "night_5_percent": {
            "seconds": round(busy_s, 2),
            "in_run_seconds": busy_in_run,
            "changed": changed_5,
            **busy_calls,
        },
        "minimum_pages_full": -(-info["pos"] // 1000),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the 100,000-PO headline size")
    parser.add_argument("--no-second-size", action="store_true", help="skip the 1/4 size run (RSS flatness)")
    parser.add_argument("--results", type=Path, default=RESULTS, help="where to write pinogy_sync.json")
    args = parser.parse_args()
    sizes = [max(50, int(HEADLINE_POS * args.scale))]
    if not args.no_second_size:
        sizes.insert(0, max(20, sizes[0] // 4))
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-pinogy-") as tmp:
        for n in sizes:
            print(f"pinogy bench: {n} purchase orders ...", file=sys.stderr, flush=True)
            results.append(bench_size(n, Path(tmp)))
    print(
        f"{'POs':>8} {'lines':>9} {'floor s':>8} {'full s':>8} {'ratio':>6} {'rows/s':>8} {'RSS MB':>7} "
        f"{'pages':>6} {'1% s':>6} {'1%/full':>8} {'in run':>7} {'pages+singles: quiet':>21} {'1%':>7} "
        f"{'5%':>7}"
    )
    for r in results:
        quiet, one, five = r["quiet_night"], r["incremental"], r["night_5_percent"]
        print(
            f"{r['purchase_orders']:>8} {r['lines']:>9} {r['floor']['seconds']:>8} {r['full']['seconds']:>8} "
            f"{r['full_over_floor']:>6} {r['full']['rows_per_second']:>8} {r['full']['peak_rss_mb']:>7} "
            f"{r['full']['pages']:>6} {one['seconds']:>6} {r['incremental_over_full']:>8} "
            f"{r['incremental_over_full_in_run'] or '-':>7} "
            f"{quiet['pages']:>15}+{quiet['single_reads']:<5} {one['pages']:>3}+{one['single_reads']:<3} "
            f"{five['pages']:>3}+{five['single_reads']:<3}"
        )
    for r in results:
        for label, run in (("full sync", r["full"]), ("1% night", r["incremental"])):
            steps = ", ".join(f"{k} {v} s" for k, v in run["dlt_steps"].items())
            print(
                f"{r['purchase_orders']:>8} {label:<9}: {run['seconds']} s; dlt {steps}; the rest: see below"
            )
    print("(dlt's steps from its trace; the rest of a run: interpreter, imports, pipeline set-up, summary)")
    write_results(args.results, "pinogy_sync", {"scale": args.scale, "runs": results})


if __name__ == "__main__":
    main()
