"""The Pinogy simulator in its own process for benchmarks, with a control path the loader never sees.

`python -m bench.pinogy_server --pos N [--long-open-share 0.005]` prints its URL on stdout, pre-renders
the pages the loader will ask for (every page by id, the first pages of each order a night reads), and
answers `/_bench/mutate?percent=1` (change that share of POs, then pre-render again) and `/_bench/stats`
(list pages, single-PO reads and POs served since the last call). `--long-open-share` leaves that share
of the POs open, spread evenly through the history (the scattered-open world).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from datetime import timedelta

from simulators.base import Reply, Request
from simulators.pinogy import PinogySimulator

# The orders a night reads (sources/pinogy/settings.py) and how many of their first pages to render.
NIGHT_ORDERS = (("txn_opened_on", "desc"), ("is_open", "desc"), ("closed_on", "desc"))
NIGHT_PAGES = 10


class BenchPinogy(PinogySimulator):
    page_size = 1000

    def _list(self, params: dict[str, str]) -> Reply:
        """Answer a list page from the cache of rendered pages, so the loader is what is measured."""
        key = tuple(
            params.get(k, "") for k in ("limit", "offset", "order_by", "order_type", "fields_include")
        )
        with self._lock:
            cached = self._page_cache.get(key)
            if cached is not None:
                self.served += self._page_counts[key]
                return Reply(200, cached)
        served = self.served
        reply = super()._list(params)
        with self._lock:
            if reply.status == 200:
                self._page_cache[key] = reply.body
                self._page_counts[key] = self.served - served
        return reply

    def render_pages(self) -> None:
        """Render every page by id (the full sync) and the first pages of each order a night reads."""
        self._page_counts: dict[tuple[str, ...], int] = {}
        self.prerender(self.page_size, "id", "asc")
        for order_by, order_type in NIGHT_ORDERS:
            self.prerender(self.page_size, order_by, order_type, pages=NIGHT_PAGES)
        self.served = 0

    def handle(self, request: Request) -> Reply:
        if request.path == "/_bench/stats":
            with self._calls_lock:
                pages = sum(1 for c in self.calls if c.path == "/api/purchase_orders")
                singles = sum(1 for c in self.calls if c.path.startswith("/api/purchase_orders/"))
                total = len(self.calls)
                self.calls.clear()
            with self._lock:
                served, self.served = self.served, 0
            stats = {"pages": pages, "single_reads": singles, "requests": total, "pos_served": served}
            return Reply(200, json.dumps(stats).encode())
        if request.path == "/_bench/mutate":
            changed = self.mutate(float(request.params.get("percent", "1")))
            return Reply(200, json.dumps(changed).encode())
        return super().handle(request)

    def mutate(self, percent: float) -> dict[str, int]:
        """Change `percent`% of POs like a busy night: new POs, lines added to open ones, closures."""
        budget = max(3, int(len(self.pos) * percent / 100))
        open_ids = self.open_po_ids()
        added = closed = new = 0
        for po_id in open_ids[: budget // 4]:
            self.add_line(po_id)
            added += 1
        for po_id in open_ids[budget // 4 : budget // 2]:
            self.close_po(po_id)
            closed += 1
        latest = self.latest_opened_on()
        for i in range(budget - added - closed):
            self.open_po(n_lines=10, opened=latest + timedelta(minutes=5 * (i + 1)))
            new += 1
        self.render_pages()
        return {"new_pos": new, "lines_added": added, "closed": closed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pos", type=int, default=100_000)
    parser.add_argument("--long-open-share", type=float, default=None)
    args = parser.parse_args()
    sim = BenchPinogy(n_pos=args.pos, seed=11, long_open_share=args.long_open_share)
    sim.render_pages()
    lines = sum(len(v) for v in sim.lines.values())
    sim.start()
    info = {"url": sim.url, "pos": len(sim.pos), "lines": lines, "open": len(sim.open_po_ids())}
    print(json.dumps(info), flush=True)
    threading.Event().wait() if sys.stdin.isatty() else sys.stdin.read()  # run until stdin closes
    sim.stop()


if __name__ == "__main__":
    main()
