"""The HTML report, rendered by a real headless Chromium from a night loaded from all four simulators.

The browser test fails (never skips) when Chromium is missing: `make test` installs it as root.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pytest

from pipelines.history import record_run
from pipelines.models import build
from pipelines.nightly import SourceResult
from pipelines.report import write_report
from pipelines.report.spend import months_between, partial_notes
from pipelines.warehouse import DUCKDB, Warehouse
from simulators.pinmeto import PinmetoSimulator
from simulators.pinnacle_cart import PinnacleCartSimulator
from simulators.plugivery import PlugiverySimulator
from tests.browser import render
from tests.conftest import pinmeto_env_for, plugivery_env_for, query, run, set_env, small_world

SOURCES = ["pinogy", "pinnacle_cart", "pinmeto", "plugivery"]


@pytest.fixture
def night(db: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A warehouse after one recorded night of all four sources and the models; a third of the web shop's
    products nearly sold out (0 to 3 on hand), so that some need reordering and some are out of stock."""
    shop = PinnacleCartSimulator(n_customers=80, n_orders=600)
    for pid in shop.products:
        if pid % 3 == 0:
            shop.set_qoh(pid, pid % 4)
    with small_world(monkeypatch, shop):
        started_at = datetime.now(UTC)
        results = run(db, SOURCES)
        record_run(db, started_at, results)
    assert [r.status for r in results] == ["succeeded"] * 4, [r.error for r in results]
    assert build(Warehouse(DUCKDB, path=db)).ok
    return db


def _table(selector: str) -> str:
    """JavaScript returning a table's header texts and its rows' cell texts."""
    return (
        f"(() => {{ const t = document.querySelector({json.dumps(selector)}); return {{"
        "head: [...t.tHead.rows[0].cells].map(c => c.textContent),"
        "rows: [...t.tBodies[0].rows].map(r => [...r.cells].map(c => c.textContent)) }; })()"
    )


PAGE_CHECKS = [
    # 0: nothing fetched, nothing scripted
    "({resources: performance.getEntriesByType('resource').length,"
    " external: document.querySelectorAll('script, link, img, iframe, object, [src]').length})",
    # 1: freshness per source in the header
    "[...document.querySelectorAll('header .fresh li')]"
    ".map(li => [li.dataset.source, li.className, li.textContent])",
    # 2: the spend small multiples, one per store
    "[...document.querySelectorAll('#spend .panel')].map(p => ({name: p.querySelector('h4').textContent,"
    " closed: !!p.querySelector('.badge.closed'), partial: p.querySelectorAll('rect.partial').length,"
    " bars: p.querySelectorAll('rect.bar').length,"
    " labels: [...p.querySelectorAll('text')].map(t => t.textContent),"
    " width: p.getBoundingClientRect().width}))",
    # 3: texts
    "({title: document.querySelector('#spend h2').textContent,"
    " header: document.querySelector('header').textContent,"
    " legend: document.querySelector('#spend .legend').textContent,"
    " supplierTitle: document.querySelector('#spend h3').textContent,"
    " stockSub: document.querySelector('#stock .sub').textContent})",
    _table("#spend table"),
    _table("#margin table"),
    _table("#map table"),
    # 7: stock rows: the action badges, the drawn width of the cover bar, the reorder-point tick
    "[...document.querySelectorAll('#stock tbody tr')].map(r => ({name: r.cells[0].textContent,"
    " action: r.cells[1].textContent, cover: r.cells[4].textContent,"
    " bar: r.querySelector('.cover-bar').getBoundingClientRect().width,"
    " tick: r.querySelector('.reorder-point') !== null}))",
    # 8: hours rows: each cell's class and text
    "[...document.querySelectorAll('#hours tbody tr')]"
    ".map(r => [...r.cells].map(c => [c.className, c.textContent]))",
]


