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

import functools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, ParamSpec, TypeVar, cast

import dlt
import pyarrow as pa
from dlt.sources import DltResource

from sources.contract import RecordError, child_hints, parent_hints, screened
from sources.http import CallCounter, redact_errors
from sources.integrity import DEFAULT_CURSOR_TOLERANCE_HOURS, CursorClock, Rejects, drop_repeats
from sources.memory import release_freed_memory
from sources.pinnacle_cart import settings
from sources.pinnacle_cart.client import PinnacleCartClient, PinnacleCartError, record_key
from sources.pinnacle_cart.columns import TableBuilder
from sources.pinnacle_cart.fields import (
    ADDRESS,
    CUSTOMER_FIELDS,
    ORDER_FIELDS,
    ORDER_ITEM_FIELDS,
    ORDER_ITEM_OPTION_FIELDS,
    PRODUCT_FIELDS,
    PRODUCT_OPTION_FIELDS,
    Fields,
    column_hints,
)
from sources.pinnacle_cart.sync import OrderReadStats, needs_full_read, parse_shop_date, read_orders
from sources.pinnacle_cart.tables import (
    category_table,
    customer_tables,
    inventory_table,
    order_tables,
    product_tables,
)
from sources.shrink import DEFAULT_MAX_SHRINK, ShrinkGuard, held_rows

P = ParamSpec("P")
T = TypeVar("T")


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


def _closing(resource: Callable[P, Iterator[T]]) -> Callable[P, Iterator[T]]:
    """Close the client's connections when the resource ends, however it ends.

    The resources share one client and run in turn; a closed session opens a new connection when the
    next resource calls, so the last resource to end leaves nothing open.
    """

    @functools.wraps(resource)
    def closing(*args: P.args, **kwargs: P.kwargs) -> Iterator[T]:
        with cast(PinnacleCartClient, args[0]):  # every resource takes the client first
            yield from resource(*args, **kwargs)

    return closing


# Table hints are set per table variant below: hints on the decorator would leak into the child tables.
@dlt.resource(name="orders", write_disposition="merge")
@redact_errors
@_closing
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
        tables = _tables(order_tables, builder, batch, not full, "GetOrders", rejects, "orders")
        if tables is None:
            continue
        yield dlt.mark.with_hints(tables[0], order_hints, create_table_variant=True)
        yield dlt.mark.with_hints(tables[1], item_hints, create_table_variant=True)
        yield dlt.mark.with_hints(tables[2], option_hints, create_table_variant=True)
    clock.report_future()
    yield from rejects.flush()
    if full:  # a full read replaces orders: refuse one that holds clearly fewer than before
        _check_shrink(shrink, "GetOrders (full read)", "orders", len(stats.seen), client, "GetOrderCount")
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


@dataclass(frozen=True)
class WholeList:
    """A list the API has no change filter for, read whole every run into a parent and a child table."""

    call: str  # the list call; its count call is named after it (GetCustomers: GetCustomerCount)
    parent: str
    parent_fields: Fields
    key: str  # the parent's primary key, the child's merge key
    child: str
    child_fields: Fields
    build: Callable[..., tuple[pa.Table, pa.Table]]

    @property
    def count_call(self) -> str:
        return f"{self.call[:-1]}Count"

    def batches(self, client: PinnacleCartClient, batch_size: int) -> Iterator[list[dict[str, Any]]]:
        if self.call == "GetProducts":  # products page by BatchPage, every category at once
            return client.product_batches(batch_size)
        return client.offset_batches(self.call, self.count_call, batch_size)


# Every customer with their address book, merged on `user_id`.
CUSTOMERS = WholeList(
    "GetCustomers", "customers", CUSTOMER_FIELDS, "user_id", "customer_addresses", ADDRESS, customer_tables
)
# Every product (all categories) with its option tree flattened, merged on `pid`.
PRODUCTS = WholeList(
    "GetProducts", "products", PRODUCT_FIELDS, "pid", "product_options", PRODUCT_OPTION_FIELDS, product_tables
)


