"""Which purchase orders a run reads: everything, or only what can have changed since the last run.

A night reads the heads of three server-side orders (see `walks.py`): new POs, open POs, POs closed
since the last run. What those miss (a server that ignores `order_by`) is reached as before: the
newest-first walk pages on while that is cheaper than reading open POs one by one.

State (dlt resource state, so it travels with the data and is restored from the warehouse):
`max_opened_on` (newest PO seen), `max_closed_on` (latest closing seen), `open_pos` ({id: opened_on}
of POs open at the last run) and `last_full_refresh_at`.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator, MutableMapping
from datetime import datetime, timedelta
from typing import Any

from sources.contract import parse_ts
from sources.pinogy import settings
from sources.pinogy.client import PinogyClient
from sources.pinogy.read_stats import ReadStats, readable, readable_ts, seen_batch
from sources.pinogy.walks import (
    DescendingCheck,
    WalkResult,
    open_first,
    opened_key,
    recently_closed_first,
)
from sources.schedule import full_read_due

log = logging.getLogger("retail.pinogy")


def needs_full_read(
    state: MutableMapping[str, Any], now: datetime, full_refresh: bool, every_days: int
) -> bool:
    """Return True on the first run, on `--full-refresh`, and when the periodic reconciliation is due."""
    return full_read_due(
        not state.get("max_opened_on"), state.get("last_full_refresh_at"), now, full_refresh, every_days
    )


def open_po_horizon(
    remaining: list[datetime], edge: datetime, pos_per_second: float, page_size: int
) -> datetime | None:
    """Return how far back to keep paging so the open POs left to re-read cost the fewest calls.

    `remaining` holds the opened_on of open POs not yet seen, newest first; `edge` is the oldest opened_on
    read so far. Paging back to `remaining[k]` costs about (edge - remaining[k]) * rate / page_size pages
    and leaves the older ones for one call each. None means: read them all one by one.
    """
    best_cost, best = float(len(remaining)), None
    for k, opened in enumerate(remaining):
        pages = max(0.0, (edge - opened).total_seconds()) * pos_per_second / page_size
        cost = max(1.0, pages) + (len(remaining) - k - 1)
        if cost < best_cost:
            best_cost, best = cost, opened
    return best


def read_purchase_orders(
    client: PinogyClient,
    state: MutableMapping[str, Any],
    full: bool,
    lookback: timedelta,
    page_size: int,
    stats: ReadStats,
) -> Iterator[list[dict[str, Any]]]:
    """Yield batches of purchase orders (with lines) for this run and record what was seen in `stats`.

    `stats.full` is settled before the first batch: a night that turns out to read everything is
    loaded as a full refresh, never merged.
    """
    if full:
        log.info("pinogy: full read of every purchase order (first run, --full-refresh or reconciliation)")
        yield from _read_everything(client, page_size, stats)
        return

    cutoff = parse_ts(state["max_opened_on"]) - lookback
    previously_open: dict[str, str] = dict(state.get("open_pos") or {})
    log.info(
        "pinogy: incremental read: POs opened since %s, plus %d open at the last run",
        cutoff.isoformat(timespec="seconds"),
        len(previously_open),
    )
    horizon: datetime | None = cutoff  # None: no order to stop by, page to the end

    def inside_window(page: list[dict[str, Any]]) -> bool:  # then the next page is surely wanted too
        edge = readable_ts(page[-1].get("opened_on"))
        return horizon is None or (edge is not None and edge >= horizon)

    newest_first = client.purchase_order_pages(
        settings.ORDER_BY_OPENED_ON, "desc", page_size, read_ahead=inside_window
    )
    first = readable(next(newest_first, []), stats)
    opened_order = DescendingCheck(opened_key)
    everything = _why_read_everything(first, opened_order, cutoff, client.last_total, page_size)
    if everything:
        newest_first.close()
        if len(first) >= (client.last_total or 0):  # the one page is the whole list: nothing to add
            stats.full, stats.mode = True, "full"
            stats.pages += 1
            yield seen_batch(first, stats)
            return
        stats.notes.append(everything)
        log.warning("pinogy: %s", everything)
        stats.pages += 1  # the newest-first page that showed it
        yield from _read_everything(client, page_size, stats)
        return

    seen_ids: set[str] = set()

    def keep(batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        seen_ids.update(str(po["id"]) for po in batch)
        return seen_batch(batch, stats)

    def was_open(po: dict[str, Any]) -> bool:
        return str(po["id"]) in previously_open

    def missing() -> bool:
        return bool(_remaining(previously_open, seen_ids))

    # Open POs first: one or two pages however far back in history they were opened.
    open_walk = WalkResult()
    for batch in open_first(client, page_size, was_open, open_walk):
        if batch:
            yield keep(batch)
    # POs open at the last run and closed since: the most recent closings.
    closed_walk = WalkResult()
    if open_walk.honoured and missing() and state.get("max_closed_on"):
        since = parse_ts(state["max_closed_on"]) - lookback
        for batch in recently_closed_first(client, page_size, since, was_open, missing, closed_walk):
            if batch:
                yield keep(batch)
    stats.pages += open_walk.pages + closed_walk.pages
    for order_by, walk in (("is_open", open_walk), ("closed_on", closed_walk)):
        if not walk.honoured:
            stats.notes.append(f"the API ignored order_by={order_by}; fell back to the newest-first walk")
            log.warning("pinogy: %s", stats.notes[-1])

    # New POs, newest first; what is still missing is reached by paging on or one by one (today's walk).
    first_edge: datetime | None = None
    n_paged = 0
    for raw_page in itertools.chain([first] if first else [], newest_first):
        stats.pages += 1
        page = readable(raw_page, stats)
        if not page:
            continue
        n_paged += len(page)
        first_edge = first_edge or parse_ts(page[0]["opened_on"])
        edge = parse_ts(page[-1]["opened_on"])
        if horizon is not None and page is not first and not opened_order.in_order(page):
            stats.notes.append("the API stopped honouring order_by=txn_opened_on; read on to the end")
            log.warning("pinogy: %s", stats.notes[-1])
            horizon = None
        crossed = horizon is not None and edge < horizon
        if crossed:  # past the window: page on only while that is cheaper than reading open POs one by one
            page_ids = {str(po["id"]) for po in page}
            remaining = [parse_ts(o) for i, o in _remaining(previously_open, seen_ids | page_ids)]
            rate = n_paged / max((first_edge - edge).total_seconds(), 1.0)
            further = open_po_horizon(remaining, edge, rate, page_size) if remaining else None
            if further is not None and further < edge:
                horizon, crossed = further, False
        wanted = [
            po for po in page if parse_ts(po["opened_on"]) >= cutoff or str(po["id"]) in previously_open
        ]
        if wanted:
            yield keep(wanted)
        if crossed:
            break
    newest_first.close()
    singles: list[dict[str, Any]] = []  # one batch, not one table per PO: each batch costs dlt ~5 ms
    for po_id, _ in _remaining(previously_open, seen_ids):
        stats.single_reads += 1
        po = client.purchase_order(int(po_id))
        if po is None:
            stats.vanished_open_pos += 1
            continue
        if po.get("is_open") and open_walk.honoured and open_walk.pages:
            open_walk.honoured = False
            stats.notes.append(f"open PO {po_id} was not among the open POs listed first (order_by=is_open)")
        singles.append(po)
        if len(singles) >= page_size:
            yield keep(singles)
            singles = []
    if singles:
        yield keep(singles)
    if stats.vanished_open_pos:
        log.warning(
            "pinogy: %d purchase orders open at the last run no longer exist; run with "
            "--full-refresh to reconcile",
            stats.vanished_open_pos,
        )


def _why_read_everything(
    first: list[dict[str, Any]],
    opened_order: DescendingCheck,
    cutoff: datetime,
    total: int | None,
    page_size: int,
) -> str:
    """Return why this night should read every PO and load them as a full refresh, or "" to walk."""
    if not first:
        return ""
    if not opened_order.in_order(first):
        return "the API ignored order_by=txn_opened_on; read every purchase order (a full refresh)"
    total_pages = -(-(total or 0) // page_size)
    if len(first) >= (total or 0):
        return "the first page holds every purchase order"
    newest, oldest = opened_key(first[0]), opened_key(first[-1])
    if oldest < cutoff:
        return ""
    rate = len(first) / max((newest - oldest).total_seconds(), 1.0)
    pages = (newest - cutoff).total_seconds() * rate / page_size
    if pages >= total_pages:
        return f"POs opened since the last run fill about {pages:.0f} of {total_pages} pages: read them all"
    return ""


def _read_everything(
    client: PinogyClient, page_size: int, stats: ReadStats
) -> Iterator[list[dict[str, Any]]]:
    stats.full, stats.mode = True, "full"
    # id order is stable while new POs are appended, so offsets do not shift under us.
    for page in client.purchase_order_pages("id", "asc", page_size, read_ahead=_always):
        stats.pages += 1
        yield seen_batch(page, stats)


def _always(_page: list[dict[str, Any]]) -> bool:
    return True


def _remaining(previously_open: dict[str, str], seen: set[str]) -> list[tuple[str, str]]:
    left = [(po_id, opened) for po_id, opened in previously_open.items() if po_id not in seen]
    return sorted(left, key=lambda item: parse_ts(item[1]), reverse=True)
