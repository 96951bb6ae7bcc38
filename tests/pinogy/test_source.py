"""The Pinogy source end to end: simulator over real HTTP → dlt → a real DuckDB file."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from pipelines.nightly import make_pipeline
from simulators.pinogy import PinogySimulator
from tests.conftest import column_types, query, run


def assert_warehouse_equals_api(db: Path, sim: PinogySimulator) -> None:
    pos, lines = sim.truth()
    got_pos = {
        r[0]: r[1:] for r in query(db, "select id, grand_total, is_open, deleted from pinogy.purchase_orders")
    }
    assert len(got_pos) == len(query(db, "select id from pinogy.purchase_orders")), "duplicate PO ids"
    assert got_pos == {i: (Decimal(p["grand_total"]), p["is_open"], p["deleted"]) for i, p in pos.items()}
    got_lines = query(db, "select id, transaction_id, qty, expected_cost from pinogy.purchase_order_lines")
    assert len(got_lines) == len({r[0] for r in got_lines}), "duplicate line ids"
    assert {r[0]: r[1:] for r in got_lines} == {
        i: (ln["transaction_id"], Decimal(ln["qty"]), Decimal(ln["expected_cost"])) for i, ln in lines.items()
    }


def list_offsets(sim: PinogySimulator) -> list[int]:
    return [int(c.params["offset"]) for c in sim.calls if c.path == "/api/purchase_orders"]


pytestmark = pytest.mark.usefixtures("pinogy_env")


def first_run_in_pages_of(size: int, db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Have this test read POs `size` a page, and load all of them."""
    monkeypatch.setenv("SOURCES__PINOGY__PAGE_SIZE", str(size))
    [first] = run(db, ["pinogy"])
    assert first.status == "succeeded", first.error


def test_first_run_loads_every_po_and_line_with_types(db: Path, pinogy_sim: PinogySimulator) -> None:
    [result] = run(db, ["pinogy"])
    assert result.status == "succeeded", result.error
    assert_warehouse_equals_api(db, pinogy_sim)
    types = column_types(db, "pinogy")
    assert types["purchase_order_lines.qty"] == "DECIMAL(18,4)"
    assert types["purchase_order_lines.posted_on"] == "TIMESTAMP WITH TIME ZONE"
    [(options,)] = query(db, "select options from pinogy.purchase_orders where options <> '{}' limit 1")
    assert "Lead Time Days" in options
    # 250 POs, 1000 a page: one page, plus login and logout.
    assert list_offsets(pinogy_sim) == [0]
    assert result.rows["purchase_orders"] == 250


def test_second_run_reflects_changes_reads_only_recent_pages(
    db: Path, pinogy_sim: PinogySimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    first_run_in_pages_of(20, db, monkeypatch)
    open_ids = pinogy_sim.open_po_ids()
    assert len(open_ids) >= 4
    new_po = pinogy_sim.open_po(n_lines=5)
    pinogy_sim.add_line(open_ids[0])
    removed = pinogy_sim.remove_line(open_ids[1])
    pinogy_sim.close_po(open_ids[2])
    pinogy_sim.delete_po(open_ids[3])
    emptied = open_ids[-1]
    while pinogy_sim.lines[emptied]:
        pinogy_sim.remove_line(emptied)
    pinogy_sim.reset_calls()

    [result] = run(db, ["pinogy"])
    assert result.status == "succeeded", result.error
    assert_warehouse_equals_api(db, pinogy_sim)
    assert query(db, "select count(*) from pinogy.purchase_order_lines where id = ?", [removed]) == [(0,)]
    assert query(
        db, "select count(*) from pinogy.purchase_order_lines where transaction_id = ?", [emptied]
    ) == [(0,)]
    assert query(db, "select deleted from pinogy.purchase_orders where id = ?", [open_ids[3]]) == [(True,)]
    assert query(db, "select count(*) from pinogy.purchase_orders where id = ?", [new_po]) == [(1,)]
    # 250 POs in pages of 20 is 13 pages; the second night reads only the newest pages plus single POs.
    offsets = list_offsets(pinogy_sim)
    assert offsets and max(offsets) <= 40, offsets
    singles = [c for c in pinogy_sim.calls if c.path.startswith("/api/purchase_orders/")]
    assert len(offsets) + len(singles) < 13


def test_rerun_without_changes_doubles_nothing(db: Path, pinogy_sim: PinogySimulator) -> None:
    run(db, ["pinogy"])
    [result] = run(db, ["pinogy"])
    assert result.status == "succeeded"
    assert_warehouse_equals_api(db, pinogy_sim)


def test_full_refresh_drops_vanished_pos_and_rereads_closed_ones(
    db: Path, pinogy_sim: PinogySimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    first_run_in_pages_of(100, db, monkeypatch)  # three pages: the night reads one of them
    closed = next(i for i, p in pinogy_sim.pos.items() if not p["is_open"])
    pinogy_sim.vanish_po(closed)
    [incremental] = run(db, ["pinogy"])
    assert query(db, "select count(*) from pinogy.purchase_orders where id = ?", [closed]) == [(1,)]
    [full] = run(db, ["pinogy"], full_refresh=True)
    assert incremental.status == full.status == "succeeded"
    assert query(db, "select count(*) from pinogy.purchase_orders where id = ?", [closed]) == [(0,)]
    assert_warehouse_equals_api(db, pinogy_sim)


def test_an_open_po_that_vanished_is_counted_not_a_failure(
    db: Path, pinogy_sim: PinogySimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    first_run_in_pages_of(30, db, monkeypatch)
    oldest_open = min(pinogy_sim.open_po_ids(), key=lambda i: pinogy_sim.pos[i]["opened_on"])
    pinogy_sim.vanish_po(oldest_open)
    pinogy_sim.ignore_order_by = {"is_open"}  # no open-first walk: old open POs are read one by one
    [result] = run(db, ["pinogy"])
    assert result.status == "succeeded", result.error
    assert pinogy_sim.calls_to(f"/api/purchase_orders/{oldest_open}")  # read by itself: a 404


def test_an_incremental_night_uses_every_page_it_requests(
    db: Path, pinogy_sim: PinogySimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCES__PINOGY__LOOKBACK_HOURS", "9000")  # a window several pages deep
    first_run_in_pages_of(20, db, monkeypatch)
    pinogy_sim.reset_calls()
    [result] = run(db, ["pinogy"])
    assert result.status == "succeeded", result.error
    last_run = make_pipeline("pinogy", db).state["sources"]["pinogy"]["resources"]["purchase_orders"][
        "last_run"
    ]
    assert last_run["pages"] >= 3, last_run  # the walk read ahead inside the window ...
    assert len(list_offsets(pinogy_sim)) == last_run["pages"]  # ... and never fetched a page it dropped
    assert_warehouse_equals_api(db, pinogy_sim)
