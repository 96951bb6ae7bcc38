"""The Pinogy simulator in its own process for benchmarks, with a control path the loader never sees.

`python -m bench.pinogy_server --pos N` prints its URL on stdout, pre-renders the pages the loader will
ask for, and answers `/_bench/mutate?percent=1` (change that share of POs, then pre-render again) and
`/_bench/stats` (list pages and single-PO reads served since the last call).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from datetime import timedelta

from simulators.base import Reply, Request
from simulators.pinogy import PinogySimulator


class BenchPinogy(PinogySimulator):
    page_size = 1000

    def handle(self, request: Request) -> Reply:
        if request.path == "/_bench/stats":
            with self._calls_lock:
                pages = sum(1 for c in self.calls if c.path == "/api/purchase_orders")
                singles = sum(1 for c in self.calls if c.path.startswith("/api/purchase_orders/"))
                total = len(self.calls)
                self.calls.clear()
            return Reply(
                200, json.dumps({"pages": pages, "single_reads": singles, "requests": total}).encode()
            )
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
        self.prerender(self.page_size, "id", "asc")
        self.prerender(self.page_size, "txn_opened_on", "desc")
        return {"new_pos": new, "lines_added": added, "closed": closed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pos", type=int, default=100_000)
    args = parser.parse_args()
    sim = BenchPinogy(n_pos=args.pos, seed=11)
    sim.prerender(sim.page_size, "id", "asc")
    sim.prerender(sim.page_size, "txn_opened_on", "desc")
    lines = sum(len(v) for v in sim.lines.values())
    sim.start()
    print(json.dumps({"url": sim.url, "pos": len(sim.pos), "lines": lines}), flush=True)
    threading.Event().wait() if sys.stdin.isatty() else sys.stdin.read()  # run until stdin closes
    sim.stop()


if __name__ == "__main__":
    main()
