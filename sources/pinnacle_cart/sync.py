"""Which orders a run reads: all of them, or the new ones plus the recent ones that may have changed.

The API offers no "changed since" filter, only `LastOrder` and `LastDate`. Our strategy:
- first run, `--full-refresh`, and every `full_refresh_every_days`: read every order (StartNumber
  paging, which is stable because orders are listed by id and new ones are appended);
- other runs: one read, `LastDate=<newest OrderDate/StatusDate seen> - order_lookback_days`: the orders
  placed since the last run and those of the look-back window again, so status and payment changes to
  recent orders arrive. New orders are dated after the newest date seen, so they are in the window; a
  separate `LastOrder` read would fetch them twice. The doc does not say which date LastDate compares
  with; whether the shop matches OrderDate or StatusDate, orders of the window are re-read. A change to
  an order older than the window is picked up by the periodic full read. The window is anchored on the
  shop's own dates, not our clock, so a time-zone or clock mismatch cannot shift it. Without a date in
  state yet, the night reads `LastOrder=<highest OrderId loaded>` instead. Nights page until a short
  batch, with no `GetOrderCount` (the full read pages to the count, and reports it).

State (dlt resource state, committed with the data it describes): `last_order_id`, `newest_date`
(shop-local text, as the API sends it), `last_full_read_at`.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sources.integrity import CursorClock
from sources.pinnacle_cart import settings
from sources.pinnacle_cart.client import PinnacleCartClient
from sources.schedule import full_read_due


@dataclass
class OrderReadStats:
    mode: str = "incremental"
    batches: int = 0
    orders: int = 0
    new_orders: int = 0  # on a night: placed since the last run; the rest were re-read from the window
    max_order_id: int | None = None
    newest_date: str | None = None
    seen: set[int] = field(default_factory=set)
    clock: CursorClock = field(default_factory=lambda: CursorClock(settings.SOURCE_NAME))


def parse_shop_date(text: str) -> datetime | None:
    """Return a shop-local date (`YYYY-MM-DD HH:MM:SS`) as a naive datetime, or None when unset/invalid."""
    try:
        return datetime.strptime(text.strip(), settings.DATE_FORMAT)
    except ValueError:
        try:
            return datetime.fromisoformat(text.strip()).replace(tzinfo=None)
        except ValueError:
            return None


def needs_full_read(
    state: MutableMapping[str, Any], now: datetime, full_refresh: bool, every_days: int
) -> bool:
    """Return True on the first run, on `--full-refresh`, and when the periodic full read is due."""
    return full_read_due(
        state.get("last_order_id") is None, state.get("last_full_read_at"), now, full_refresh, every_days
    )


def look_back_from(newest_date: str, lookback_days: int) -> str:
    """Return the `LastDate` argument: the newest shop date seen minus the look-back, in the API's format."""
    newest = parse_shop_date(newest_date)
    if newest is None:
        raise ValueError(f"state holds an unreadable date {newest_date!r}")
    return (newest - timedelta(days=lookback_days)).strftime(settings.DATE_FORMAT)


def read_orders(
    client: PinnacleCartClient,
    state: MutableMapping[str, Any],
    full: bool,
    lookback_days: int,
    batch_size: int,
    stats: OrderReadStats,
) -> Iterator[list[dict[str, Any]]]:
    """Yield batches of orders for this run (each order once) and record what was seen in `stats`."""
    if full:
        stats.mode = "full"
        for batch in client.offset_batches("GetOrders", "GetOrderCount", batch_size):
            yield _seen(batch, stats)
        return
    last_order = int(state["last_order_id"])
    filters: dict[str, Any] = {"LastOrder": last_order}
    if state.get("newest_date"):
        filters = {"LastDate": look_back_from(state["newest_date"], lookback_days)}
    for batch in client.filtered_batches("GetOrders", batch_size, **filters):
        stats.new_orders += sum(1 for order in batch if (_order_id(order) or 0) > last_order)
        yield _seen(batch, stats)


def _order_id(order: dict[str, Any]) -> int | None:
    try:
        return int(str(order.get("OrderId")))
    except ValueError:
        return None


def _seen(orders: list[dict[str, Any]], stats: OrderReadStats) -> list[dict[str, Any]]:
    stats.batches += 1
    newest = parse_shop_date(stats.newest_date) if stats.newest_date else None
    for order in orders:
        stats.orders += 1
        order_id = _order_id(order)
        if order_id is not None:
            stats.seen.add(order_id)
            if stats.max_order_id is None or order_id > stats.max_order_id:
                stats.max_order_id = order_id
        for key in ("OrderDate", "StatusDate"):
            moment = parse_shop_date(str(order.get(key) or ""))
            if moment is not None:  # a date past the clock loads, but the anchor stops at the clock
                moment = stats.clock.clamp(moment, f"order {order.get('OrderId')}", key)
            if moment is not None and (newest is None or moment > newest):
                newest = moment
    if newest is not None:
        stats.newest_date = newest.strftime(settings.DATE_FORMAT)
    return orders
