"""The report's other sections: margins, MAP violations, stock cover, opening hours. Each reads its mart."""

from __future__ import annotations

from datetime import date, time
from statistics import median
from typing import Any

from pipelines.report.page import CURRENCY, day, esc, missing, money, rows, section, table
from pipelines.report.svg import cover_axis, cover_bar, data_bar, nice_top, swatch
from pipelines.warehouse import Connection

WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
TOP_MARGINS = 15
TOP_MAP = 25
CLOSEST_TO_EMPTY = 15


def margin_section(con: Connection) -> str:
    title = f"Top {TOP_MARGINS} products by margin per unit ({CURRENCY})"
    # A product bought from several suppliers has a row per supplier: its current margin is the one over
    # the cost it was last bought at.
    got = rows(
        con,
        "select product_name, supplier, web_price, cost, margin, margin_pct from ("
        "select product_name, coalesce(supplier_name, 'catalogue (never bought)') as supplier, web_price, "
        "coalesce(last_purchase_cost, catalog_cost) as cost, margin, margin_pct, row_number() over ("
        "partition by product_key order by last_purchased_at desc nulls last, supplier_key) as pick "
        "from analytics.product_margin where margin is not null"
        ") as current_margins where pick = 1 order by margin desc, product_name",
    )
    if got is None:
        return missing("margin", title, "product_margin")
    if not got:
        return section("margin", title, "", '<p class="empty">no web product has a known cost yet.</p>')
    top = float(got[0][4]) or 1.0
    body = [
        (
            esc(name),
            esc(supplier),
            money(price),
            money(cost),
            f"{data_bar(float(margin), top)} {money(margin)}",
            f"{float(pct):.1f} %" if pct is not None else "",
        )
        for name, supplier, price, cost, margin, pct in got[:TOP_MARGINS]
    ]
    pcts = [float(r[5]) for r in got if r[5] is not None]
    below_cost = sum(1 for r in got if float(r[4]) < 0)
    sub = (
        f"Current web price (Pinnacle Cart) minus the cost it was last bought at (Pinogy; the catalogue's "
        f"dealer cost when never bought), per unit sold. Across all {len(got)} web products with a cost: "
        f"median margin {median(pcts):.1f} % of the price; {below_cost} sold below cost."
    )
    headers = [
        "product",
        "last bought from",
        f"web price ({CURRENCY})",
        f"cost ({CURRENCY})",
        f"margin ({CURRENCY} per unit)",
        "margin (% of price)",
    ]
    return section("margin", title, sub, table(headers, body, ["", "", "num", "num", "num", "num"]))


def map_section(con: Connection) -> str:
    title = "MAP violations: web prices below the minimum advertised price"
    got = rows(
        con,
        "select product_name, web_price, map_price, below_map_by from analytics.map_compliance "
        "order by below_map_by desc, product_name",
    )
    if got is None:
        return missing("map", title, "map_compliance")
    sub = (
        f"Current web prices (Pinnacle Cart) against the catalogue's current MAP (Plugivery, promotions "
        f"included), as of the last load (see the header): {len(got)} products below MAP"
        + (f", the {TOP_MAP} furthest below shown." if len(got) > TOP_MAP else ".")
    )
    body = [
        (
            esc(name),
            money(price),
            money(map_price),
            f'<span class="bad">{money(gap)}</span>',
            f"{100 * float(gap) / float(map_price):.1f} %" if map_price else "",
        )
        for name, price, map_price, gap in got[:TOP_MAP]
    ]
    headers = [
        "product",
        f"web price ({CURRENCY})",
        f"MAP ({CURRENCY})",
        f"below MAP by ({CURRENCY})",
        "(% of MAP)",
    ]
    content = (
        table(headers, body, ["", "num", "num", "num", "num"])
        if body
        else '<p class="empty">none: every web price respects MAP.</p>'
    )
    return section("map", title, sub, content)


