"""Pinnacle Cart (the web shop): orders, customers, products, categories and inventory, as Arrow tables.

Tables (schema `pinnacle_cart`):
- `orders` (key `order_id`, billing and shipping flattened); `order_items` (key `order_id`,
  `line_number`) and `order_item_options` (key `order_id`, `line_number`, `option_number`), both
  replaced as a set when their order reloads (merge key `order_id`).
- `customers` (key `user_id`, billing flattened); `customer_addresses` (their address book, key
  `user_id`, `address_number`, replaced as a set per customer).
- `products` (key `pid`); `product_options` (the recursive option tree, one row per node, key `pid`,
  `option_key`, with `parent_option_key`), replaced as a set per product.
- `categories` (key `category_id`, with `parent_category_id`): the tree, replaced every run.
- `inventory` (key `snapshot_date`, `pid`): one snapshot of `qoh` per day; a second run the same day
  replaces that day's snapshot, earlier days stay.

Orders are incremental (see `sync.py`); customers and products have no change filter in the API and are
read in full every run and merged; `--full-refresh` replaces them (dropping what vanished upstream).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

import dlt
import pyarrow as pa
from dlt.sources import DltResource

from sources.contract import RecordError, child_hints, parent_hints
from sources.http import CallCounter, redact_errors
from sources.integrity import DEFAULT_CURSOR_TOLERANCE_HOURS, CursorClock, Rejects, drop_repeats
from sources.memory import release_freed_memory
from sources.pinnacle_cart import settings
from sources.pinnacle_cart.batches import record_key
from sources.pinnacle_cart.client import PinnacleCartClient, PinnacleCartError
from sources.pinnacle_cart.columns import TableBuilder
from sources.pinnacle_cart.fields import (
    ORDER_FIELDS,
    ORDER_ITEM_FIELDS,
    ORDER_ITEM_OPTION_FIELDS,
    column_hints,
)
from sources.pinnacle_cart.guards import batch_tables, check_shrink, closing_client
from sources.pinnacle_cart.sync import OrderReadStats, needs_full_read, parse_shop_date, read_orders
from sources.pinnacle_cart.tables import category_table, inventory_table, order_tables
from sources.pinnacle_cart.whole_lists import CUSTOMERS, PRODUCTS, read_in_full
from sources.shrink import DEFAULT_MAX_SHRINK, ShrinkGuard


@dlt.source(name=settings.SOURCE_NAME, max_table_nesting=0)
def pinnacle_cart_source(
    api_url: str = dlt.config.value,
    username: str = dlt.secrets.value,
    password: str = dlt.secrets.value,
    token: str = dlt.secrets.value,
    api_type: str = settings.DEFAULT_API_TYPE,
    batch_size: int = settings.DEFAULT_BATCH_SIZE,
    order_lookback_days: int = settings.DEFAULT_ORDER_LOOKBACK_DAYS,
    full_refresh_every_days: int = settings.DEFAULT_FULL_REFRESH_EVERY_DAYS,
    shop_timezone: str = settings.DEFAULT_SHOP_TIMEZONE,
    full_refresh: bool = False,
    cursor_tolerance_hours: float = DEFAULT_CURSOR_TOLERANCE_HOURS,
    max_shrink: float = DEFAULT_MAX_SHRINK,
    allow_shrink: bool = False,
    counter: CallCounter | None = None,
) -> Sequence[DltResource]:
    """Return the Pinnacle Cart resources, from `[sources.pinnacle_cart]`; `counter` counts their calls."""
    client = PinnacleCartClient(api_url, username, password, token, api_type, counter)
    try:
        builder = TableBuilder(shop_timezone)
    except (ValueError, KeyError):
        raise PinnacleCartError(
            "config",
            f"unknown shop_timezone {shop_timezone!r}",
            "set SOURCES__PINNACLE_CART__SHOP_TIMEZONE to an IANA zone such as America/New_York",
        ) from None
    client.version()  # one cheap call: a wrong URL or credentials fail here, before any table is touched
    shrink = ShrinkGuard(max_shrink, allow_shrink)
    return (
        orders(
            client,
            builder,
            order_lookback_days,
            full_refresh_every_days,
            batch_size,
            full_refresh,
            cursor_tolerance_hours,
            shrink,
        ),
        customers(client, builder, batch_size, full_refresh, shrink, CUSTOMERS),
        products(client, builder, batch_size, full_refresh, shrink, PRODUCTS),
        categories(client, shrink),
        inventory(client, builder, batch_size),
    )


# Table hints are set per table variant below: hints on the decorator would leak into the child tables.
@dlt.resource(name="orders", write_disposition="merge")
@redact_errors
@closing_client
def orders(
    client: PinnacleCartClient,
    builder: TableBuilder,
    lookback_days: int,
    full_refresh_every_days: int,
    batch_size: int,
    full_refresh: bool = False,
    cursor_tolerance_hours: float = DEFAULT_CURSOR_TOLERANCE_HOURS,
    shrink: ShrinkGuard | None = None,
) -> Iterator[Any]:
    """Orders placed since the last run plus those of the look-back window, each with items and options."""
    state = dlt.current.resource_state()
    now = datetime.now(UTC)
    # The look-back anchor is a shop-local date: it may not pass the shop's clock plus the tolerance.
    clock = CursorClock(settings.SOURCE_NAME, cursor_tolerance_hours, now, builder.zone)
    saved = parse_shop_date(state.get("newest_date") or "")
    full = needs_full_read(state, now, full_refresh, full_refresh_every_days) or clock.saved_in_future(
        saved, "look-back anchor newest_date"
    )
    disposition: Literal["replace", "merge"] = "replace" if full else "merge"
    order_hints = parent_hints("orders", disposition, "order_id", column_hints(ORDER_FIELDS))
    item_hints = child_hints("order_items", disposition, "order_id", column_hints(ORDER_ITEM_FIELDS))
    option_hints = child_hints(
        "order_item_options", disposition, "order_id", column_hints(ORDER_ITEM_OPTION_FIELDS)
    )
    stats = OrderReadStats(clock=clock)
    rejects = Rejects(settings.SOURCE_NAME)
    for batch in read_orders(client, state, full, lookback_days, batch_size, stats):
        tables = batch_tables(order_tables, builder, batch, not full, "GetOrders", rejects, "orders")
        if tables is None:
            continue
        yield dlt.mark.with_hints(tables[0], order_hints, create_table_variant=True)
        yield dlt.mark.with_hints(tables[1], item_hints, create_table_variant=True)
        yield dlt.mark.with_hints(tables[2], option_hints, create_table_variant=True)
    clock.report_future()
    yield from rejects.flush()
    if full:  # a full read replaces orders: refuse one that holds clearly fewer than before
        check_shrink(shrink, "GetOrders (full read)", "orders", len(stats.seen), client, "GetOrderCount")
    release_freed_memory()  # the load step into DuckDB starts from what extract still holds
    # Reached only when every batch was read: dlt commits this state with the data it describes.
    if full:  # a full read resets both positions to what it saw
        state["last_full_read_at"] = now.isoformat()
        state["last_order_id"] = stats.max_order_id or 0
        state["newest_date"] = stats.newest_date
    if stats.max_order_id is not None and stats.max_order_id > int(state.get("last_order_id") or 0):
        state["last_order_id"] = stats.max_order_id
    state.setdefault("last_order_id", stats.max_order_id or 0)
    if stats.newest_date and (not state.get("newest_date") or stats.newest_date > state["newest_date"]):
        state["newest_date"] = stats.newest_date
    state["last_run"] = {
        "mode": stats.mode,
        "batches": stats.batches,
        "orders": stats.orders,
        "new_orders": stats.new_orders,
        "lookback_days": lookback_days,
    }
    # The API's own total, read by a full read before its orders: the run summary compares it with the
    # warehouse. A night reads no count (it would be the only reason for the call), so it compares none.
    if full:
        state["api_count"] = client.counts["GetOrderCount"]
    else:
        state.pop("api_count", None)


# Customers and products: read whole every run (see `whole_lists.py`).
customers = dlt.resource(name="customers", write_disposition="merge")(
    redact_errors(closing_client(read_in_full))
)
products = dlt.resource(name="products", write_disposition="merge")(
    redact_errors(closing_client(read_in_full))
)


@dlt.resource(name="categories", primary_key="category_id", write_disposition="replace")
@redact_errors
@closing_client
def categories(client: PinnacleCartClient, shrink: ShrinkGuard | None = None) -> Iterator[pa.Table]:
    """The category tree, flattened with a parent reference; small, so replaced every run."""
    tree = client.records("GetCategories")
    try:
        table = category_table(tree)
    except RecordError as exc:
        raise PinnacleCartError("GetCategories", str(exc), "report the category to the shop") from None
    # The API has no count of categories: the warehouse's tree is what a short reply is measured against.
    check_shrink(shrink, "GetCategories", "categories", table.num_rows, client, None)
    yield table


# Hints per table variant, as above: on the decorator they would leak into the `rejects` table.
@dlt.resource(name="inventory", write_disposition="merge")
@redact_errors
@closing_client
def inventory(client: PinnacleCartClient, builder: TableBuilder, batch_size: int) -> Iterator[Any]:
    """Today's stock of every product: one snapshot per day (a rerun replaces the day's rows as a set)."""
    hints = dlt.mark.make_hints(
        table_name="inventory",
        primary_key=["snapshot_date", "pid"],
        merge_key="snapshot_date",
        write_disposition="merge",
        columns=column_hints([("snapshot_at", "", "ts")]),
    )
    snapshot_at = snapshot_clock()
    # Resources are read in turn, so `products` has counted the catalogue before this one starts; without
    # that count (inventory read alone) the read ends on an empty batch.
    known_total = client.counts.get("GetProductCount")
    rejects, seen = Rejects(settings.SOURCE_NAME), set()  # type: ignore[var-annotated]

    def build(_builder: TableBuilder, rows: list[dict[str, Any]], _tombstones: bool) -> pa.Table:
        return inventory_table(builder, rows, snapshot_at.date(), snapshot_at)

    for batch in client.batches_until_empty("GetInventory", batch_size, known_total):
        table = batch_tables(
            build, builder, drop_repeats(batch, seen, record_key), False, "GetInventory", rejects, "inventory"
        )
        if table is not None:
            yield dlt.mark.with_hints(table, hints, create_table_variant=True)
    yield from rejects.flush()


def snapshot_clock() -> datetime:
    """Return the moment an inventory snapshot is taken (UTC); its date is the snapshot's key."""
    return datetime.now(UTC)
