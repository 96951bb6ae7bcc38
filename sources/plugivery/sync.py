"""One Plugivery night, step by step, every read through the `BudgetedReader` (budget.py).

The steps (see the package docstring for the order and the tables): `list` → `list_promotions` →
brands and categories once per API day → `get` for queued products, oldest change first. The reader
stops the night when the budget is spent or the API's quota is (472/473/474); the steps keep what they
read before the stop, and the night's result (`last_run`, in resource state) says why it stopped:
`deferred` is the reason the runner reports, set only for a quota error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sources.integrity import CursorClock, Rejects
from sources.plugivery.budget import BudgetedReader, ReadsStopped, record_id, since_window
from sources.plugivery.client import PlugiveryError, as_records
from sources.shrink import ShrinkGuard, held_rows

log = logging.getLogger("retail.plugivery")

Row = dict[str, Any]


@dataclass
class CatalogNight:
    """The steps of one night; each yields `(table, rows)` and updates the resource state as it goes."""

    reader: BudgetedReader
    state: MutableMapping[str, Any]
    clock: CursorClock
    rejects: Rejects
    guard: ShrinkGuard
    price_row: Callable[[Row], Row]
    promotion_row: Callable[[Row], Row]
    detail_row: Callable[[Row], Row]

    @property
    def queue(self) -> dict[str, int]:
        queue: dict[str, int] = self.state.setdefault("get_queue", {})
        return queue

    def complete(self, call: str, table: str, records: list[Row], held: int | None = None) -> list[Row]:
        """Return a whole-list read, refused when clearly shorter than the table it stands for."""
        held = held if held is not None else held_rows(table)
        self.guard.check(PlugiveryError, call, table, len(records), held=held)
        return records

    def products(self) -> Iterator[tuple[str, list[Row]]]:
        """`list` in the smallest `since` window: prices, price changes; changed products queue for `get`."""
        now, seen = self.reader.now, self.state.setdefault("seen_dates", {})
        window = since_window(self.state.get("last_list_at"), now)
        listed = self.reader.records("list", since=window)
        if window == "all":
            # Every product: the last-list mark moves on only after a complete list. `products` keeps
            # products the catalogue dropped, so the measure is the last complete list, once there is one.
            self.complete("act=list since=all", "products", listed, self.state.get("listed_all"))
            self.state["listed_all"] = len(listed)
        priced = self.rejects.convert("products", listed, self.price_row, record_id)
        # Equality, not order: a date in the future must not hide the product's next real change.
        changed = [(r, row) for r, row in priced if int(r.get("date") or 0) != seen.get(str(r["id"]))]
        if priced:
            yield "products", [row for _, row in priced]
        if changed:
            yield "product_prices", [row for _, row in changed]
        for r, _ in changed:
            seen[str(r["id"])] = self.queue[str(r["id"])] = int(r.get("date") or 0)
        # The list position is on the API's clock, which may not run ahead of ours beyond the tolerance.
        self.state["last_list_at"] = min(
            now, self.clock.clamp(datetime.fromtimestamp(now, UTC), "the API's clock", "now").timestamp()
        )
        log.info(
            "plugivery: list since=%s: %d products, %d new or changed", window, len(listed), len(changed)
        )

    def promotions(self) -> Iterator[tuple[str, list[Row]]]:
        promoted = self.rejects.convert(
            "promotions", self.reader.records("list_promotions"), self.promotion_row, record_id
        )
        if promoted:
            yield "promotions", [row for _, row in promoted]

    def reference(self) -> Iterator[tuple[str, list[Row]]]:
        """Brands and categories, replaced at most once per API day."""
        if self.state.get("reference_day") == self.reader.day:
            return
        for table, act in (("brands", "list_brands"), ("categories", "list_cats")):
            yield table, self.complete(f"act={act}", table, self.reader.records(act))
        self.state["reference_day"] = self.reader.day

    def details(self) -> Iterator[tuple[str, list[Row]]]:
        """`get` for queued products, oldest change first, until the queue or the budget ends.

        What was fetched before a stop is yielded before the stop goes on.
        """
        queue, details = self.queue, list[Row]()
        stop: ReadsStopped | None = None
        for product_id in sorted(queue, key=lambda k: (queue[k], int(k))):
            try:
                records = as_records(self.reader.read("get", id=product_id), f"act=get id={product_id}")[:1]
            except ReadsStopped as exc:
                stop = exc
                break
            # 462 "No Result": the product is gone; nothing to keep. An unreadable date is rejected
            # (the read is spent; its next change queues it again).
            details.extend(
                row for _, row in self.rejects.convert("product_details", records, self.detail_row, record_id)
            )
            del queue[product_id]
        if details:
            yield "product_details", details
        if stop is not None:
            raise stop

    def run(self) -> Iterator[tuple[str, list[Row]]]:
        """All steps; a stop ends the night quietly, its reason kept in `last_run`."""
        stopped: ReadsStopped | None = None
        try:
            yield from self.products()
            yield from self.promotions()
            yield from self.reference()
            yield from self.details()
        except ReadsStopped as exc:
            stopped = exc
        queue, client = self.queue, self.reader.client
        deferred = (
            f"{stopped}; {len(queue)} products wait for details" if stopped and stopped.deferred else None
        )
        if deferred:
            log.warning("plugivery: stopping early: %s; what was read is kept", stopped)
        elif stopped:
            log.info("plugivery: tonight's read budget is spent; the rest waits for the next run")
        self.state["last_run"] = {
            "reads": client.reads,
            "queue": len(queue),
            "reads_today": self.reader.ledger["day_reads"],
            **({"deferred": deferred} if deferred else {}),
        }
