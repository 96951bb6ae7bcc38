"""Pinnacle Cart orders: the full sync of the `orders` resource against the floor, same run, same server.

    python -m bench.pinnacle_floor [n_orders ...]     (default: 10000 50000)

Floor: fetch every `GetOrders` page with the same batch size, parse the XML with the source's own safe
expat parser (the fastest safe parser measured here), build Arrow tables of orders and items, insert them
into a fresh DuckDB file. The simulator runs in this process for both, so the ratio compares like with like.
Prints a table and writes bench/results/pinnacle_floor.json; nothing here asserts a time.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from bench.pinogy_sync import RESULTS
from pipelines.nightly import make_pipeline
from simulators.pinnacle_cart import PinnacleCartSimulator
from sources.pinnacle_cart import pinnacle_cart_source, settings
from sources.pinnacle_cart.client import PinnacleCartClient


def _scalars(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if not isinstance(v, dict | list)}


def floor(sim: PinnacleCartSimulator, db: Path) -> tuple[float, int]:
    started = time.perf_counter()
    client = PinnacleCartClient(sim.api_url, sim.username, sim.password, sim.token, "xml")
    rows = 0
    with duckdb.connect(str(db)) as con:
        created = False
        for batch in client.offset_batches("GetOrders", "GetOrderCount", settings.DEFAULT_BATCH_SIZE):
            orders = pa.Table.from_pylist([_scalars(o) for o in batch])
            items = pa.Table.from_pylist(
                [{**_scalars(i), "OrderId": o.get("OrderId")} for o in batch for i in _items(o)]
            )
            if not created:
                con.execute("create table orders as select * from orders limit 0")
                con.execute("create table items as select * from items limit 0")
                created = True
            con.execute("insert into orders by name select * from orders")
            con.execute("insert into items by name select * from items")
            rows += orders.num_rows + items.num_rows
    return time.perf_counter() - started, rows


def _items(order: dict[str, Any]) -> list[dict[str, Any]]:
    items = order.get("OrderItems") or []
    if isinstance(items, dict):
        items = items.get("OrderItem") or items.get("Item") or []
    return [i for i in (items if isinstance(items, list) else [items]) if isinstance(i, dict)]


def full(sim: PinnacleCartSimulator, db: Path) -> tuple[float, int]:
    started = time.perf_counter()
    pipeline = make_pipeline("pinnacle_cart", db)
    source = pinnacle_cart_source(
        api_url=sim.api_url,
        username=sim.username,
        password=sim.password,
        token=sim.token,
        shop_timezone="America/New_York",
    ).with_resources("orders")
    pipeline.run(source)
    info = pipeline.last_trace.last_normalize_info if pipeline.last_trace else None
    rows = sum(n for t, n in (info.row_counts if info else {}).items() if t in ("orders", "order_items"))
    return time.perf_counter() - started, rows


def main() -> None:
    results = []
    for n in [int(a) for a in sys.argv[1:]] or [10000, 50000]:
        sim = PinnacleCartSimulator(n_customers=max(10, n // 5), n_orders=n)
        with sim, tempfile.TemporaryDirectory() as tmp:
            os.environ["RUNTIME__DLTHUB_TELEMETRY"] = "false"
            floor_s, floor_rows = floor(sim, Path(tmp) / "floor.duckdb")
            full_s, full_rows = full(sim, Path(tmp) / "full.duckdb")
        results.append(
            {
                "orders": n,
                "floor_seconds": round(floor_s, 2),
                "floor_rows": floor_rows,
                "full_seconds": round(full_s, 2),
                "full_rows": full_rows,
                "full_over_floor": round(full_s / floor_s, 2),
            }
        )
        print(
            f"{n:>7} orders  floor {floor_s:6.1f}s ({floor_rows} rows)  "
            f"full {full_s:6.1f}s ({full_rows} rows)  ratio {full_s / floor_s:.2f}"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "pinnacle_floor.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
