"""Benchmark the Pinogy source: full sync vs the floor, a 1% night, a quiet night, a 5% night, peak RSS.

    python -m bench.pinogy_sync                 # headline: 100,000 POs (~1M lines), plus a 1/4 size for RSS
    python -m bench.pinogy_sync --scale 0.01    # a quick run

Two worlds: `today` (most POs close within days, a rare few stay open) and `scattered` (0.5% of the POs
stay open, spread evenly through two years of history: back orders left open, or forgotten).

The simulator runs in its own process with pre-rendered pages; the loader (`python -m pipelines run`)
and the floor (`bench.pinogy_floor`) each run in a child process whose peak RSS comes from wait4().
Prints a table and writes bench/results/pinogy_sync.json. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

import duckdb

from bench.common import RESULTS, bench_server, cli_env, control, load_command, timed_child, write_results

HEADLINE_POS = 100_000
# world -> the share of POs left open throughout history (None: the simulator's usual rare few)
WORLDS: dict[str, float | None] = {"today": None, "scattered": 0.005}
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


def bench_size(n_pos: int, work: Path, world: str) -> dict[str, Any]:
    share = WORLDS[world]
    extra = ["--long-open-share", str(share)] if share else []
    with bench_server("bench.pinogy_server", "--pos", str(n_pos), *extra) as info:
        url = info["url"]
        env = cli_env(work, **SECRETS, SOURCES__PINOGY__API_HOST=url)
        db = work / f"pinogy_{world}_{n_pos}.duckdb"
        load = load_command(db, "--sources", "pinogy")

        control(url, "/_bench/stats")
        floor_s, floor_rss, _ = timed_run(
            [sys.executable, "-m", "bench.pinogy_floor", "--db", str(work / f"floor_{world}_{n_pos}.duckdb")],
            env,
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

        quiet_s, quiet_rss, quiet_in_run = timed_run(load, env)
        quiet_calls = control(url, "/_bench/stats")

        # Pages read must grow with the change: a night five times busier.
        changed_5 = control(url, "/_bench/mutate?percent=5")
        control(url, "/_bench/stats")
        busy_s, busy_rss, busy_in_run = timed_run(load, env)
        busy_calls = control(url, "/_bench/stats")
    return {
        "world": world,
        "purchase_orders": info["pos"],
        "open_pos_before_the_night": info["open"],
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
        "incremental_pos_served_over_full": round(incr_calls["pos_served"] / full_calls["pos_served"], 4),
        "incremental_over_full_in_run": round(incr_in_run / full_in_run, 3)
        if incr_in_run and full_in_run
        else None,
        "quiet_night": {
            "seconds": round(quiet_s, 2),
            "in_run_seconds": quiet_in_run,
            "peak_rss_mb": round(quiet_rss),
            **quiet_calls,
        },
        "night_5_percent": {
            "seconds": round(busy_s, 2),
            "in_run_seconds": busy_in_run,
            "peak_rss_mb": round(busy_rss),
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
    parser.add_argument("--worlds", default=",".join(WORLDS), help="comma list of: today, scattered")
    args = parser.parse_args()
    sizes = [max(50, int(HEADLINE_POS * args.scale))]
    if not args.no_second_size:
        sizes.insert(0, max(20, sizes[0] // 4))
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-pinogy-") as tmp:
        for world in args.worlds.split(","):
            for n in sizes:
                print(f"pinogy bench: {world} world, {n} purchase orders ...", file=sys.stderr, flush=True)
                results.append(bench_size(n, Path(tmp), world))
    print(
        f"{'world':>9} {'POs':>7} {'lines':>8} {'floor s':>7} {'full s':>6} {'ratio':>5} {'RSS MB':>6} "
        f"{'1% s':>5} {'1%/full':>7} {'served':>6} {'RSS MB':>6} {'pages+singles: quiet':>20} {'1%':>6} "
        f"{'5%':>6}"
    )
    for r in results:
        quiet, one, five = r["quiet_night"], r["incremental"], r["night_5_percent"]
        print(
            f"{r['world']:>9} {r['purchase_orders']:>7} {r['lines']:>8} {r['floor']['seconds']:>7} "
            f"{r['full']['seconds']:>6} {r['full_over_floor']:>5} {r['full']['peak_rss_mb']:>6} "
            f"{one['seconds']:>5} {r['incremental_over_full']:>7} "
            f"{r['incremental_pos_served_over_full']:>6} {one['peak_rss_mb']:>6} "
            f"{quiet['pages']:>14}+{quiet['single_reads']:<5} {one['pages']:>3}+{one['single_reads']:<3} "
            f"{five['pages']:>3}+{five['single_reads']:<3}"
        )
    for r in results:
        for label, run in (("full sync", r["full"]), ("1% night", r["incremental"])):
            steps = ", ".join(f"{k} {v} s" for k, v in run["dlt_steps"].items())
            print(
                f"{r['world']:>9} {r['purchase_orders']:>7} {label:<9}: {run['seconds']} s; dlt {steps}; "
                "the rest: see below"
            )
    print("(dlt's steps from its trace; the rest of a run: interpreter, imports, pipeline set-up, summary)")
    write_results(args.results, "pinogy_sync", {"scale": args.scale, "runs": results})


if __name__ == "__main__":
    main()
