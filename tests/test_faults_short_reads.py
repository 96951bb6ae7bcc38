"""Reliability cases for short reads (issue 13, section 1), every source.

A short read never shrinks the warehouse: an empty or short page while the API's total says more remain
is read again and then fails the source; a full read (or PinMeTo's retiring of vanished stores, or
Plugivery's `since=all`) that holds clearly less than the API counts or the warehouse holds is refused
unless the user allows it. Each case asserts the warehouse afterwards (unchanged on failure) and the
one-line error. Endless paging: tests/test_faults_paging.py; the shared machinery: tests/read_faults.py.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pipelines.nightly import run_sources
from simulators.pinmeto import PinmetoSimulator
from simulators.pinnacle_cart import PinnacleCartSimulator
from simulators.pinogy import PinogySimulator
from simulators.plugivery import PlugiverySimulator
from tests.conftest import FaultRecord, cli, query, run, the_one_error_line
from tests.pinogy.test_source import assert_warehouse_equals_api, list_offsets
from tests.read_faults import (
    CART,
    PERSISTENT,
    PINMETO,
    PINOGY,
    PLUGIVERY,
    Refused,
    cart_calls,
    cart_figures,
    current_stores,
    on_call,
    pinmeto_figures,
    pinogy_figures,
    refused_case,
)

pytest_plugins = ["tests.read_faults"]


# --- Pinogy --------------------------------------------------------------------------------------------
@pytest.mark.fault("pinogy", "empty middle page (total says more), full refresh")
def test_pinogy_empty_middle_page_fails_and_keeps_the_warehouse(
    db: Path, pinogy_loaded: PinogySimulator, fault_record: FaultRecord
) -> None:
    sim = pinogy_loaded
    sim.faults.add("short", keep=0, times=PERSISTENT, path_contains="offset=100")
    failed = PINOGY.refused(db, sim, fault_record, retries=2, full_refresh=True)
    assert failed.error == (
        "pinogy: GET /api/purchase_orders offset=100: empty page though the API's total is 250 purchase "
        "orders (3 tries) (fix: retry later; report it to Pinogy if it persists; nothing from this run "
        "was loaded)"
    )
    assert list_offsets(sim).count(100) == 3
    assert_warehouse_equals_api(db, sim)


@pytest.mark.fault("pinogy", "empty middle page once (total says more)")
def test_pinogy_empty_page_once_is_read_again(
    db: Path, pinogy_loaded: PinogySimulator, fault_record: FaultRecord
) -> None:
    sim = pinogy_loaded
    sim.faults.add("short", keep=0, times=1, path_contains="offset=150")
    [result] = run(db, ["pinogy"], full_refresh=True)
    fault_record.record(**pinogy_figures(db, sim), retries=1, exit_status=result.status)
    assert result.status == "succeeded", result.error
    assert list_offsets(sim) == [0, 50, 100, 150, 150, 200]
    assert_warehouse_equals_api(db, sim)


@pytest.mark.fault("pinogy", "full read shrinks the table (POs gone from the API)")
def test_pinogy_full_read_that_shrinks_is_refused_unless_allowed(
    db: Path, pinogy_loaded: PinogySimulator, fault_record: FaultRecord
) -> None:
    sim = pinogy_loaded
    for po_id in sorted(sim.pos)[:100]:
        sim.vanish_po(po_id)
    assert PINOGY.refused_then_allowed(db, sim, fault_record) == (
        "pinogy: GET /api/purchase_orders (full read): read 150 purchase_orders, the warehouse holds 250: "
        "loading this read would shrink purchase_orders by 40%, more than max_shrink 10%; refusing to load "
        "(fix: check the API's data; if the rows really are gone, run again with --allow-shrink (or set "
        "allow_shrink = true under [sources] in .dlt/config.toml))"
    )
    assert_warehouse_equals_api(db, sim)


def test_pinogy_shrink_limit_comes_from_config(
    db: Path, pinogy_loaded: PinogySimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = pinogy_loaded
    for po_id in sorted(sim.pos)[:50]:
        sim.vanish_po(po_id)
    [refused] = run(db, ["pinogy"], full_refresh=True)
    assert refused.status == "failed" and "shrink purchase_orders by 20%" in str(refused.error)
    monkeypatch.setenv("SOURCES__MAX_SHRINK", "0.25")  # [sources] max_shrink = 0.25: every source
    [result] = run(db, ["pinogy"], full_refresh=True)
    assert result.status == "succeeded", result.error  # 20% fewer POs: within the configured 25%
    assert_warehouse_equals_api(db, sim)


# --- Pinnacle Cart -------------------------------------------------------------------------------------
@pytest.mark.fault("pinnacle_cart", "empty middle page <Response/> (count says more), full refresh")
def test_cart_empty_middle_page_fails_and_keeps_the_warehouse(
    db: Path, pinnacle_cart_loaded: PinnacleCartSimulator, fault_record: FaultRecord
) -> None:
    sim = pinnacle_cart_loaded
    sim.faults.add("short", keep=0, times=PERSISTENT, when=on_call("GetOrders", StartNumber="200"))
    failed = CART.refused(db, sim, fault_record, retries=2, full_refresh=True)
    assert failed.error == (
        "pinnacle_cart: GetOrders StartNumber=200: empty batch though GetOrderCount says 400 (3 tries) "
        "(fix: retry later; report it to the shop if it persists; nothing from this run was loaded)"
    )
    assert [c["StartNumber"] for c in cart_calls(sim, "GetOrders")] == ["0", "100", "200", "200", "200"]


@pytest.mark.fault("pinnacle_cart", "empty middle page once (count says more)")
def test_cart_empty_page_once_is_read_again(
    db: Path, pinnacle_cart_loaded: PinnacleCartSimulator, fault_record: FaultRecord
) -> None:
    sim = pinnacle_cart_loaded
    sim.faults.add("short", keep=0, times=1, when=on_call("GetCustomers", StartNumber="100"))
    [result] = run(db, ["pinnacle_cart"], full_refresh=True)
    fault_record.record(**cart_figures(db, sim), retries=1, exit_status=result.status)
    assert result.status == "succeeded", result.error
    assert [c["StartNumber"] for c in cart_calls(sim, "GetCustomers")] == ["0", "100", "100"]
    assert CART.warehouse(db)["customers"] == len(sim.customers)


@pytest.mark.fault("pinnacle_cart", "full read shrinks customers (gone from the API)")
def test_cart_full_read_that_shrinks_is_refused_unless_allowed(
    db: Path, pinnacle_cart_loaded: PinnacleCartSimulator, fault_record: FaultRecord
) -> None:
    sim = pinnacle_cart_loaded
    with sim._lock:
        for user_id in sorted(sim.customers)[:30]:
            del sim.customers[user_id]
    assert CART.refused_then_allowed(db, sim, fault_record).startswith(
        "pinnacle_cart: GetCustomers (full read): read 90 customers, the warehouse holds 120: loading this "
        "read would shrink customers by 25%, more than max_shrink 10%; refusing to load (fix: "
    )
    assert CART.warehouse(db)["customers"] == 90


# --- PinMeTo -------------------------------------------------------------------------------------------
@pytest.mark.fault("pinmeto", "empty middle page: stores would be retired")
def test_pinmeto_short_read_does_not_retire_stores(
    db: Path, pinmeto_loaded: PinmetoSimulator, fault_record: FaultRecord
) -> None:
    sim = pinmeto_loaded
    before = current_stores(db)
    sim.faults.add("short", keep=0, path_contains="next=")  # page 2 answers no stores, links on
    refused = PINMETO.refused(db, sim, fault_record)
    assert str(refused.error).startswith(
        "pinmeto: GET /v1/testchain/locations: read 4 locations, the warehouse holds 6: loading this "
        "read would shrink locations by 33%, more than max_shrink 10%; refusing to load (fix: "
    )
    assert query(db, "select count(*) from pinmeto.locations") == [(6,)]  # nothing retired
    [again] = run(db, ["pinmeto"])
    fault_record.record(**pinmeto_figures(db, sim), retries=0, exit_status=f"failed, then {again.status}")
    assert again.status == "succeeded", again.error
    assert current_stores(db) == before


def test_pinmeto_stores_really_gone_are_retired_with_allow_shrink(
    db: Path, pinmeto_loaded: PinmetoSimulator
) -> None:
    sim = pinmeto_loaded
    gone = sorted(sim.truth())[:2]
    for store_id in gone:
        sim.remove_store(store_id)
    [refused] = run(db, ["pinmeto"])
    assert refused.status == "failed" and "read 4 locations, the warehouse holds 6" in str(refused.error)
    [allowed] = run_sources(db, ["pinmeto"], allow_shrink=True)
    assert allowed.status == "succeeded", allowed.error
    assert {r[0] for r in current_stores(db)} == set(sim.truth())


# --- Plugivery -----------------------------------------------------------------------------------------
@pytest.mark.fault("plugivery", "short since=all list")
def test_plugivery_short_full_list_is_refused_unless_allowed(
    db: Path, plugivery_loaded: PlugiverySimulator, fault_record: FaultRecord
) -> None:
    sim = plugivery_loaded

    def short_list() -> None:
        sim.faults.add("short", keep=50, path_contains="act=list&since=all")

    short_list()
    assert PLUGIVERY.refused_then_allowed(db, sim, fault_record, again=short_list).startswith(
        f"plugivery: act=list since=all: read 50 products, the warehouse holds {len(sim.products)}: loading "
        "this read would shrink products by"
    )
    assert PLUGIVERY.warehouse(db)["products"] == len(sim.products)  # products are merged: none is dropped


def plugivery_empty_brand_list(sim: PlugiverySimulator, env: pytest.MonkeyPatch) -> None:
    sim.advance(1)  # brands and categories are read once a day
    sim.faults.add("short", keep=0, path_contains="act=list_brands")


# --- short reads refused in one line: the fault, the error's start, what else must hold ----------------
@pytest.mark.parametrize(
    "case",
    [
        refused_case(
            "short product page (BatchPage paging, count says more)",
            Refused(
                CART,
                lambda sim, env: sim.faults.add(
                    "short", keep=40, times=PERSISTENT, when=on_call("GetProducts", BatchPage="3")
                ),
                "pinnacle_cart: GetProducts BatchPage=3: 40 products in a page of 100 though GetProductCount "
                "says 509 and 200 were read before it (if the shop caps BatchSize, set batch_size to that "
                "cap) (3 tries)",
                retries=2,
                full_refresh=True,
            ),
        ),
        refused_case(
            "empty list_brands (replaces brands)",
            Refused(
                PLUGIVERY,
                plugivery_empty_brand_list,
                "plugivery: act=list_brands: read 0 brands, the warehouse holds ",
                lambda sim, error: error.startswith(
                    f"plugivery: act=list_brands: read 0 brands, the warehouse holds {len(sim.brands)}"
                ),
            ),
        ),
    ],
)
def test_a_short_read_is_refused_and_keeps_the_warehouse(
    case: Refused, refuse: Callable[[Refused], None]
) -> None:
    refuse(case)


# --- the command line ----------------------------------------------------------------------------------
def test_cli_refuses_a_shrinking_full_refresh_with_one_line_then_allow_shrink_loads_it(
    db: Path, pinogy_loaded: PinogySimulator
) -> None:
    sim = pinogy_loaded
    for po_id in sorted(sim.pos)[:100]:
        sim.vanish_po(po_id)
    args = ("run", "--sources", "pinogy", "--db", str(db), "--full-refresh", "--skip-models")
    the_one_error_line(
        cli(*args), "read 150 purchase_orders, the warehouse holds 250", "run again with --allow-shrink"
    )
    assert query(db, "select count(*) from pinogy.purchase_orders") == [(250,)]
    allowed = cli(*args, "--allow-shrink")
    assert allowed.returncode == 0, allowed.stderr
    assert_warehouse_equals_api(db, sim)
