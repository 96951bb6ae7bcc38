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

from sources.http import redact_errors
from sources.memory import release_freed_memory
from sources.pinnacle_cart import settings
from sources.pinnacle_cart.client import PinnacleCartClient, PinnacleCartError
from sources.pinnacle_cart.fields import (
    ADDRESS,
    CUSTOMER_FIELDS,
    ORDER_FIELDS,
    ORDER_ITEM_FIELDS,
    ORDER_ITEM_OPTION_FIELDS,
    PRODUCT_FIELDS,
    PRODUCT_OPTION_FIELDS,
    TOMBSTONE_HINT,
    column_hints,
)
from sources.pinnacle_cart.sync import OrderReadStats, needs_full_read, read_orders
from sources.pinnacle_cart.tables import (
    RecordError,
    TableBuilder,
    category_table,
    customer_tables,
    inventory_table,
    order_tables,
    product_tables,
)


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
) -> Sequence[DltResource]:
    """Return the Pinnacle Cart resources, configured from `[sources.pinnacle_cart]`."""
    client = PinnacleCartClient(api_url, username, password, token, api_type)
    try:
        builder = TableBuilder(shop_timezone)
    except (ValueError, KeyError):
        raise PinnacleCartError(
            "config",
            f"unknown shop_timezone {shop_timezone!r}",
            "set SOURCES__PINNACLE_CART__SHOP_TIMEZONE to an IANA zone such as America/New_York",
        ) from None
    client.version()  # one cheap call: a wrong URL or credentials fail here, before any table is touched
    return (
        orders(client, builder, order_lookback_days, full_refresh_every_days, batch_size, full_refresh),
        customers(client, builder, batch_size, full_refresh),
        products(client, builder, batch_size, full_refresh),
        categories(client),
        inventory(client, builder, batch_size),
    )


def _parent_hints(table: str, disposition: str, primary_key: str, columns: dict[str, Any]) -> Any:
    return dlt.mark.make_hints(
        table_name=table,
        write_disposition=disposition,  # type: ignore[arg-type]
        primary_key=primary_key,
        columns=columns,
    )


def _hints(table: str, disposition: str, merge_key: str, columns: dict[str, Any]) -> Any:
    """Hints of a child table, replaced as a set per parent through `merge_key`.

    Its rows are unique by construction (each parent is read once per run), and it deliberately has no
    primary key: dlt would delete with `key = .. OR merge_key = ..`, a nested-loop join (see pinogy).
    """
    return dlt.mark.make_hints(
        table_name=table,
        write_disposition=disposition,  # type: ignore[arg-type]
        merge_key=merge_key,
        # hard_delete only means something to a merge (dlt warns about it on replace).
        columns={**columns, **TOMBSTONE_HINT} if disposition == "merge" else columns,
    )


# Table hints are set per table variant below: hints on the decorator would leak into the child tables.
@dlt.resource(name="orders", write_disposition="merge")
@redact_errors
def orders(
    client: PinnacleCartClient,
    builder: TableBuilder,
    lookback_days: int,
    full_refresh_every_days: int,
    batch_size: int,
    full_refresh: bool = False,
) -> Iterator[Any]:
    """Orders placed since the last run plus those of the look-back window, each with items and options."""
    state = dlt.current.resource_state()
    now = datetime.now(UTC)
    full = needs_full_read(state, now, full_refresh, full_refresh_every_days)
    disposition: Literal["replace", "merge"] = "replace" if full else "merge"
    order_hints = _parent_hints("orders", disposition, "order_id", column_hints(ORDER_FIELDS))
    item_hints = _hints("order_items", disposition, "order_id", column_hints(ORDER_ITEM_FIELDS))
    option_hints = _hints(
        "order_item_options", disposition, "order_id", column_hints(ORDER_ITEM_OPTION_FIELDS)
    )
    stats = OrderReadStats()
    for batch in read_orders(client, state, full, lookback_days, batch_size, stats):
        order_table, item_table, option_table = _tables(order_tables, builder, batch, not full, "GetOrders")
        yield dlt.mark.with_hints(order_table, order_hints, create_table_variant=True)
        yield dlt.mark.with_hints(item_table, item_hints, create_table_variant=True)
        yield dlt.mark.with_hints(option_table, option_hints, create_table_variant=True)
    release_freed_memory()  # the load step into DuckDB starts from what extract still holds
    # Reached only when every batch was read: dlt commits this state with the data it describes.
    if full:
        state["last_full_read_at"] = now.isoformat()
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


