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

from sources.integrity import CursorClock, Rejects, drop_repeats
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
    clock: CursorClock = field(default_factory=lambda: CursorClock(settings.SOURCE_NAME))
    rejects: Rejects = field(default_factory=lambda: Rejects(settings.SOURCE_NAME))


def parse_ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def opened_on(po: dict[str, Any]) -> datetime | None:
    """Return a PO's `opened_on`, or None when it is not a readable timestamp (e.g. a negative year)."""
    try:
        moment = parse_ts(po["opened_on"])
    except (TypeError, ValueError, AttributeError, KeyError):
        return None
    return moment if moment.tzinfo is not None else None


def readable(page: list[dict[str, Any]], stats: ReadStats) -> list[dict[str, Any]]:
    """Return the POs of `page` whose `opened_on` can be read; reject the others by name.

    `opened_on` orders the walk and moves the cursor, so it is checked before anything else.
    """
    good = [po for po in page if opened_on(po) is not None]
    if len(good) < len(page):
        for po in page:
            if opened_on(po) is None:
                stats.rejects.add(
                    "purchase_orders", po.get("id"), "opened_on", po.get("opened_on"), "not an ISO timestamp"
                )
    return good


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
        edge = opened_on(page[-1])
        return edge is not None and edge >= horizon

    for raw_page in client.purchase_order_pages(
        settings.ORDER_BY_OPENED_ON, "desc", page_size, read_ahead=inside_window
    ):
        stats.pages += 1
        page = readable(raw_page, stats)
        if not page:
            continue
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
    """Record a batch in `stats` and return it with one copy per PO: the last within the batch, none for
    a PO already read this run (offsets can shift), none whose `opened_on` is unreadable (rejected)."""
    stats.progress.page(len(pos))
    pos = drop_repeats(readable(pos, stats), stats.read_ids, _po_id)
    newest = parse_ts(stats.max_opened_on) if stats.max_opened_on else None
    for po in pos:
        stats.pos += 1
        if po.get("is_open"):
            stats.seen_open[str(po["id"])] = po["opened_on"]
        else:
            stats.seen_open.pop(str(po["id"]), None)
        moment = stats.clock.clamp(parse_ts(po["opened_on"]), f"purchase order {po['id']}", "opened_on")
        if newest is None or moment > newest:
            newest = moment
            stats.max_opened_on = (
                po["opened_on"] if moment == parse_ts(po["opened_on"]) else moment.isoformat()
            )
    return pos


def _po_id(po: dict[str, Any]) -> Any:
    return po.get("id")