def test_report_renders_in_chromium_with_units_periods_and_marks(night: Path, tmp_path: Path) -> None:
    page = write_report(night, tmp_path / "report.html")
    shown = render(page, PAGE_CHECKS, screenshot=True)
    assert shown.errors == []
    assert shown.screenshot and shown.screenshot.startswith(b"\x89PNG")
    fetched, fresh, panels, texts, suppliers, margins, map_rows, stock, hours = shown.values

    assert fetched == {"resources": 0, "external": 0}
    assert "All amounts in US dollars (USD)" in texts["header"]
    assert sorted(f[0] for f in fresh) == sorted(SOURCES)
    assert all(cls == "is-fresh" and "loaded" in text and "UTC" in text for _, cls, text in fresh)

    # Spend: the title says what is plotted; one panel per store, ranked; the partial months marked.
    stores = {
        name
        for (name,) in query(night, "select distinct location_name from analytics.supplier_spend_monthly")
    }
    [(closed_store,)] = query(
        night, "select location_name from analytics.dim_location where is_permanently_closed"
    )
    assert texts["title"] == "Purchase spend per store, all suppliers (USD per month)"
    assert {p["name"].split(". ", 1)[1].replace("permanently closed", "") for p in panels} == stores
    assert [p["name"].split(".")[0] for p in panels] == [str(i) for i in range(1, len(stores) + 1)]
    assert [p["name"] for p in panels if p["closed"]] == [
        n for n in (p["name"] for p in panels) if closed_store in n
    ]
    months = len(months_between(date(2024, 11, 20), date(2026, 11, 20)))
    for panel in panels:
        assert panel["bars"] == months and panel["partial"] == 2  # Nov 2024 and Nov 2026
        assert "$0" in panel["labels"] and any(label.endswith("k") for label in panel["labels"])
        assert panel["width"] < 600  # small multiples side by side, not one wide chart
    assert "partial month (Nov 2024: data from" in texts["legend"]
    assert "Nov 2026: data through " in texts["legend"]
    assert "spend in USD per month" in texts["legend"]

    # Top supplier: one row per store, with the period in the title.
    assert texts["supplierTitle"].startswith("Top supplier per store, ") and "2026" in texts["supplierTitle"]
    assert sorted(r[0] for r in suppliers["rows"]) == sorted(stores)
    assert "spend (USD)" in suppliers["head"]
    assert all(r[2].startswith("$") and r[3].endswith("%") for r in suppliers["rows"])

    # Margins in USD per unit and in % of the price.
    assert "margin (USD per unit)" in margins["head"] and "margin (% of price)" in margins["head"]
    assert margins["rows"] and all(r[4].strip().lstrip("−").startswith("$") for r in margins["rows"])
    assert all(r[5].endswith(" %") for r in margins["rows"])
    assert "web price (USD)" in map_rows["head"] and "MAP (USD)" in map_rows["head"]

    # Stock cover: exactly the products the mart flags are marked reorder; every row draws its reorder point
    # and a bar that is visible even at 0 days.
    flagged = {
        name for (name,) in query(night, "select product_name from analytics.stock_cover where needs_reorder")
    }
    assert flagged and {r["name"] for r in stock if "reorder" in r["action"]} == flagged
    empty = [r for r in stock if r["cover"] == "0.0"]
    assert empty and all(r["action"].startswith("out of stock") and "ok" not in r["action"] for r in empty)
    assert f"{len(flagged)} of " in texts["stockSub"]
    assert all(r["tick"] and r["bar"] >= 2 for r in stock)

    # Hours: the closed store says so instead of listing hours; the others show their special hours.
    for cells in hours:
        if closed_store in cells[0][1]:
            assert cells[1] == ["store-closed", "permanently closed"] and len(cells) == 3
        else:
            assert len(cells) == 9 and "Christmas Eve" in cells[8][1] and "closed" in cells[8][1]


def test_report_header_marks_a_source_whose_last_run_failed(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pinmeto, plugivery = PinmetoSimulator(), PlugiverySimulator()
    with pinmeto, plugivery:
        set_env(monkeypatch, {**pinmeto_env_for(pinmeto), **plugivery_env_for(plugivery)})
        record_run(db, datetime.now(UTC), run(db, ["pinmeto"]))  # a good night for PinMeTo
        monkeypatch.setenv("SOURCES__PINMETO__APP_SECRET", "wrong-secret")
        monkeypatch.setenv("SOURCES__PLUGIVERY__TOKEN", "wrong-token")
        results = run(db, ["pinmeto", "plugivery"])  # then a night where both fail
        record_run(db, datetime.now(UTC), results)
    assert [r.status for r in results] == ["failed", "failed"]
    page = write_report(db, tmp_path / "report.html")
    shown = render(
        page,
        [
            "Object.fromEntries([...document.querySelectorAll('header .fresh li')]"
            ".map(li => [li.dataset.source, [li.className, li.textContent]]))"
        ],
    )
    assert shown.errors == []
    [fresh] = shown.values
    assert fresh["pinmeto"][0] == "is-failed" and "last run failed" in fresh["pinmeto"][1]
    assert "data from" in fresh["pinmeto"][1] and "UTC" in fresh["pinmeto"][1]  # the last good load
    assert (
        fresh["plugivery"] == ["is-failed", fresh["plugivery"][1]] and "never loaded" in fresh["plugivery"][1]
    )
    assert "wrong-secret" not in page.read_text() and "wrong-token" not in page.read_text()


def test_report_on_an_empty_warehouse_renders_and_says_what_is_missing(db: Path, tmp_path: Path) -> None:
    duckdb.connect(str(db)).close()
    shown = render(write_report(db, tmp_path / "report.html"), ["document.body.textContent"])
    assert shown.errors == []
    [text] = shown.values
    assert "Freshness unknown: no run history" in text and text.count("no data yet") == 5
    # A history with more columns than this report knows (later additions) still reads.
    record_run(db, datetime.now(UTC), [SourceResult("pinogy")])
    with duckdb.connect(str(db)) as con:
        con.execute("alter table ops.run_sources add column models_status varchar")
    page = write_report(db, tmp_path / "again.html").read_text()
    assert 'class="is-fresh" data-source="pinogy"' in page


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (date(2024, 11, 20), date(2026, 11, 20), {date(2024, 11, 1), date(2026, 11, 1)}),
        (date(2025, 1, 1), date(2025, 3, 31), set()),
        (date(2025, 1, 1), date(2025, 2, 27), {date(2025, 2, 1)}),
        (date(2025, 2, 3), date(2025, 2, 10), {date(2025, 2, 1)}),
    ],
)
def test_partial_months_are_the_ones_the_period_only_partly_covers(
    start: date, end: date, expected: set[date]
) -> None:
    assert set(partial_notes(start, end)) == expected
