"""Plugivery catalog: product prices by `since` deltas, details by `get`, within a daily read budget.

Tables (schema `plugivery`):
- `products` (key `id`): the list's current prices (`msrp`, `map`, `cost`, `reg_map`, `reg_cost`) and
  `date` (last modified) of every product seen.
- `product_details` (key `id`): name, description, URL, image, brand and category from `get`; a separate
  table because a `list` row carries no details and must not blank them. The staging view
  `stg_plugivery__products` joins the two: current prices and details, one row per product.
- `product_prices` (key `id`, `date`): one row per product and price change: a nightly price history.
- `brands`, `categories`: replaced at most once a day. `promotions` (key `id`): every state, every run.

A run: `info` (free) → `list` with the smallest `since` window covering the time since the last list →
`list_promotions` → brands and categories if not yet read today → `get` for new or changed products,
oldest change first, with what is left of the budget; the rest waits in state for the next nights.
A quota error (472/473/474) stops the calls; what was read loads, and the run is reported *deferred*:
the reason is written to `last_run.deferred` in this resource's state, where the runner reads it. The
steps are in `sync.py`; every read goes through `budget.BudgetedReader`, which keeps the ledger.

Records: a product, promotion, brand or category listed twice is kept once (the last copy). A product
or promotion whose `date`/`start`/`end` is not a Unix time ("yesterday", 1e20) is rejected by name into
`plugivery.rejects` and the rest loads. A product's `date` is compared with the last one seen for
equality, not order, so a date in the future cannot hide a later change; the list position
(`last_list_at`, on the API's clock) is kept within our clock plus `cursor_tolerance_hours`. The read
ledger follows the API's own day and month (its quota resets on its clock) and starts afresh whenever
that day changes, in either direction, with the API's counters from `info` winning: a wrong API clock
cannot leave it stuck.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import dlt
from dlt.sources import DltResource

from sources.contract import MONEY, UTC_TIMESTAMP, column_hints
from sources.http import CallCounter, redact_errors
from sources.integrity import DEFAULT_CURSOR_TOLERANCE_HOURS, CursorClock, Rejects, UnreadableValue
from sources.plugivery import settings
from sources.plugivery.budget import Budget
from sources.plugivery.client import PlugiveryClient
from sources.plugivery.sync import BudgetedReader, CatalogNight
from sources.shrink import DEFAULT_MAX_SHRINK, ShrinkGuard

log = logging.getLogger("retail.plugivery")

PRICE_FIELDS = ("msrp", "map", "cost", "reg_map", "reg_cost")
DETAIL_FIELDS = ("id", "name", "desc", "url", "img", "brand_id", "brand_name", "cat_id", "cat_name")
PROMO_MONEY = ("msrp", "promo_map", "promo_cost", "reg_map", "reg_cost")


def _columns(money: tuple[str, ...], *timestamps: str) -> dict[str, Any]:
    """Fresh column hints per call (dlt writes each column's name into its dict)."""
    return column_hints([*((name, MONEY) for name in money), *((name, UTC_TIMESTAMP) for name in timestamps)])


@dlt.source(name=settings.SOURCE_NAME, max_table_nesting=0)
def plugivery_source(
    token: str = dlt.secrets.value,
    api_url: str = settings.DEFAULT_API_URL,
    day_limit: int = settings.DEFAULT_DAY_LIMIT,
    month_limit: int = settings.DEFAULT_MONTH_LIMIT,
    headroom: int = settings.DEFAULT_HEADROOM,
    full_refresh: bool = False,
    cursor_tolerance_hours: float = DEFAULT_CURSOR_TOLERANCE_HOURS,
    max_shrink: float = DEFAULT_MAX_SHRINK,
    allow_shrink: bool = False,
    counter: CallCounter | None = None,
) -> DltResource:
    """Return the Plugivery catalog resource, from `[sources.plugivery]`; `counter` counts its calls."""
    return catalog(
        PlugiveryClient(api_url, token, counter),
        Budget(day_limit, month_limit, headroom),
        full_refresh,
        cursor_tolerance_hours,
        ShrinkGuard(max_shrink, allow_shrink),
    )


def _money(value: Any) -> Decimal | str | None:
    """A price as DECIMAL; a value that is not a number is passed on as it came, so dlt keeps it in a
    variant column (`msrp__v_text`) where it stays visible instead of being nulled."""
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return str(value)


def _when(epoch: Any, field: str = "date") -> Any:
    """Return a Unix time as ISO text (None when unset); raise `UnreadableValue` when it is not one."""
    if epoch in (None, "", 0):
        return None
    try:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(epoch)))
    except (TypeError, ValueError, OverflowError, OSError):  # "yesterday", 1e20, NaN
        raise UnreadableValue(f"{field} is not a Unix time", field, epoch) from None