def _read_in_full(
    client: PinnacleCartClient,
    builder: TableBuilder,
    batch_size: int,
    full_refresh: bool,
    shrink: ShrinkGuard | None,
    spec: WholeList,
) -> Iterator[Any]:
    """Read a whole list into its parent and child tables; merge, or replace on a full refresh."""
    call, count_call, parent = spec.call, spec.count_call, spec.parent
    state = dlt.current.resource_state()
    disposition = _full_read_disposition(state, full_refresh)
    hints = (
        parent_hints(parent, disposition, spec.key, column_hints(spec.parent_fields)),
        child_hints(spec.child, disposition, spec.key, column_hints(spec.child_fields)),
    )
    rejects = Rejects(settings.SOURCE_NAME)
    read = 0
    for batch in spec.batches(client, batch_size):
        found = _tables(spec.build, builder, batch, disposition == "merge", call, rejects, parent)
        read += len(batch)
        if found is None:
            continue
        yield dlt.mark.with_hints(found[0], hints[0], create_table_variant=True)
        yield dlt.mark.with_hints(found[1], hints[1], create_table_variant=True)
    yield from rejects.flush()
    if disposition == "replace":
        _check_shrink(shrink, f"{call} (full read)", parent, read, client, count_call)
    state["api_count"] = client.counts[count_call]


customers = dlt.resource(name="customers", write_disposition="merge")(redact_errors(_closing(_read_in_full)))
products = dlt.resource(name="products", write_disposition="merge")(redact_errors(_closing(_read_in_full)))


@dlt.resource(name="categories", primary_key="category_id", write_disposition="replace")
@redact_errors
@_closing
def categories(client: PinnacleCartClient, shrink: ShrinkGuard | None = None) -> Iterator[pa.Table]:
    """The category tree, flattened with a parent reference; small, so replaced every run."""
    tree = client.records("GetCategories")
    try:
        table = category_table(tree)
    except RecordError as exc:
        raise PinnacleCartError("GetCategories", str(exc), "report the category to the shop") from None
    # The API has no count of categories: the warehouse's tree is what a short reply is measured against.
    _check_shrink(shrink, "GetCategories", "categories", table.num_rows, client, None)
    yield table


# Hints per table variant, as above: on the decorator they would leak into the `rejects` table.
@dlt.resource(name="inventory", write_disposition="merge")
@redact_errors
@_closing
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
        table = _tables(
            build, builder, drop_repeats(batch, seen, record_key), False, "GetInventory", rejects, "inventory"
        )
        if table is not None:
            yield dlt.mark.with_hints(table, hints, create_table_variant=True)
    yield from rejects.flush()


def snapshot_clock() -> datetime:
    """Return the moment an inventory snapshot is taken (UTC); its date is the snapshot's key."""
    return datetime.now(UTC)


def _check_shrink(
    shrink: ShrinkGuard | None,
    call: str,
    table: str,
    read: int,
    client: PinnacleCartClient,
    count_call: str | None,
) -> None:
    """Refuse a replacing read that holds clearly fewer records than the API counts or the warehouse."""
    api_count = client.counts.get(count_call) if count_call else None
    (shrink or ShrinkGuard()).check(
        PinnacleCartError, call, table, read, held=held_rows(table), api_count=api_count
    )


def _full_read_disposition(state: Any, full_refresh: bool) -> Literal["replace", "merge"]:
    """Replace on the first run and on `--full-refresh` (drops what vanished upstream); merge otherwise."""
    return "replace" if full_refresh or "api_count" not in state else "merge"


def _tables(
    build: Any,
    builder: TableBuilder,
    batch: list[dict[str, Any]],
    tombstones: bool,
    call: str,
    rejects: Rejects,
    resource: str,
) -> Any:
    """Return the batch's tables (None when every record was rejected).

    A record with an unreadable value is rejected whole, children included (they are replaced as a set),
    and named in `pinnacle_cart.rejects`; a record whose key is missing or unreadable fails the source.
    """
    try:
        return screened(lambda some: build(builder, some, tombstones), batch, rejects, resource, _record_id)
    except RecordError as exc:
        raise PinnacleCartError(
            call, str(exc), "report the record to the shop; the run stopped before loading it"
        ) from None


def _record_id(record: dict[str, Any]) -> Any:
    return (record_key(record) or "?").split("=", 1)[-1]
