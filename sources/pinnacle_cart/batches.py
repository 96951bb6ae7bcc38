"""How Pinnacle Cart lists are read in batches: by `StartNumber` to the API's own count, by `BatchPage`
(products), to a short batch (filtered reads) or to an empty one (calls without a count).

Each read drops records repeated within it and stops on a page that repeats an earlier one (`PageGuard`);
a batch shorter than the count promises is read again, then fails the source (`read_full_page`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

from sources.http import RetryingSession
from sources.integrity import drop_repeats
from sources.paging import PageGuard, read_full_page
from sources.pinnacle_cart import settings
from sources.pinnacle_cart.errors import PinnacleCartError


class BatchReads:
    """The batched reads of `PinnacleCartClient`, over its one-call methods `records` and `count`."""

    http: RetryingSession

    def records(self, name: str, **args: Any) -> list[dict[str, Any]]:
        raise NotImplementedError

    def count(self, name: str, **filters: Any) -> int:
        raise NotImplementedError

    def offset_batches(
        self, name: str, count_call: str, batch_size: int, **filters: Any
    ) -> Iterator[list[dict[str, Any]]]:
        """Yield batches read with `StartNumber`/`BatchSize` until the API's own count is reached.

        The count is read first, so a shop that caps BatchSize below ours is still read to the end.
        An empty batch before the count is read again (with the count) and then fails the source,
        unless the count, read again, says the list ended there (records removed while paging).
        Records added while paging sort after the count and arrive next run.
        """
        yield from self._read_to_count(
            name,
            self.count(count_call, **filters),
            filters,
            "StartNumber",
            lambda read, _batches: {"StartNumber": read, "BatchSize": batch_size},
            partial(self._empty_before_count, count_call=count_call, filters=filters),
        )

    def _empty_before_count(
        self, start: int, batch: list[dict[str, Any]], count_call: str, filters: dict[str, Any]
    ) -> str | None:
        """Say what is missing when a batch at `start` is empty though the count, read again, is higher."""
        if batch:
            return None
        total = self.count(count_call, **filters)
        return None if start >= total else f"empty batch though {count_call} says {total}"

    def filtered_batches(self, name: str, batch_size: int, **filters: Any) -> Iterator[list[dict[str, Any]]]:
        """Yield batches of a filtered read (`GetOrders LastDate=..`) until a batch shorter than asked.

        No count call first: a night makes only the calls the API forces. The doc names no maximum
        BatchSize, so a short batch is the last one (a shop that capped it below ours would end the read
        early; the periodic full read, which pages to the API's own count, brings the rest).
        """
        start = 0
        seen: set[str] = set()
        guard = PageGuard(PinnacleCartError, VENDOR)
        while True:
            batch = self.records(name, **filters, StartNumber=start, BatchSize=batch_size)
            guard.page(_keys(batch), _label(name, filters, StartNumber=start))
            fresh = _unseen(batch, seen)
            if fresh:
                yield fresh
            if len(batch) < batch_size:
                return
            start += len(batch)

    def batches_until_empty(
        self, name: str, batch_size: int, known_total: int | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """Yield batches read with `StartNumber`/`BatchSize` for a call that has no count of its own.

        The read ends with an empty batch or, when a related count read this run is given as
        `known_total` (`GetInventory` lists the products `GetProductCount` counted), once that many are
        read: one call fewer a night. Records added after that count arrive next run, as with counts.
        """
        start = 0
        guard = PageGuard(PinnacleCartError, VENDOR)
        while known_total is None or start < known_total:
            batch = self.records(name, StartNumber=start, BatchSize=batch_size)
            if not batch:
                return
            guard.page(_keys(batch), _label(name, {}, StartNumber=start), known_total)
            yield batch
            start += len(batch)

    def product_batches(self, batch_size: int) -> Iterator[list[dict[str, Any]]]:
        """Yield every product, `BatchSize`/`BatchPage` at a time (StartNumber is deprecated).

        Pages are numbered, not offset, so a short page before the count would skip the products after
        it: it is read again (with the count) and then fails the source.
        """
        yield from self._read_to_count(
            "GetProducts",
            self.count("GetProductCount"),
            {},
            "BatchPage",
            lambda _read, batches: {
                "PrimaryCategory": settings.ALL_CATEGORIES,
                "BatchSize": batch_size,
                "BatchPage": settings.FIRST_BATCH_PAGE + batches,
            },
            partial(self._short_product_page, batch_size=batch_size),
        )

    def _read_to_count(
        self,
        name: str,
        total: int,
        filters: dict[str, Any],
        paging: str,
        position: Callable[[int, int], dict[str, Any]],
        short: Callable[[int, list[dict[str, Any]]], str | None],
    ) -> Iterator[list[dict[str, Any]]]:
        """Yield the new records of each batch until `total` are read.

        `position(read, batches)` gives a batch's arguments, of which `paging` names it in error lines;
        `short(read, batch)` says what is missing from a batch that holds fewer than the count promises
        (None: nothing is).
        """
        read, batches = 0, 0
        seen: set[str] = set()
        guard = PageGuard(PinnacleCartError, VENDOR)
        while read < total:
            at = position(read, batches)
            label = _label(name, filters, **{paging: at[paging]})
            batch = read_full_page(
                partial(self.records, name, **filters, **at),
                partial(short, read),
                label,
                PinnacleCartError,
                VENDOR,
                self.http.policy,
            )
            if not batch:
                break
            guard.page(_keys(batch), label, total)
            fresh = _unseen(batch, seen)
            if fresh:
                yield fresh
            read, batches = read + len(batch), batches + 1

    def _short_product_page(self, read: int, batch: list[dict[str, Any]], batch_size: int) -> str | None:
        if len(batch) >= batch_size:
            return None
        total = self.count("GetProductCount")
        if read + len(batch) >= total:
            return None
        return (
            f"{len(batch)} products in a page of {batch_size} though GetProductCount says {total} and "
            f"{read} were read before it (if the shop caps BatchSize, set batch_size to that cap)"
        )


VENDOR = "the shop"
KEY_FIELDS = ("OrderId", "UserId", "PID")


def _keys(batch: list[dict[str, Any]]) -> list[str | None]:
    """Return each record's key (`OrderId`, `UserId` or `PID`), for telling a repeated page."""
    return [record_key(r) for r in batch]


def _label(name: str, filters: dict[str, Any], **position: Any) -> str:
    """Return how errors name a call: `GetOrders LastOrder=1234 StartNumber=500` (never the URL)."""
    return " ".join([name, *(f"{k}={v}" for k, v in {**filters, **position}.items())])


def _unseen(batch: list[dict[str, Any]], seen: set[str]) -> list[dict[str, Any]]:
    """Keep one copy per record (the last in a batch) and drop records already read in this pass: when
    the list shifts while we page, or the shop lists a record twice, its child rows must load once."""
    return drop_repeats(batch, seen, record_key)


def record_key(record: dict[str, Any]) -> str | None:
    """Return `OrderId=..`, `UserId=..` or `PID=..`: the key of any record this API lists."""
    return next((f"{f}={record[f]}" for f in KEY_FIELDS if record.get(f) not in (None, "")), None)
