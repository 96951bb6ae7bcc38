"""Parsed Pinnacle Cart records in, typed Arrow tables out, parents and children split (see `fields.py`).

Nested records are flattened with a prefix (`billing_address_city`); arrays become child tables keyed to
their parent, and product options (a recursive tree) become one row per node with a path key and a parent
reference. The values are typed by `columns.TableBuilder`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

import pyarrow as pa

from sources.contract import TOMBSTONE, UTC_TIMESTAMP, RecordError
from sources.pinnacle_cart.columns import TableBuilder, pick
from sources.pinnacle_cart.fields import (
    ADDRESS,
    CUSTOMER_FIELDS,
    INVENTORY_FIELDS,
    ORDER_FIELDS,
    ORDER_ITEM_FIELDS,
    ORDER_ITEM_OPTION_FIELDS,
    PRODUCT_FIELDS,
    PRODUCT_OPTION_FIELDS,
    Fields,
)


def items(value: Any) -> list[Any]:
    """Return an array element's items: a list as is, an empty element as none, one record as one."""
    if isinstance(value, list):
        return value
    if isinstance(value, dict) and value:
        inner = next(iter(value.values()))
        return inner if len(value) == 1 and isinstance(inner, list) else [value]
    return []


def _ids(rows: Iterable[dict[str, Any]], path: str, what: str) -> list[int]:
    out = []
    for row in rows:
        text = pick(row, path)
        if not text:
            raise RecordError(f"{what}: a record has no {path}")
        try:
            out.append(int(text))
        except ValueError:
            raise RecordError(f"{what}: {path} is not an integer: {text[:40]!r}") from None
    return out


# --- the tables -------------------------------------------------------------------------------------
def order_tables(
    builder: TableBuilder, orders: Sequence[dict[str, Any]], tombstones: bool
) -> tuple[pa.Table, pa.Table, pa.Table]:
    """Split orders into `orders`, `order_items` (key order_id + line_number) and `order_item_options`.

    With `tombstones`, an order without items (or options) gets one marker row per child table, so a
    merge on `order_id` removes the children it used to have.
    """
    order_ids = _ids(orders, "OrderId", "GetOrders")
    items_rows, item_keys = [], {"order_id": [], "line_number": []}  # type: ignore[var-annotated]
    option_rows, option_keys = [], {"order_id": [], "line_number": [], "option_number": []}  # type: ignore[var-annotated]
    for order_id, order in zip(order_ids, orders, strict=True):
        for line, item in enumerate(items(order.get("OrderItems")), start=1):
            item = item if isinstance(item, dict) else {}
            items_rows.append(item)
            item_keys["order_id"].append(order_id)
            item_keys["line_number"].append(line)
            for number, option in enumerate(items(item.get("Options")), start=1):
                option_rows.append(option if isinstance(option, dict) else {})
                option_keys["order_id"].append(order_id)
                option_keys["line_number"].append(line)
                option_keys["option_number"].append(number)
    item_table = _child(
        builder, "order items", items_rows, item_keys, ORDER_ITEM_FIELDS, order_ids, tombstones, "order_id"
    )
    option_table = _child(
        builder,
        "order item options",
        option_rows,
        option_keys,
        ORDER_ITEM_OPTION_FIELDS,
        order_ids,
        tombstones,
        "order_id",
    )
    return (
        builder.table("GetOrders", orders, ORDER_FIELDS, ("order_id",), extras=True),
        item_table,
        option_table,
    )


def customer_tables(
    builder: TableBuilder, customers: Sequence[dict[str, Any]], tombstones: bool
) -> tuple[pa.Table, pa.Table]:
    """Split customers into `customers` and `customer_addresses` (key user_id, address_number)."""
    user_ids = _ids(customers, "UserId", "GetCustomers")
    rows, keys = [], {"user_id": [], "address_number": []}  # type: ignore[var-annotated]
    for user_id, customer in zip(user_ids, customers, strict=True):
        for number, address in enumerate(items(customer.get("AddressBook")), start=1):
            rows.append(address if isinstance(address, dict) else {})
            keys["user_id"].append(user_id)
            keys["address_number"].append(number)
    addresses = _child(builder, "address book", rows, keys, ADDRESS, user_ids, tombstones, "user_id")
    return builder.table("GetCustomers", customers, CUSTOMER_FIELDS, ("user_id",), extras=True), addresses


