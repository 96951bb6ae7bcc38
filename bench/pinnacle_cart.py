"""Print what a Pinnacle Cart load costs: API calls, rows, seconds, rows/s, first run and the next night.

    .venv/bin/python -m bench.pinnacle_cart [n_orders ...]     (default: 10000 50000)

The simulator runs in this process (its XML rendering shares the GIL with the load), so the figures are
an upper bound on the source's own cost. Never run in CI as a timed assertion.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from pipelines.nightly import run_sources
from simulators.pinnacle_cart import PinnacleCartSimulator


def bench(n_orders: int) -> None:
    sim = PinnacleCartSimulator(n_customers=n_orders // 5, n_orders=n_orders)
    with sim, tempfile.TemporaryDirectory() as tmp:
        os.environ.update(
            {
                "SOURCES__PINNACLE_CART__API_URL": sim.api_url,
                "SOURCES__PINNACLE_CART__USERNAME": sim.username,
                "SOURCES__PINNACLE_CART__PASSWORD": sim.password,
                "SOURCES__PINNACLE_CART__TOKEN": sim.token,
                "SOURCES__PINNACLE_CART__SHOP_TIMEZONE": "America/New_York",
                "RUNTIME__DLTHUB_TELEMETRY": "false",
            }
        )
        db = Path(tmp) / "bench.duckdb"
        for label in ("first run", "next night"):
            started = time.monotonic()
            [result] = run_sources(db, ["pinnacle_cart"])
            seconds = time.monotonic() - started
            rows = sum(result.rows.values())
            print(
                f"{n_orders:>7} orders  {label:<10}  {result.status:<9} {result.api_calls:>4} calls  "
                f"{rows:>8} rows  {seconds:6.1f}s  {rows / seconds:>8.0f} rows/s  "
                f"orders read: {result.rows.get('orders', 0)}"
            )
            for _ in range(20):  # a quiet day at the shop
                sim.add_order()
            for order_id in sim.recent_order_ids(40)[:10]:
                sim.set_order_status(order_id, "Completed", "Received")


if __name__ == "__main__":
    for n in [int(a) for a in sys.argv[1:]] or [10000, 50000]:
        bench(n)