@dlt.resource(name="products", write_disposition="merge")
@redact_errors
def catalog(
    client: PlugiveryClient,
    budget: Budget,
    full_refresh: bool = False,
    cursor_tolerance_hours: float = DEFAULT_CURSOR_TOLERANCE_HOURS,
    shrink: ShrinkGuard | None = None,
) -> Iterator[Any]:
    """The catalog within tonight's read budget; see the module docstring for the order of calls."""
    state = dlt.current.resource_state()
    clock = CursorClock(settings.SOURCE_NAME, cursor_tolerance_hours)
    rejects = Rejects(settings.SOURCE_NAME)
    last_list_at = state.get("last_list_at")
    if full_refresh or (
        last_list_at is not None
        and clock.saved_in_future(datetime.fromtimestamp(last_list_at, UTC), "list position last_list_at")
    ):
        # since=all and today's brands and categories again; details already fetched stay valid.
        state.pop("last_list_at", None)
        state.pop("reference_day", None)
    reader = BudgetedReader(client, budget, state)

    def make(table: str, key: str | list[str], columns: dict[str, Any], disposition: Any = "merge") -> Any:
        return dlt.mark.make_hints(
            table_name=table, primary_key=key, columns=columns, write_disposition=disposition
        )

    hints = {
        "products": make("products", "id", _columns(PRICE_FIELDS, "date")),
        "product_prices": make("product_prices", ["id", "date"], _columns(PRICE_FIELDS, "date")),
        "product_details": make("product_details", "id", _columns((), "date", "fetched_at")),
        "promotions": make("promotions", "id", _columns(PROMO_MONEY, "start", "end")),
        "brands": make("brands", "id", {}, "replace"),
        "categories": make("categories", "id", {}, "replace"),
    }

    def price_row(r: dict[str, Any]) -> dict[str, Any]:
        date = _when(r.get("date"))
        if date is not None:  # a product dated in the future loads; the summary names it
            clock.clamp(datetime.fromtimestamp(int(r["date"]), UTC), f"product {r['id']}", "date")
        return {"id": r["id"], "date": date, **{f: _money(r.get(f)) for f in PRICE_FIELDS}}

    def promotion_row(p: dict[str, Any]) -> dict[str, Any]:
        return {
            **p,
            "start": _when(p.get("start"), "start"),
            "end": _when(p.get("end"), "end"),
            **{f: _money(p.get(f)) for f in PROMO_MONEY},
        }

    def detail_row(record: dict[str, Any]) -> dict[str, Any]:
        return {k: record.get(k) for k in DETAIL_FIELDS} | {
            "date": _when(record.get("date")),
            "fetched_at": _when(reader.now),
        }

    night = CatalogNight(
        reader, state, clock, rejects, shrink or ShrinkGuard(), price_row, promotion_row, detail_row
    )
    for table, records in night.run():
        yield dlt.mark.with_hints(records, hints[table], create_table_variant=True)
    clock.report_future()
    yield from rejects.flush()
    if night.queue:
        log.info("plugivery: %d products still wait for details (next nights)", len(night.queue))
