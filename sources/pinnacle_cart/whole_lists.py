"""Customers and products: lists the API has no change filter for, read whole every run.

Each is read into a parent and a child table (a customer's address book, a product's option tree), merged
on the parent's key; the first run and `--full-refresh` replace them, dropping what vanished upstream.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import dlt
import pyarrow as pa

from sources.contract import child_hints, parent_hints
from sources.integrity import Rejects
from sources.pinnacle_cart import settings
from sources.pinnacle_cart.client import PinnacleCartClient
from sources.pinnacle_cart.columns import TableBuilder
from sources.pinnacle_cart.fields import (
    ADDRESS,
    CUSTOMER_FIELDS,
    PRODUCT_FIELDS,
    PRODUCT_OPTION_FIELDS,
    Fields,
    column_hints,
)
from sources.pinnacle_cart.guards import batch_tables, check_shrink
from sources.pinnacle_cart.tables import customer_tables, product_tables
from sources.shrink import ShrinkGuard


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


def read_in_full(
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
    disposition = full_read_disposition(state, full_refresh)
    hints = (
        parent_hints(parent, disposition, spec.key, column_hints(spec.parent_fields)),
        child_hints(spec.child, disposition, spec.key, column_hints(spec.child_fields)),
    )
    rejects = Rejects(settings.SOURCE_NAME)
    read = 0
    for batch in spec.batches(client, batch_size):
        found = batch_tables(spec.build, builder, batch, disposition == "merge", call, rejects, parent)
        read += len(batch)
        if found is None:
            continue
        yield dlt.mark.with_hints(found[0], hints[0], create_table_variant=True)
        yield dlt.mark.with_hints(found[1], hints[1], create_table_variant=True)
    yield from rejects.flush()
    if disposition == "replace":
        check_shrink(shrink, f"{call} (full read)", parent, read, client, count_call)
    state["api_count"] = client.counts[count_call]


def full_read_disposition(state: Any, full_refresh: bool) -> Literal["replace", "merge"]:
    """Replace on the first run and on `--full-refresh` (drops what vanished upstream); merge otherwise."""
    return "replace" if full_refresh or "api_count" not in state else "merge"
