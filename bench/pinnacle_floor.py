"""Pinnacle Cart orders: full sync against the floor in the same run on the same server, then a 1% night.

    python -m bench.pinnacle_floor                  # 10,000 and 50,000 orders
    python -m bench.pinnacle_floor --orders 2000    # a quick run

The simulator runs in its own process with every `GetOrders` page rendered ahead of time
(`bench.pinnacle_server`). The floor and the loader each run in a child process whose peak RSS comes
from wait4(). Floor: fetch every `GetOrders` page with the same batch size, parse the XML with the
source's own safe expat parser (the fastest safe parser measured here), build Arrow tables of orders,
items and item options, insert them into a fresh DuckDB file. The loader is the `orders` resource of
the real source, run by the same dlt pipeline the nightly job uses. Prints a table and writes
bench/results/pinnacle_floor.json; nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.common import REPO, RESULTS, bench_server, control, timed_child, write_results
from pipelines.nightly import pipelines_dir_for

BATCH = 500


def _scalars(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if not isinstance(v, dict | list)}


def _children(value: Any) -> list[dict[str, Any]]:
    """An array element's records: a list, one wrapped record, or a wrapper around a list."""
    if isinstance(value, dict) and len(value) == 1 and isinstance(next(iter(value.values())), list | dict):
        value = next(iter(value.values()))
    if isinstance(value, dict):
        value = [value]
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def run_floor(server: dict[str, Any], db: Path) -> int:
    import duckdb
    import pyarrow as pa

    from sources.pinnacle_cart.client import PinnacleCartClient

    client = PinnacleCartClient(
        server["api_url"], server["username"], server["password"], server["token"], "xml"
    )
    rows = 0
    with duckdb.connect(str(db)) as con, client:
        created: set[str] = set()
        for batch in client.offset_batches("GetOrders", "GetOrderCount", BATCH):
            item_rows, option_rows = [], []
            for order in batch:
                for line, item in enumerate(_children(order.get("OrderItems")), start=1):
                    item_rows.append({**_scalars(item), "OrderId": order.get("OrderId"), "Line": line})
                    for option in _children(item.get("Options")):
                        option_rows.append(
                            {**_scalars(option), "OrderId": order.get("OrderId"), "Line": line}
                        )
            tables = {
                "orders": pa.Table.from_pylist([_scalars(o) for o in batch]),
                "items": pa.Table.from_pylist(item_rows),
                "options": pa.Table.from_pylist(option_rows),
            }
            for name, table in tables.items():
                if not table.num_rows:
                    continue
                con.register("page", table)
                if name not in created:
                    con.execute(f"create table {name} as select * from page limit 0")
                    created.add(name)
                con.execute(f"insert into {name} by name select * from page")
                con.unregister("page")
                rows += table.num_rows
    return rows


def run_load(server: dict[str, Any], db: Path) -> int:
    from pipelines.nightly import make_pipeline
    from sources.pinnacle_cart import pinnacle_cart_source

    pipeline = make_pipeline("pinnacle_cart", db)
    source = pinnacle_cart_source(
        api_url=server["api_url"],
        username=server["username"],
        password=server["password"],
        token=server["token"],
        shop_timezone="America/New_York",
    ).with_resources("orders")
    pipeline.run(source)
    info = pipeline.last_trace.last_normalize_info if pipeline.last_trace else None
    return sum(n for t, n in (info.row_counts if info else {}).items() if not t.startswith("_dlt"))


def child(kind: str, server: dict[str, Any], db: Path, work: Path) -> dict[str, Any]:
    """Run the floor or the loader in a child process; return its seconds, peak RSS and rows."""
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "DLT_DATA_DIR": str(work / "dlt"),
        "BENCH_SERVER": json.dumps(server),
        "RUNTIME__DLTHUB_TELEMETRY": "false",
    }
    args = [sys.executable, "-m", "bench.pinnacle_floor", "--child", kind, "--db", str(db)]
    seconds, rss, out = timed_child(args, env, f"pinnacle {kind}")
    return {"seconds": round(seconds, 2), "peak_rss_mb": round(rss), "rows": int(out.split()[-1])}


def warm_up(server: dict[str, Any], db: Path, work: Path) -> None:
    """Run the coming night once on a copy of the warehouse and its working dir, unmeasured: the
    server then holds every page the measured run will ask for (same state, same requests)."""
    copy = work / "warm" / db.name
    shutil.rmtree(copy.parent, ignore_errors=True)
    copy.parent.mkdir()
    shutil.copy(db, copy)
    shutil.copytree(pipelines_dir_for(db), pipelines_dir_for(copy))
    child("load", server, copy, work)
    control(server["url"], "/_bench/stats")


def bench_size(n_orders: int, work: Path) -> dict[str, Any]:
    with bench_server("bench.pinnacle_server", "--orders", str(n_orders)) as server:
        url = server["url"]
        db = work / f"pinnacle_{n_orders}.duckdb"
        control(url, "/_bench/stats")
        floor = {
            **child("floor", server, work / f"floor_{n_orders}.duckdb", work),
            **control(url, "/_bench/stats"),
        }
        full = {**child("load", server, db, work), **control(url, "/_bench/stats")}
        changed = control(url, "/_bench/mutate?percent=1")
        warm_up(server, db, work)
        night = {**child("load", server, db, work), "changed": changed, **control(url, "/_bench/stats")}
        warm_up(server, db, work)
        quiet = {**child("load", server, db, work), **control(url, "/_bench/stats")}
    return {
        "orders": server["orders"],
        "floor": floor,
        "full": {**full, "rows_per_second": round(full["rows"] / full["seconds"])},
        "full_over_floor": round(full["seconds"] / floor["seconds"], 2),
        "incremental": night,
        "incremental_over_full": round(night["seconds"] / full["seconds"], 3),
        "quiet_night": quiet,
        "minimum_pages_full": -(-server["orders"] // BATCH),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, action="append", help="orders to serve (repeatable)")
    parser.add_argument("--results", type=Path, default=RESULTS, help="where to write pinnacle_floor.json")
    parser.add_argument("--child", choices=("floor", "load"), help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        server = json.loads(os.environ["BENCH_SERVER"])
        print((run_floor if args.child == "floor" else run_load)(server, args.db))
        return
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-pinnacle-") as tmp:
        for n in args.orders or [10_000, 50_000]:
            print(f"pinnacle bench: {n} orders ...", file=sys.stderr, flush=True)
            results.append(bench_size(n, Path(tmp)))
    print(
        f"{'orders':>7} {'rows':>7} {'floor s':>8} {'full s':>7} {'ratio':>6} {'rows/s':>7} {'RSS MB':>7} "
        f"{'pages':>6} {'1% s':>6} {'1%/full':>8} {'1% pages':>9} {'quiet pages':>12}"
    )
    for r in results:
        print(
            f"{r['orders']:>7} {r['full']['rows']:>7} {r['floor']['seconds']:>8} {r['full']['seconds']:>7} "
            f"{r['full_over_floor']:>6} {r['full']['rows_per_second']:>7} {r['full']['peak_rss_mb']:>7} "
            f"{r['full']['pages']:>6} {r['incremental']['seconds']:>6} {r['incremental_over_full']:>8} "
            f"{r['incremental']['pages']:>9} {r['quiet_night']['pages']:>12}"
        )
    write_results(args.results, "pinnacle_floor", results)


if __name__ == "__main__":
    main()
