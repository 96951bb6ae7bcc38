"""What every section of the report shares: the style sheet, escaping, money and date formats, tables."""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from pipelines.warehouse import Connection, engine_errors, is_missing_relation

# None of the four APIs names a currency; every store is in the US (Pinogy's and PinMeTo's addresses).
CURRENCY = "USD"
SYMBOL = "$"

CSS = """
body { font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; margin: 2rem auto;
       max-width: 1140px; color: #222; background: #fafafa; padding: 0 1rem; }
h1 { margin-bottom: 0.2rem; } h2 { margin: 0.2rem 0; } h3 { margin: 1.2rem 0 0.4rem; }
.sub { color: #555; margin: 0.2rem 0 0.8rem; font-size: 0.92rem; }
section { background: #fff; border: 1px solid #e3e3e3; border-radius: 8px; padding: 1rem 1.5rem;
          margin: 1.5rem 0; }
table { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
th, td { text-align: left; padding: 0.3rem 0.5rem; border-bottom: 1px solid #eee; vertical-align: middle; }
th { font-weight: 600; color: #444; font-size: 0.82rem; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.chart, th.chart { padding: 0.1rem 0.5rem; width: 260px; }
.empty { color: #777; font-style: italic; }
.legend { font-size: 0.85rem; color: #444; margin: 0.3rem 0 0.6rem; }
.legend span { display: inline-block; margin-right: 1.2rem; }
.legend svg { vertical-align: middle; margin-right: 0.3rem; }
.badge { display: inline-block; font-size: 0.72rem; font-weight: 700; letter-spacing: 0.03em;
         border-radius: 3px; padding: 0.05rem 0.35rem; margin-left: 0.4rem; text-transform: uppercase; }
.badge.closed { background: #5b5b5b; color: #fff; } .badge.reorder { background: #c0392b; color: #fff; }
.badge.ok { background: #e7f4ea; color: #2d6a3e; } .badge.out { background: #7b1d12; color: #fff; }
.multiples { display: grid; grid-template-columns: repeat(auto-fill, minmax(340px, 1fr));
             gap: 0.8rem 1.2rem; }
.panel h4 { margin: 0.4rem 0 0; font-size: 0.95rem; white-space: nowrap; overflow: hidden;
            text-overflow: ellipsis; }
.panel .stats { margin: 0.1rem 0 0.2rem; font-size: 0.82rem; color: #555; }
.panel.is-closed { opacity: 0.75; }
td.open { background: #e7f4ea; } td.shut { background: #f6e1df; color: #8a3b33; }
table.hours td { font-size: 0.8rem; white-space: nowrap; }
table.hours td:first-child, table.hours td.special { white-space: normal; } td.special { min-width: 15rem; }
svg text { font-family: inherit; }
th.num { white-space: normal; } td:first-child { min-width: 12rem; }
td.store-closed { background: #eee; color: #555; font-weight: 600; text-align: center; }
td.special { font-size: 0.82rem; }
.bad { color: #c0392b; font-weight: 600; }
header .fresh { display: flex; flex-wrap: wrap; gap: 0.5rem; margin: 0.6rem 0 0; padding: 0;
                list-style: none; }
header .fresh li { border: 1px solid #ddd; border-radius: 6px; padding: 0.3rem 0.6rem; font-size: 0.85rem;
                   background: #fff; }
header .fresh li.is-fresh { border-color: #9bc9a7; }
header .fresh li.is-stale { border-color: #e0a84f; background: #fff7e8; }
header .fresh li.is-failed { border-color: #d08b83; background: #fbeeec; }
header .fresh b { margin-right: 0.3rem; }
"""


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def money(value: Any, cents: bool = True) -> str:
    """Return `value` as dollars with thousands separators ("$1,234.50", "−$3.00"), "" for None."""
    if value is None:
        return ""
    amount = float(value)
    text = f"{SYMBOL}{abs(amount):,.2f}" if cents else f"{SYMBOL}{abs(amount):,.0f}"
    return f"−{text}" if amount < 0 else text


def money_short(value: float) -> str:
    """Return an axis label: "$0", "$50k", "$1.2M"."""
    if abs(value) >= 1_000_000:
        return f"{SYMBOL}{value / 1_000_000:,.1f}M".replace(".0M", "M")
    if abs(value) >= 1_000:
        return f"{SYMBOL}{value / 1_000:,.0f}k"
    return f"{SYMBOL}{value:,.0f}"


def day(value: date | datetime) -> str:
    return f"{value.day} {value:%b %Y}"


def month(value: date) -> str:
    return f"{value:%b %Y}"


def rows(con: Connection, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]] | None:
    """Return the query's rows, or None when a relation it reads has not been built."""
    try:
        return con.fetchall(sql, list(params))
    except engine_errors() as exc:
        if is_missing_relation(exc):
            return None
        raise


def table(headers: Sequence[str], body: Sequence[Sequence[Any]], classes: Sequence[str] = ()) -> str:
    """Return an HTML table; headers and cells are already HTML, `classes` styles each column ("num")."""

    def cls(i: int) -> str:
        return f' class="{classes[i]}"' if i < len(classes) and classes[i] else ""

    head = "".join(f"<th{cls(i)}>{h}</th>" for i, h in enumerate(headers))
    lines = "".join(
        "<tr>" + "".join(f"<td{cls(i)}>{c}</td>" for i, c in enumerate(r)) + "</tr>" for r in body
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{lines}</tbody></table>"


def section(key: str, title: str, sub: str, body: str) -> str:
    return f"<section id='{key}'><h2>{esc(title)}</h2><p class=\"sub\">{sub}</p>{body}</section>"


def missing(key: str, title: str, relation: str) -> str:
    note = f"no data yet: analytics.{relation} has not been built (run the sources and models)."
    return f"<section id='{key}'><h2>{esc(title)}</h2><p class=\"empty\">{esc(note)}</p></section>"
