"""API economy: calls per source for a first run and a quiet night, against the minimum the docs allow.

    python -m bench.api_economy

Runs the demo's four simulators (one seeded retail world, `simulators/demo.py`) and the nightly job
twice into a scratch DuckDB file: the first run, then a night with no change upstream. Counts what each
simulator served, by call, and sets it beside the least a loader could send:
- Pinogy: one page per 1000 POs (the doc's `limit` cap) on a first run; login and logout once each;
- Pinnacle Cart: one call per `batch_size` records (the doc sets no cap; 500 here) plus each count; a
  night's orders: one `GetOrders LastDate=` call per batch of the look-back window, ending on a short one;
- PinMeTo: one token, then one page per 250 locations (the doc's cap);
- Plugivery: reads (calls that count against "Max Reads / day") within the day's budget minus headroom;
  the catalogue here is the seeded world's alone (169 products), so the first night reads all of it.
Prints a table and writes bench/results/api_economy.json. Nothing here asserts anything.
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from bench.common import RESULTS, write_results
from pipelines.nightly import run_sources
from pipelines.registry import SOURCES
from simulators.base import Request, Simulator
from simulators.pinmeto import PinmetoSimulator
from simulators.pinnacle_cart import PinnacleCartSimulator
from simulators.pinogy import PinogySimulator
from simulators.plugivery import READ_ACTIONS, PlugiverySimulator
from sources.pinnacle_cart import settings as cart_settings
from sources.plugivery import settings as plugivery_settings


def call_kind(sim: Simulator, call: Request) -> str:
    if isinstance(sim, PinogySimulator):
        if call.path.startswith("/api/purchase_orders/"):
            return "GET purchase_orders/<id>"
        if "/sessions" in call.path:
            return "login" if call.method == "POST" else "logout"
        return f"{call.method} {call.path.rsplit('/', 1)[-1]}"
    if isinstance(sim, PinnacleCartSimulator):
        return call.params.get("call", "?")
    if isinstance(sim, PinmetoSimulator):
        return "token" if call.path.endswith("/token") else "locations page"
    act = call.params.get("act", "?")
    return f"{act} (read)" if act in READ_ACTIONS else act


def minimum(sim: Simulator) -> dict[str, int]:
    """The least a first run must send, by call."""
    if isinstance(sim, PinogySimulator):
        return {
            "POST sessions": 1,
            "GET purchase_orders": math.ceil(len(sim.pos) / 1000),
            "DELETE sessions": 1,
        }
    if isinstance(sim, PinnacleCartSimulator):
        batch = cart_settings.DEFAULT_BATCH_SIZE
        return {
            "GetVersion": 1,
            "GetOrders": math.ceil(len(sim.orders) / batch),
            "GetCustomers": math.ceil(len(sim.customers) / batch),
            "GetProducts": math.ceil(len(sim.products) / batch),
            "GetInventory": math.ceil(len(sim.products) / batch),
            "GetCategories": 1,
        }
    if isinstance(sim, PinmetoSimulator):
        return {"token": 1, "locations page": math.ceil(len(sim.locations) / 250)}
    assert isinstance(sim, PlugiverySimulator)
    return {"reads allowed a day": plugivery_settings.DEFAULT_DAY_LIMIT - plugivery_settings.DEFAULT_HEADROOM}


def night_minimum(sim: PinnacleCartSimulator) -> dict[str, int]:
    """The least a night's orders read must send: the look-back window in batches, the last one short."""
    since = next(c.params["LastDate"] for c in sim.calls if "LastDate" in c.params)
    in_window = sum(o["OrderDate"] >= since for o in sim.orders.values())
    return {"GetOrders": in_window // cart_settings.DEFAULT_BATCH_SIZE + 1, "GetOrderCount": 0}


SMALL: dict[str, Callable[[], Simulator]] = {  # `--small`: a seconds-long smoke run
    "pinogy": lambda: PinogySimulator(n_pos=250),
    "pinnacle_cart": lambda: PinnacleCartSimulator(n_customers=50, n_orders=300),
    "pinmeto": PinmetoSimulator,
    "plugivery": lambda: PlugiverySimulator(n_extra_products=0),
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--small", action="store_true", help="small simulators: a smoke run in seconds")
    parser.add_argument("--results", type=Path, default=RESULTS, help="where to write api_economy.json")
    args = parser.parse_args()
    os.environ["RUNTIME__DLTHUB_TELEMETRY"] = "false"
    report: dict[str, Any] = {}
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="bench-economy-") as tmp:
        sims: dict[str, Simulator] = {}
        for name, spec in SOURCES.items():
            # Plugivery: the demo's catalogue needs six nights of reads; here one that fits in the first.
            small = args.small or name == "plugivery"
            sims[name] = stack.enter_context(
                SMALL[name]() if small else spec.start_simulator(**spec.demo_world)
            )
            os.environ.update(spec.env(sims[name]))
        db = Path(tmp) / "economy.duckdb"
        for night in ("first run", "quiet night"):
            for sim in sims.values():
                sim.reset_calls()
            if night == "quiet night":
                plugivery = sims["plugivery"]
                assert isinstance(plugivery, PlugiverySimulator)
                plugivery.advance(1)  # the next day at Plugivery: a new day's reads, daily lists due
            results = {r.source: r for r in run_sources(db, list(sims))}
            for name, sim in sims.items():
                by_call = Counter(call_kind(sim, c) for c in sim.calls)
                report.setdefault(name, {})[night] = {
                    "status": results[name].status,
                    "calls": sum(by_call.values()),
                    "by_call": dict(sorted(by_call.items())),
                }
        for name, sim in sims.items():
            report[name]["first run minimum"] = minimum(sim)
        cart = sims["pinnacle_cart"]
        assert isinstance(cart, PinnacleCartSimulator)
        report["pinnacle_cart"]["quiet night minimum"] = night_minimum(cart)
    print(f"{'source':<14} {'night':<12} {'calls':>6}  by call (first run: minimum in brackets)")
    for name, nights in report.items():
        floor = nights["first run minimum"]
        for night in ("first run", "quiet night"):
            seen = nights[night]["by_call"]
            parts = [
                f"{call} {n}" + (f" [{floor[call]}]" if night == "first run" and call in floor else "")
                for call, n in seen.items()
            ]
            print(f"{name:<14} {night:<12} {nights[night]['calls']:>6}  {', '.join(parts)}")
        if "quiet night minimum" in nights:
            print(f"{'':<14} {'':<12} {'':>6}  quiet night minimum: {nights['quiet night minimum']}")
        if name == "plugivery":
            print(f"{'':<14} {'':<12} {'':>6}  reads allowed a day: {floor['reads allowed a day']}")
    write_results(args.results, "api_economy", report)


if __name__ == "__main__":
    main()
