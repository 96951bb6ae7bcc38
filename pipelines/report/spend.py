"""The spend section: each store's purchase spend per month as small multiples, and its top supplier.

The period is what the purchase orders cover (first to last `opened_at`, UTC). A month the data only
partly covers, typically the first and the last, is drawn hatched and named partial, so that it does not
read as a collapse in spending.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date

from pipelines.report.page import CURRENCY, day, esc, missing, money, month, rows, section, table
from pipelines.report.svg import HATCH_DEFS, MonthBar, month_panel, nice_top, swatch
from pipelines.warehouse import Connection

TITLE = f"Purchase spend per store, all suppliers ({CURRENCY} per month)"


@dataclass
class Store:
    name: str
    is_closed: bool
    spend: dict[date, float] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return sum(self.spend.values())


def months_between(first: date, last: date) -> list[date]:
    """Return the first day of every month from `first`'s month to `last`'s, inclusive."""
    out, current = [], first.replace(day=1)
    while current <= last:
        out.append(current)
        current = date(current.year + current.month // 12, current.month % 12 + 1, 1)
    return out


def partial_notes(start: date, end: date) -> dict[date, str]:
    """Return the months the period [start, end] covers only in part, each with what it covers."""
    notes: dict[date, str] = {}
    first, last = start.replace(day=1), end.replace(day=1)
    if first == last:
        if start.day > 1 or end.day < calendar.monthrange(end.year, end.month)[1]:
            notes[first] = f"{day(start)} to {day(end)} only"
        return notes
    if start.day > 1:
        notes[first] = f"data from {day(start)}"
    if end.day < calendar.monthrange(end.year, end.month)[1]:
        notes[last] = f"data through {day(end)}"
    return notes


def spend_section(con: Connection) -> str:
    got = rows(
        con,
        "select s.location_key, s.location_name, coalesce(l.is_permanently_closed, false), s.month, "
        "sum(s.spend) from analytics.supplier_spend_monthly s "
        "left join analytics.dim_location l using (location_key) group by 1, 2, 3, 4",
    )
    period = rows(
        con,
        "select cast(min(opened_at at time zone 'UTC') as date), "
        "cast(max(opened_at at time zone 'UTC') as date) from analytics.fct_purchase_order_lines",
    )
    if got is None or period is None:
        return missing("spend", TITLE, "supplier_spend_monthly")
    start, end = period[0]
    if not got or start is None:
        return section("spend", TITLE, "", '<p class="empty">no purchase orders in the warehouse.</p>')
    stores: dict[str, Store] = {}
    for key, name, closed, first_of_month, spend in got:
        store = stores.setdefault(key, Store(name or "Unknown location", bool(closed)))
        store.spend[first_of_month] = store.spend.get(first_of_month, 0.0) + float(spend or 0)
    months = months_between(start, end)
    notes = partial_notes(start, end)
    ranked = sorted(stores.values(), key=lambda s: (-s.total, s.name))
    top, step = nice_top(max((v for s in ranked for v in s.spend.values()), default=0.0))
    complete = [m for m in months if m not in notes]
    panels = []
    for rank, store in enumerate(ranked, start=1):
        bars = [MonthBar(m, store.spend.get(m, 0.0), notes.get(m)) for m in months]
        average = sum(store.spend.get(m, 0.0) for m in complete) / len(complete) if complete else None
        badge = '<span class="badge closed">permanently closed</span>' if store.is_closed else ""
        stats = f"{money(store.total, cents=False)} total"
        if average is not None:
            stats += f" · {money(average, cents=False)}/month"
        panels.append(
            f'<div class="panel{" is-closed" if store.is_closed else ""}">'
            f"<h4>{rank}. {esc(store.name)}{badge}</h4>"
            f'<p class="stats">{stats}</p>{month_panel(bars, top, step)}</div>'
        )
    partial_text = "; ".join(f"{month(m)}: {note}" for m, note in sorted(notes.items()))
    legend = (
        f'<div class="legend"><span>{swatch("complete")}complete month</span>'
        + (
            f'<span class="partial-legend">{swatch("partial")}partial month ({esc(partial_text)})</span>'
            if notes
            else ""
        )
        + f"<span>y axis: spend in {CURRENCY} per month, same scale in every panel</span></div>"
    )
    sub = (
        f"Purchase orders opened {day(start)} to {day(end)} (calendar months, UTC), summed over all "
        f"suppliers per store; stores ranked by total spend. Average per month counts complete months only."
    )
    body = (
        HATCH_DEFS
        + legend
        + f'<div class="multiples">{"".join(panels)}</div>'
        + _top_suppliers(con, start, end)
    )
    return section("spend", TITLE, sub, body)


def _top_suppliers(con: Connection, start: date, end: date) -> str:
    got = rows(
        con,
        "select location_name, supplier_name, spend, pos, store_spend from ("
        "select location_key, location_name, supplier_name, sum(spend) as spend, "
        "sum(purchase_orders) as pos, sum(sum(spend)) over (partition by location_key) as store_spend, "
        "row_number() over (partition by location_key order by sum(spend) desc, supplier_name) as pick "
        "from analytics.supplier_spend_monthly group by location_key, location_name, supplier_name"
        ") as suppliers where pick = 1 order by spend desc",
    )
    body = [
        (
            esc(store or "Unknown location"),
            esc(supplier),
            money(spend),
            f"{100 * float(spend) / float(total):.0f} %" if total else "",
            f"{pos:,}",
        )
        for store, supplier, spend, pos, total in got or []
    ]
    headers = [
        "store",
        "top supplier",
        f"spend ({CURRENCY})",
        "share of the store's spend",
        "purchase orders",
    ]
    return f"<h3>Top supplier per store, {day(start)} to {day(end)}</h3>" + table(
        headers, body, ["", "", "num", "num", "num"]
    )