@dlt.resource(name="customers", write_disposition="merge")
@redact_errors
def customers(
    client: PinnacleCartClient, builder: TableBuilder, batch_size: int, full_refresh: bool
) -> Iterator[Any]:
    """Every customer with their address book (the API has no change filter), merged on `user_id`."""
    state = dlt.current.resource_state()
    disposition = _full_read_disposition(state, full_refresh)
    customer_hints = _parent_hints("customers", disposition, "user_id", column_hints(CUSTOMER_FIELDS))
    address_hints = _hints("customer_addresses", disposition, "user_id", column_hints(ADDRESS))
    for batch in client.offset_batches("GetCustomers", "GetCustomerCount", batch_size):
        customer_table, address_table = _tables(
            customer_tables, builder, batch, disposition == "merge", "GetCustomers"
        )
        yield dlt.mark.with_hints(customer_table, customer_hints, create_table_variant=True)
        yield dlt.mark.with_hints(address_table, address_hints, create_table_variant=True)
    state["api_count"] = client.counts["GetCustomerCount"]


@dlt.resource(name="products", write_disposition="merge")
@redact_errors
def products(
    client: PinnacleCartClient, builder: TableBuilder, batch_size: int, full_refresh: bool
) -> Iterator[Any]:
    """Every product (all categories) with its option tree flattened, merged on `pid`."""
    state = dlt.current.resource_state()
    disposition = _full_read_disposition(state, full_refresh)
    product_hints = _parent_hints("products", disposition, "pid", column_hints(PRODUCT_FIELDS))
    option_hints = _hints("product_options", disposition, "pid", column_hints(PRODUCT_OPTION_FIELDS))
    for batch in client.product_batches(batch_size):
        product_table, option_table = _tables(
            product_tables, builder, batch, disposition == "merge", "GetProducts"
        )
        yield dlt.mark.with_hints(product_table, product_hints, create_table_variant=True)
        yield dlt.mark.with_hints(option_table, option_hints, create_table_variant=True)
    state["api_count"] = client.counts["GetProductCount"]


@dlt.resource(name="categories", primary_key="category_id", write_disposition="replace")
@redact_errors
def categories(client: PinnacleCartClient) -> Iterator[pa.Table]:
    """The category tree, flattened with a parent reference; small, so replaced every run."""
    tree = client.records("GetCategories")
    try:
        yield category_table(tree)
    except RecordError as exc:
        raise PinnacleCartError("GetCategories", str(exc), "report the category to the shop") from None


@dlt.resource(
    name="inventory",
    primary_key=["snapshot_date", "pid"],
    merge_key="snapshot_date",
    write_disposition="merge",
    columns=column_hints([("snapshot_at", "", "ts")]),
)
@redact_errors
def inventory(client: PinnacleCartClient, builder: TableBuilder, batch_size: int) -> Iterator[pa.Table]:
    """Today's stock of every product: one snapshot per day (a rerun replaces the day's rows as a set)."""
    snapshot_at = snapshot_clock()
    # Resources are read in turn, so `products` has counted the catalogue before this one starts; without
    # that count (inventory read alone) the read ends on an empty batch.
    known_total = client.counts.get("GetProductCount")
    for batch in client.batches_until_empty("GetInventory", batch_size, known_total):
        try:
            yield inventory_table(builder, batch, snapshot_at.date(), snapshot_at)
        except RecordError as exc:
            raise PinnacleCartError("GetInventory", str(exc), "report the record to the shop") from None


def snapshot_clock() -> datetime:
    """Return the moment an inventory snapshot is taken (UTC); its date is the snapshot's key."""
    return datetime.now(UTC)


def _full_read_disposition(state: Any, full_refresh: bool) -> Literal["replace", "merge"]:
    """Replace on the first run and on `--full-refresh` (drops what vanished upstream); merge otherwise."""
    return "replace" if full_refresh or "api_count" not in state else "merge"


def _tables(
    build: Any, builder: TableBuilder, batch: list[dict[str, Any]], tombstones: bool, call: str
) -> Any:
    try:
        return build(builder, batch, tombstones)
    except RecordError as exc:
        raise PinnacleCartError(
            call, str(exc), "report the record to the shop; the run stopped before loading it"
        ) from None