def stock_section(con: Connection) -> str:
    title = "Stock cover: products closest to running out, and what to reorder"
    # Every product that needs reordering, and at least the CLOSEST_TO_EMPTY lowest covers.
    got = rows(
        con,
        "select product_name, qty_on_hand, units_per_day, days_of_cover, reorder_point_days, needs_reorder "
        "from (select *, row_number() over (order by days_of_cover, product_name) as closeness "
        "from analytics.stock_cover where days_of_cover is not null) as covers "
        "where closeness <= ? or needs_reorder order by days_of_cover, product_name",
        [CLOSEST_TO_EMPTY],
    )
    if got is None:
        return missing("stock", title, "stock_cover")
    if not got:
        return section("stock", title, "", '<p class="empty">no product sold in the last 28 days.</p>')
    facts = rows(
        con,
        "select max(snapshot_date), count(*) filter (where needs_reorder), "
        "count(*) filter (where days_of_cover is not null), "
        "(select cast(max(ordered_at at time zone 'UTC') as date) from analytics.fct_cart_order_lines) "
        "from analytics.stock_cover",
    )
    snapshot, to_reorder, selling, last_order = (facts or [(None, 0, 0, None)])[0]
    scale, step = nice_top(max(max(float(r[3]), float(r[4])) for r in got) * 1.05)
    body = []
    for name, on_hand, per_day, cover, reorder_at, low in got:
        action = '<span class="badge reorder">reorder</span>' if low else '<span class="badge ok">ok</span>'
        if float(on_hand) <= 0:  # empty even when no reorder point is known (no supplier): never "ok"
            action = '<span class="badge out">out of stock</span>' + (action if low else "")
        body.append(
            (
                esc(name),
                action,
                f"{float(on_hand):,.0f}",
                f"{float(per_day):,.2f}",
                f"{float(cover):,.1f}",
                f"{reorder_at:,}",
                cover_bar(float(cover), float(reorder_at), scale, bool(low)),
            )
        )
    headers = [
        "product",
        "action",
        "on hand (units)",
        "sold per day (units)",
        "cover (days)",
        "reorder point (days)",
        cover_axis(scale, step),
    ]
    chart = table(headers, body, ["", "", "num", "num", "num", "num", "chart"])
    sub = (
        f"<strong>{to_reorder} of {selling} selling products need reordering</strong> (marked "
        f'<span class="badge reorder">reorder</span>): their days of cover are below the reorder point, '
        f"the supplier's lead time plus safety-stock days. Stock on hand from the {_day(snapshot)} snapshot; "
        f"units sold per day averaged over the 28 days to {_day(last_order)}."
    )
    legend = (
        f'<div class="legend"><span>{swatch("low")}cover below the reorder point</span>'
        f"<span>{swatch('enough')}cover above it</span><span>{swatch('reorder')}reorder point</span></div>"
    )
    return section("stock", title, sub, legend + chart)


def _day(value: date | None) -> str:
    return day(value) if value else "latest"


def _span(opens: time | None, closes: time | None) -> str:
    return f"{opens:%H:%M}–{closes:%H:%M}" if opens and closes else "open"


def hours_section(con: Connection) -> str:
    title = "Store opening hours"
    got = rows(
        con,
        "select h.location_key, h.location_name, l.is_permanently_closed, h.weekday, h.opens_at, "
        "h.closes_at, h.is_closed from analytics.dim_location_hours h "
        "join analytics.dim_location l using (location_key) "
        "order by h.location_name, h.weekday_number, h.opens_at",
    )
    if got is None:
        return missing("hours", title, "dim_location_hours")
    stores: dict[str, tuple[str, bool, dict[str, list[str]]]] = {}
    for key, name, closed_for_good, weekday, opens, closes, is_closed in got:
        days = stores.setdefault(key, (name, bool(closed_for_good), {}))[2]
        days.setdefault(weekday, []).append("closed" if is_closed else _span(opens, closes))
    specials = _special_hours(con)
    body = []
    for key, (name, closed_for_good, days) in stores.items():
        if closed_for_good:
            cells = '<td colspan="7" class="store-closed">permanently closed</td><td class="special">–</td>'
            label = f'{esc(name)}<span class="badge closed">permanently closed</span>'
        else:
            cells = "".join(
                f'<td class="{"shut" if days.get(d, ["closed"]) == ["closed"] else "open"}">'
                f"{'<br>'.join(esc(s) for s in days.get(d, ['closed']))}</td>"
                for d in WEEKDAYS
            )
            cells += f'<td class="special">{"<br>".join(specials.get(key, [])) or "–"}</td>'
            label = esc(name)
        body.append(f"<tr><td>{label}</td>{cells}</tr>")
    head = "".join(f"<th>{d[:3]}</th>" for d in WEEKDAYS)
    sub = (
        "Regular weekly hours and special hours (holidays, events) as listed on PinMeTo now, in each store's "
        "local time."
    )
    content = (
        f'<table class="hours"><thead><tr><th>store</th>{head}<th>special hours</th></tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )
    return section("hours", title, sub, content)


def _special_hours(con: Connection) -> dict[str, list[str]]:
    """Return each location's special hours as lines ("Christmas Eve Thu 24 Dec: 09:00–14:00")."""
    got: list[tuple[Any, ...]] | None = rows(
        con,
        "select l.location_key, s.start_date, s.end_date, s.label, s.is_closed, s.opens_at, s.closes_at "
        "from staging.stg_pinmeto__special_opening_hours s "
        "join analytics.dim_location l on l.pinmeto_store_id = s.store_id order by s.start_date, s.label",
    )
    out: dict[str, list[str]] = {}
    for key, start, end, label, is_closed, opens, closes in got or []:
        when = f"{start:%a} {start.day} {start:%b}" if start == end else f"{day(start)} to {day(end)}"
        hours = '<span class="bad">closed</span>' if is_closed else esc(_span(opens, closes))
        out.setdefault(key, []).append((f"<b>{esc(label)}</b> " if label else "") + f"{esc(when)}: {hours}")
    return out
