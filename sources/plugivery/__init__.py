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
A quota error (472/473/474) stops the calls; what was read loads, and the run is reported *deferred*.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

import dlt
from dlt.sources import DltResource

from sources.http import redact_errors, report_deferred
from sources.plugivery import settings
from sources.plugivery.budget import Budget, current_ledger, since_window, sync_with_info
from sources.plugivery.client import PlugiveryClient, QuotaExhausted, as_records

log = logging.getLogger("retail.plugivery")

MONEY = {"data_type": "decimal", "precision": 18, "scale": 4}
PRICE_FIELDS = ("msrp", "map", "cost", "reg_map", "reg_cost")
DETAIL_FIELDS = ("id", "name", "desc", "url", "img", "brand_id", "brand_name", "cat_id", "cat_name")
PROMO_MONEY = ("msrp", "promo_map", "promo_cost", "reg_map", "reg_cost")
TS = {"data_type": "timestamp", "timezone": True}


def _columns(money: tuple[str, ...], *timestamps: str) -> dict[str, Any]:
    """Fresh column hints per call (dlt writes each column's name into its dict)."""
    return {**{name: dict(MONEY) for name in money}, **{name: dict(TS) for name in timestamps}}


@dlt.source(name=settings.SOURCE_NAME, max_table_nesting=0)
def plugivery_source(
    token: str = dlt.secrets.value,
    api_url: str = settings.DEFAULT_API_URL,
    day_limit: int = settings.DEFAULT_DAY_LIMIT,
    month_limit: int = settings.DEFAULT_MONTH_LIMIT,
    headroom: int = settings.DEFAULT_HEADROOM,
    full_refresh: bool = False,
) -> DltResource:
    """Return the Plugivery catalog resource, configured from `[sources.plugivery]`."""
    return catalog(PlugiveryClient(api_url, token), Budget(day_limit, month_limit, headroom), full_refresh)


class _Spent(Exception):
    """Our own budget (limits minus headroom) is spent: stop before the API says so."""


def _money(value: Any) -> Decimal | str | None:
    """A price as DECIMAL; a value that is not a number is passed on as it came, so dlt keeps it in a
    variant column (`msrp__v_text`) where it stays visible instead of being nulled."""
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return str(value)


def _when(epoch: Any) -> Any:
    return None if epoch in (None, "", 0) else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(epoch)))


@dlt.resource(name="products", write_disposition="merge")
@redact_errors
def catalog(client: PlugiveryClient, budget: Budget, full_refresh: bool = False) -> Iterator[Any]:
    """The catalog within tonight's read budget; see the module docstring for the order of calls."""
    state = dlt.current.resource_state()
    if full_refresh:
        state.pop("last_list_at", None)  # ask for since=all; details already fetched stay valid
    info = client.info()
    now = client.server_now or int(time.time())
    ledger = current_ledger(state, now)
    sync_with_info(ledger, info)
    seen: dict[str, int] = state.setdefault("seen_dates", {})
    queue: dict[str, int] = state.setdefault("get_queue", {})

    def read(act: str, **params: Any) -> Any:
        if budget.left(ledger) <= 0:
            raise _Spent
        ledger["day_reads"] += 1
        ledger["month_reads"] += 1
        return client.call(act, **params)

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

    def rows(table: str, records: list[dict[str, Any]]) -> Any:
        return dlt.mark.with_hints(records, hints[table], create_table_variant=True)

    try:
        window = since_window(state.get("last_list_at"), now)
        listed = as_records(read("list", since=window), f"act=list since={window}")
        changed = [r for r in listed if int(r.get("date") or 0) > seen.get(str(r["id"]), -1)]
        if listed:
            yield rows(
                "products",
                [
                    {
                        "id": r["id"],
                        "date": _when(r.get("date")),
                        **{f: _money(r.get(f)) for f in PRICE_FIELDS},
                    }
                    for r in listed
                ],
            )
        if changed:
            yield rows(
                "product_prices",
                [
                    {
                        "id": r["id"],
                        "date": _when(r.get("date")),
                        **{f: _money(r.get(f)) for f in PRICE_FIELDS},
                    }
                    for r in changed
                ],
            )
        for r in changed:
            seen[str(r["id"])] = int(r.get("date") or 0)
            queue[str(r["id"])] = int(r.get("date") or 0)
        state["last_list_at"] = now
        log.info(
            "plugivery: list since=%s: %d products, %d new or changed", window, len(listed), len(changed)
        )

        promotions = as_records(read("list_promotions"), "act=list_promotions")
        if promotions:
            yield rows(
                "promotions",
                [
                    {
                        **p,
                        "start": _when(p.get("start")),
                        "end": _when(p.get("end")),
                        **{
                            f: _money(p.get(f))
                            for f in ("msrp", "promo_map", "promo_cost", "reg_map", "reg_cost")
                        },
                    }
                    for p in promotions
                ],
            )
        if state.get("reference_day") != ledger["day"]:
            yield rows("brands", as_records(read("list_brands"), "act=list_brands"))
            yield rows("categories", as_records(read("list_cats"), "act=list_cats"))
            state["reference_day"] = ledger["day"]

        details: list[dict[str, Any]] = []
        stopped: Exception | None = None
        try:
            for product_id in sorted(queue, key=lambda k: (queue[k], int(k))):
                if budget.left(ledger) <= 0:
                    break
                records = as_records(read("get", id=product_id), f"act=get id={product_id}")
                for record in records[:1]:  # 462 "No Result": the product is gone; nothing to keep
                    details.append(
                        {k: record.get(k) for k in DETAIL_FIELDS}
                        | {"date": _when(record.get("date")), "fetched_at": _when(now)}
                    )
                del queue[product_id]
        except (QuotaExhausted, _Spent) as exc:
            stopped = exc  # keep what was fetched before the quota ran out
        if details:
            yield rows("product_details", details)
        if stopped is not None:
            raise stopped
    except _Spent:
        log.info("plugivery: tonight's read budget is spent; the rest waits for the next run")
    except QuotaExhausted as exc:
        report_deferred(settings.SOURCE_NAME, f"{exc}; {len(queue)} products wait for details")
        log.warning("plugivery: stopping early: %s; what was read is kept", exc)
    state["last_run"] = {"reads": client.reads, "queue": len(queue), "reads_today": ledger["day_reads"]}
    if queue:
        log.info("plugivery: %d products still wait for details (next nights)", len(queue))
