"""`python -m pipelines report --out FILE`: one self-contained HTML page a person would rather look at.

Sections: supplier spend over time per store, top products by margin, MAP violations, stock cover and
store opening hours, each read from its mart in `analytics`. Charts are inline SVG drawn here (no
JavaScript, no CDN, no network); a section whose mart is missing says so instead of failing.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

PALETTE = ["#2f6db5", "#e07b39", "#3a9d5d", "#c0392b", "#8e5ea2", "#7f8c8d", "#d4a017", "#16a085"]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]

CSS = """
body { font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; margin: 2rem auto;
       max-width: 1100px; color: #222; background: #fafafa; }
h1 { margin-bottom: 0.2rem; } .sub { color: #666; margin-top: 0; }
section { background: #fff; border: 1px solid #e3e3e3; border-radius: 8px; padding: 1rem 1.5rem;
          margin: 1.5rem 0; }
table { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
th, td { text-align: left; padding: 0.3rem 0.5rem; border-bottom: 1px solid #eee; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.empty { color: #999; font-style: italic; }
.legend span { display: inline-block; margin-right: 1rem; font-size: 0.85rem; }
.legend i { display: inline-block; width: 0.8rem; height: 0.8rem; margin-right: 0.3rem; }
td.open { background: #e7f4ea; } td.closed { background: #f6e1df; color: #8a3b33; }
.bad { color: #c0392b; font-weight: 600; }
"""


def _esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _money(value: Any) -> str:
    return "" if value is None else f"{float(value):,.2f}"


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[list[str], list[tuple[Any, ...]]] | None:
    try:
        cursor = con.execute(sql)
    except duckdb.CatalogException:
        return None
    names = [d[0] for d in cursor.description or []]
    return names, cursor.fetchall()


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]], numeric: set[int] = frozenset()) -> str:  # type: ignore[assignment]
    head = "".join(
        f'<th class="{"num" if i in numeric else ""}">{_esc(h)}</th>' for i, h in enumerate(headers)
    )
    body = "".join(
        "<tr>"
        + "".join(f'<td class="{"num" if i in numeric else ""}">{c}</td>' for i, c in enumerate(r))
        + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def line_chart(series: dict[str, list[tuple[str, float]]], width: int = 1000, height: int = 320) -> str:
    """An SVG line chart: one line per series over shared x labels (sorted), with y gridlines."""
    labels = sorted({x for points in series.values() for x, _ in points})
    if not labels:
        return '<p class="empty">no data</p>'
    top = max((y for points in series.values() for _, y in points), default=1.0) or 1.0
    left, bottom, right, upper = 70, height - 40, width - 20, 20

    def sx(i: int) -> float:
        return left + (right - left) * (i / max(len(labels) - 1, 1))

    def sy(y: float) -> float:
        return bottom - (bottom - upper) * (y / top)

    parts = [f'<svg viewBox="0 0 {width} {height}" width="100%" role="img">']
    for k in range(5):
        y = top * k / 4
        parts.append(
            f'<line x1="{left}" x2="{right}" y1="{sy(y):.1f}" y2="{sy(y):.1f}" stroke="#eee"/>'
            f'<text x="{left - 8}" y="{sy(y) + 4:.1f}" font-size="11" text-anchor="end" fill="#666">'
            f"{y:,.0f}</text>"
        )
    step = max(1, len(labels) // 12)
    for i, label in enumerate(labels):
        if i % step == 0:
            parts.append(
                f'<text x="{sx(i):.1f}" y="{bottom + 18}" font-size="11" text-anchor="middle" '
                f'fill="#666">{_esc(label)}</text>'
            )
    for n, (_name, points) in enumerate(sorted(series.items())):
        index = {x: y for x, y in points}
        path = " ".join(
            f"{'M' if j == 0 else 'L'}{sx(i):.1f},{sy(index.get(x, 0.0)):.1f}"
            for j, (i, x) in enumerate(enumerate(labels))
        )
        parts.append(f'<path d="{path}" fill="none" stroke="{PALETTE[n % len(PALETTE)]}" stroke-width="2"/>')
    parts.append("</svg>")
    legend = "".join(
        f'<span><i style="background:{PALETTE[n % len(PALETTE)]}"></i>{_esc(name)}</span>'
        for n, name in enumerate(sorted(series))
    )
    return "".join(parts) + f'<div class="legend">{legend}</div>'


def bar_chart(
    bars: list[tuple[str, float]], width: int = 1000, color: str = PALETTE[0], unit: str = ""
) -> str:
    """A horizontal SVG bar chart with labels on the left and values at the bar ends."""
    if not bars:
        return '<p class="empty">no data</p>'
    row, label_w = 24, 360
    height = row * len(bars) + 10
    top = max(v for _, v in bars) or 1.0
    parts = [f'<svg viewBox="0 0 {width} {height}" width="100%" role="img">']
    for i, (label, value) in enumerate(bars):
        y = 5 + i * row
        w = max(1.0, (width - label_w - 90) * value / top)
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 15}" font-size="12" text-anchor="end">{_esc(label[:48])}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row - 8}" fill="{color}" rx="2"/>'
            f'<text x="{label_w + w + 6:.1f}" y="{y + 15}" font-size="12" fill="#444">'
            f"{value:,.1f}{unit}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _missing(mart: str) -> str:
    return (
        f'<p class="empty">no data yet: analytics.{mart} has not been built (run the sources and models).</p>'
    )


def build_report(db_path: Path) -> str:
    """Return the whole report as one HTML document."""
    with duckdb.connect(str(db_path), read_only=True) as con:
        sections = [_spend(con), _margin(con), _map(con), _stock(con), _hours(con)]
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>Retail warehouse report</title>"
        f"<style>{CSS}</style></head><body><h1>Retail warehouse</h1>"
        f'<p class="sub">{_esc(db_path.name)} &middot; built {stamp}</p>{"".join(sections)}</body></html>'
    )


def _spend(con: duckdb.DuckDBPyConnection) -> str:
    got = _rows(
        con,
        "select location_name, strftime(month, '%Y-%m') as month, sum(spend) as spend "
        "from analytics.supplier_spend_monthly group by all order by month",
    )
    body = _missing("supplier_spend_monthly")
    if got is not None:
        series: dict[str, list[tuple[str, float]]] = {}
        for store, month, spend in got[1]:
            series.setdefault(store or "unknown", []).append((month, float(spend or 0)))
        top = _rows(
            con,
            "select location_name, supplier_name, sum(spend) as spend, sum(purchase_orders) as pos "
            "from analytics.supplier_spend_monthly group by location_name, supplier_name "
            "qualify row_number() over (partition by location_name order by sum(spend) desc) <= 2 "
            "order by location_name, spend desc",
        )
        table = _table(
            ["store", "top supplier", "spend", "POs"],
            [(_esc(r[0]), _esc(r[1]), _money(r[2]), r[3]) for r in (top[1] if top else [])],
            {2, 3},
        )
        body = line_chart(series) + "<h3>Top suppliers per store</h3>" + table
    return f"<section id='spend'><h2>Supplier spend over time, per store</h2>{body}</section>"


def _margin(con: duckdb.DuckDBPyConnection) -> str:
    got = _rows(
        con,
        "select product_name, max(margin) as margin, max(margin_pct) as pct, max(web_price) as price "
        "from analytics.product_margin where margin is not null group by all "
        "order by margin desc limit 15",
    )
    if got is None:
        return f"<section id='margin'><h2>Top products by margin</h2>{_missing('product_margin')}</section>"
    chart = bar_chart([(r[0], float(r[1])) for r in got[1]], color=PALETTE[2])
    title = "Top products by margin (web price over last purchase cost)"
    return f"<section id='margin'><h2>{title}</h2>{chart}</section>"


def _map(con: duckdb.DuckDBPyConnection) -> str:
    got = _rows(
        con,
        "select product_name, web_price, map_price, below_map_by from analytics.map_compliance "
        "order by below_map_by desc",
    )
    if got is None:
        return f"<section id='map'><h2>MAP violations</h2>{_missing('map_compliance')}</section>"
    rows = [
        (_esc(r[0]), _money(r[1]), _money(r[2]), f'<span class="bad">{_money(r[3])}</span>') for r in got[1]
    ]
    note = f"<p>{len(rows)} web-shop products are priced below the catalogue's current MAP.</p>"
    body = (
        _table(["product", "web price", "MAP", "below by"], rows[:25], {1, 2, 3})
        if rows
        else '<p class="empty">none: every web price respects MAP.</p>'
    )
    return f"<section id='map'><h2>MAP violations</h2>{note}{body}</section>"


def _stock(con: duckdb.DuckDBPyConnection) -> str:
    got = _rows(
        con,
        "select product_name, qty_on_hand, units_per_day, days_of_cover, reorder_point_days, "
        "needs_reorder from analytics.stock_cover where days_of_cover is not null "
        "order by days_of_cover limit 15",
    )
    if got is None:
        return f"<section id='stock'><h2>Stock cover</h2>{_missing('stock_cover')}</section>"
    reorder = sum(1 for r in got[1] if r[5])
    chart = bar_chart([(r[0], float(r[3])) for r in got[1]], color=PALETTE[1], unit=" d")
    return (
        f"<section id='stock'><h2>Stock cover: the 15 products closest to running out</h2>"
        f"<p>{reorder} of them need reordering (cover below lead time + safety stock).</p>{chart}</section>"
    )


def _hours(con: duckdb.DuckDBPyConnection) -> str:
    got = _rows(
        con,
        "select h.location_name || "
        "case when l.is_permanently_closed then ' (permanently closed)' else '' end, "
        "h.weekday, h.opens_at, h.closes_at, h.is_closed from analytics.dim_location_hours h "
        "join analytics.dim_location l using (location_key) order by 1",
    )
    if got is None:
        return f"<section id='hours'><h2>Store opening hours</h2>{_missing('dim_location_hours')}</section>"
    grid: dict[str, dict[str, list[str]]] = {}
    for store, day, opens, closes, closed in got[1]:
        cell = grid.setdefault(store, {}).setdefault(day, [])
        cell.append("closed" if closed else f"{str(opens)[:5]}–{str(closes)[:5]}")
    head = "".join(f"<th>{d[:3]}</th>" for d in WEEKDAYS)
    body = "".join(
        f"<tr><td>{_esc(store)}</td>"
        + "".join(
            f'<td class="{"closed" if days.get(d, ["closed"]) == ["closed"] else "open"}">'
            f"{'<br>'.join(_esc(s) for s in days.get(d, ['closed']))}</td>"
            for d in WEEKDAYS
        )
        + "</tr>"
        for store, days in sorted(grid.items())
    )
    return (
        f"<section id='hours'><h2>Store opening hours</h2><table><thead><tr><th>store</th>{head}</tr></thead>"
        f"<tbody>{body}</tbody></table></section>"
    )


def write_report(db_path: Path, out: Path) -> Path:
    """Write the report to `out` (atomically) and return it."""
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")
    partial.write_text(build_report(db_path), encoding="utf-8")
    partial.replace(out)
    return out