def product_tables(
    builder: TableBuilder, products: Sequence[dict[str, Any]], tombstones: bool
) -> tuple[pa.Table, pa.Table]:
    """Split products into `products` and `product_options`: one row per node of the recursive option tree.

    An option's key is its path of positions (`1`, `1.3`, `1.3.2`), unique within its product;
    `parent_option_key` points one level up (NULL at the top), `depth` counts from 1.
    """
    pids = _ids(products, "PID", "GetProducts")
    rows: list[dict[str, Any]] = []
    keys: dict[str, list[Any]] = {
        "pid": [],
        "option_key": [],
        "parent_option_key": [],
        "parent_option_id": [],
        "depth": [],
    }

    def walk(pid: int, options: Any, parent_key: str | None, parent_id: str | None, depth: int) -> None:
        for position, option in enumerate(items(options), start=1):
            option = option if isinstance(option, dict) else {}
            key = f"{parent_key}.{position}" if parent_key else str(position)
            rows.append(option)
            keys["pid"].append(pid)
            keys["option_key"].append(key)
            keys["parent_option_key"].append(parent_key)
            keys["parent_option_id"].append(parent_id)
            keys["depth"].append(depth)
            walk(pid, option.get("Options"), key, pick(option, "OptionId") or None, depth + 1)

    for pid, product in zip(pids, products, strict=True):
        walk(pid, product.get("Options"), None, None, 1)
    options = _child(builder, "product options", rows, keys, PRODUCT_OPTION_FIELDS, pids, tombstones, "pid")
    return builder.table("GetProducts", products, PRODUCT_FIELDS, ("pid",), extras=True), options


def category_table(categories: Sequence[dict[str, Any]]) -> pa.Table:
    """Flatten the category tree: one row per category with `parent_category_id`, `depth` and `path`."""
    out: dict[str, list[Any]] = {
        "category_id": [],
        "title": [],
        "parent_category_id": [],
        "depth": [],
        "path": [],
    }

    row_of: dict[str, int] = {}  # a category listed twice keeps one row: the last copy's

    def walk(nodes: Any, parent: str | None, trail: list[str]) -> None:
        for node in items(nodes):
            if not isinstance(node, dict):
                continue
            category_id = pick(node, "CategoryId")
            if not category_id:
                raise RecordError("GetCategories: a category has no CategoryId")
            title = pick(node, "Title") or ""
            row = (category_id, title or None, parent, len(trail) + 1, " > ".join([*trail, title]))
            at = row_of.setdefault(category_id, len(out["category_id"]))
            for name, value in zip(out, row, strict=True):
                if at == len(out[name]):
                    out[name].append(value)
                else:
                    out[name][at] = value
            walk(node.get("Children"), category_id, [*trail, title])

    walk(list(categories), None, [])
    types = {"category_id": pa.string(), "title": pa.string(), "parent_category_id": pa.string(),
             "depth": pa.int64(), "path": pa.string()}  # fmt: skip
    return pa.Table.from_arrays(
        [pa.array(out[name], t) for name, t in types.items()],
        schema=pa.schema([pa.field(n, t, nullable=n != "category_id") for n, t in types.items()]),
    )


def inventory_table(
    builder: TableBuilder, rows: Sequence[dict[str, Any]], snapshot_date: date, snapshot_at: datetime
) -> pa.Table:
    """Return one inventory snapshot: `snapshot_date`, `snapshot_at` and each product's `qoh`."""
    n = len(rows)
    return builder.table(
        "GetInventory",
        rows,
        INVENTORY_FIELDS,
        ("snapshot_date", "pid"),
        leading=[
            ("snapshot_date", pa.date32(), [snapshot_date] * n),
            ("snapshot_at", UTC_TIMESTAMP, [snapshot_at] * n),
        ],
    )


def _child(
    builder: TableBuilder,
    what: str,
    rows: list[dict[str, Any]],
    keys: dict[str, list[Any]],
    fields: Fields,
    parents: list[int],
    tombstones: bool,
    parent_col: str,
) -> pa.Table:
    """Return a child table: its key columns, its fields and (when merging) markers for empty parents.

    A marker row carries only the parent id, placeholder keys (-1 or "") and `_tombstone = true`, which
    dlt's `hard_delete` turns into "delete this parent's rows" without inserting the marker.
    """
    keys = {**keys, TOMBSTONE: [None] * len(rows)}
    if tombstones:
        rows = list(rows)
        have = set(keys[parent_col])
        for parent in parents:
            if parent in have:
                continue
            have.add(parent)
            rows.append({})
            for name, column in keys.items():
                if name == parent_col:
                    column.append(parent)
                elif name == TOMBSTONE:
                    column.append(True)
                else:
                    column.append(-1 if name in _INT_KEYS else "" if name in _KEY_COLUMNS else None)
    key_names = tuple(k for k in keys if k in _KEY_COLUMNS)
    leading = [(name, _KEY_TYPES.get(name, pa.string()), values) for name, values in keys.items()]
    return builder.table(what, rows, fields, key_names, leading=leading)


_INT_KEYS = frozenset({"line_number", "option_number", "address_number", "depth"})
_KEY_COLUMNS = frozenset(
    {"order_id", "line_number", "option_number", "user_id", "address_number", "pid", "option_key"}
)
_KEY_TYPES: dict[str, pa.DataType] = {
    "order_id": pa.int64(),
    "line_number": pa.int64(),
    "option_number": pa.int64(),
    "user_id": pa.int64(),
    "address_number": pa.int64(),
    "pid": pa.int64(),
    "depth": pa.int64(),
    "option_key": pa.string(),
    "parent_option_key": pa.string(),
    "parent_option_id": pa.string(),
    TOMBSTONE: pa.bool_(),
}
