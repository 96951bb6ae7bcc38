"""Which purchase orders a run reads: everything, or only what can have changed since the last run.

State (dlt resource state, so it travels with the data and is restored from the warehouse):
`max_opened_on` (newest PO seen), `open_pos` ({id: opened_on} of POs open at the last run) and
`last_full_refresh_at`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sources.pinogy import settings
from sources.pinogy.client import PinogyClient
from sources.progress import ProgressLog
from sources.schedule import full_read_due

log = logging.getLogger("retail.pinogy")


@dataclass
class ReadStats:
    mode: str = "incremental"
    pages: int = 0
    single_reads: int = 0
    pos: int = 0
    vanished_open_pos: int = 0
    seen_open: dict[str, str] = field(default_factory=dict)
    max_opened_on: str | None = None
    read_ids: set[int] = field(default_factory=set)
    progress: ProgressLog = field(default_factory=lambda: ProgressLog("pinogy", "purchase orders"))


def parse_ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


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
    """Yield batches of purchase orders (with lines) for this run and record what was seen in `stats`."""
    if full:
        log.info("pinogy: full read of every purchase order (first run, --full-refresh or reconciliation)")
        stats.mode = "full"
        # id order is stable while new POs are appended, so offsets do not shift under us.
        for page in client.purchase_order_pages("id", "asc", page_size, read_ahead=_always):
            stats.pages += 1
            yield _seen(page, stats)
        return

    cutoff = parse_ts(state["max_opened_on"]) - lookback
    previously_open: dict[str, str] = dict(state.get("open_pos") or {})
    log.info(
        "pinogy: incremental read: POs opened since %s, plus %d open at the last run",
        cutoff.isoformat(timespec="seconds"),
        len(previously_open),
    )
    seen_ids: set[str] = set()
    horizon = cutoff
    first_edge: datetime | None = None
    n_paged = 0

    def inside_window(page: list[dict[str, Any]]) -> bool:  # then the next page is surely wanted too
        return parse_ts(page[-1]["opened_on"]) >= horizon

    for page in client.purchase_order_pages(
        settings.ORDER_BY_OPENED_ON, "desc", page_size, read_ahead=inside_window
    ):
        stats.pages += 1
        n_paged += len(page)
        first_edge = first_edge or parse_ts(page[0]["opened_on"])
        edge = parse_ts(page[-1]["opened_on"])
        crossed = edge < horizon
        if crossed:  # past the window: page on only while that is cheaper than reading open POs one by one
            page_ids = {str(po["id"]) for po in page}
            remaining = [parse_ts(o) for i, o in _remaining(previously_open, seen_ids | page_ids)]
            rate = n_paged / max((first_edge - edge).total_seconds(), 1.0)
            further = open_po_horizon(remaining, edge, rate, page_size) if remaining else None
            if further is not None and further < edge:
                horizon, crossed = further, False
        keep = [po for po in page if parse_ts(po["opened_on"]) >= cutoff or str(po["id"]) in previously_open]
        seen_ids.update(str(po["id"]) for po in keep)
        if keep:
            yield _seen(keep, stats)
        if crossed:
            break
    singles: list[dict[str, Any]] = []  # one batch, not one table per PO: each batch costs dlt ~5 ms
    for po_id, _ in _remaining(previously_open, seen_ids):
        stats.single_reads += 1
        po = client.purchase_order(int(po_id))
        if po is None:
            stats.vanished_open_pos += 1
            continue
        singles.append(po)
        if len(singles) >= page_size:
            yield _seen(singles, stats)
            singles = []
    if singles:
        yield _seen(singles, stats)
    if stats.vanished_open_pos:
        log.warning(
            "pinogy: %d purchase orders open at the last run no longer exist; run with "
            "--full-refresh to reconcile",
            stats.vanished_open_pos,
        )


def _always(_page: list[dict[str, Any]]) -> bool:
    return True


def _remaining(previously_open: dict[str, str], seen: set[str]) -> list[tuple[str, str]]:
    left = [(po_id, opened) for po_id, opened in previously_open.items() if po_id not in seen]
    return sorted(left, key=lambda item: parse_ts(item[1]), reverse=True)


def _seen(pos: list[dict[str, Any]], stats: ReadStats) -> list[dict[str, Any]]:
    """Record a batch in `stats` and return it without POs already read this run (offsets can shift)."""
    stats.progress.page(len(pos))
    pos = [po for po in pos if po["id"] not in stats.read_ids]
    stats.read_ids.update(po["id"] for po in pos)
    for po in pos:
        stats.pos += 1
        if po.get("is_open"):
            stats.seen_open[str(po["id"])] = po["opened_on"]
        else:
            stats.seen_open.pop(str(po["id"]), None)
        if stats.max_opened_on is None or parse_ts(po["opened_on"]) > parse_ts(stats.max_opened_on):
            stats.max_opened_on = po["opened_on"]
    return pos
