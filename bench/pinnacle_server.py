"""The Pinnacle Cart simulator in its own process for benchmarks, with a control path the loader never sees.

`python -m bench.pinnacle_server --orders N` prints its URL and credentials on stdout, renders every
`GetOrders` page the loader will ask for ahead of time (replies are cached by their full query string,
so the simulator's XML rendering is not what is measured; a night's filtered pages are cached by
the warm-up run the bench makes on a copy of the warehouse), and answers:

- `/_bench/stats`: `GetOrders` pages and all requests served since the last call;
- `/_bench/mutate?percent=P`: a night at the shop touching P% of orders (half new orders, half status
  changes on recent ones), after which the cache is dropped and the pages rendered again.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from typing import Any
from urllib.parse import urlencode

from simulators.base import Reply, Request
from simulators.pinnacle_cart import API_PATH, PinnacleCartSimulator

BATCH = 500  # the source's default batch_size


class BenchPinnacle(PinnacleCartSimulator):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._cache: dict[str, Reply] = {}
        self._matching: dict[str, list[dict[str, Any]]] = {}

    def handle(self, request: Request) -> Reply:
        if request.path == "/_bench/stats":
            with self._calls_lock:
                pages = sum(1 for c in self.calls if c.params.get("call") == "GetOrders")
                total = len(self.calls)
                self.calls.clear()
            return Reply(200, json.dumps({"pages": pages, "requests": total}).encode())
        if request.path == "/_bench/mutate":
            changed = self.mutate(float(request.params.get("percent", "1")))
            return Reply(200, json.dumps(changed).encode())
        key = request.path + "?" + urlencode(sorted(request.params.items()))
        reply = self._cache.get(key)
        if reply is None:
            reply = super().handle(request)
            if reply.status == 200:
                self._cache[key] = reply
        return reply

    def _orders_matching(self, params: dict[str, str]) -> list[dict[str, Any]]:
        """The filtered order list once per filter, not once per page (the base rescans every order)."""
        key = urlencode(sorted((k, v) for k, v in params.items() if k not in ("StartNumber", "BatchSize")))
        if key not in self._matching:
            self._matching[key] = super()._orders_matching(params)
        return self._matching[key]

    def mutate(self, percent: float) -> dict[str, int]:
        budget = max(2, int(len(self.orders) * percent / 100))
        new = budget // 2
        for _ in range(new):
            self.add_order()
        changed = self.recent_order_ids(budget)[: budget - new]  # recent orders placed before tonight
        for order_id in changed:
            self.set_order_status(order_id, "Completed", "Received")
        self._cache.clear()
        self._matching.clear()
        self.prerender()
        return {"new_orders": new, "status_changes": len(changed)}

    def prerender(self) -> int:
        """Render the full read's pages (the count, then every batch) before the loader asks."""
        auth = {"username": self.username, "password": self.password, "token": self.token, "apiType": "xml"}
        pages = 0
        self.handle(Request("GET", API_PATH, {**auth, "call": "GetOrderCount"}, {}))
        for start in range(0, len(self.orders), BATCH):
            params = {**auth, "call": "GetOrders", "StartNumber": str(start), "BatchSize": str(BATCH)}
            self.handle(Request("GET", API_PATH, params, {}))
            pages += 1
        return pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=50_000)
    args = parser.parse_args()
    sim = BenchPinnacle(n_customers=max(10, args.orders // 5), n_orders=args.orders)
    sim.prerender()
    sim.start()
    print(
        json.dumps(
            {
                "api_url": sim.api_url,
                "url": sim.url,
                "orders": len(sim.orders),
                "username": sim.username,
                "password": sim.password,
                "token": sim.token,
            }
        ),
        flush=True,
    )
    threading.Event().wait() if sys.stdin.isatty() else sys.stdin.read()  # run until stdin closes
    sim.stop()


if __name__ == "__main__":
    main()
