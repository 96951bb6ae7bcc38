"""Reliability cases for the shrink guard (issue 13, section 1), every source.

A full read (or PinMeTo's retiring of vanished stores, or Plugivery's `since=all`) that holds clearly less
than the warehouse is refused in one line, the warehouse as it was, unless the user allows it (the
`--allow-shrink` flag or `max_shrink` in the config). Short pages: tests/test_faults_short_reads.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pipelines.nightly import run_sources
from simulators.pinmeto import PinmetoSimulator
from simulators.pinnacle_cart import PinnacleCartSimulator
from simulators.pinogy import PinogySimulator
from simulators.plugivery import PlugiverySimulator
from tests.conftest import FaultRecord, cli, query, run, the_one_error_line
from tests.pinogy.test_source import assert_warehouse_equals_api
from tests.read_faults import (
    CART,
    PINMETO,
    PINOGY,
    PLUGIVERY,
    Loader,
    ReadFaults,
    current_stores,
    fault_case,
    pinmeto_figures,
)

pytest_plugins = ["tests.read_faults"]


@dataclass(frozen=True)
class Shrink:
    """A full read that holds clearly less than the warehouse: refused, then loaded with --allow-shrink."""

    reads: ReadFaults
    shrink: Callable[[Any], object]  # make the API answer clearly fewer rows than the warehouse holds
    error: Callable[[Any], str]  # (sim) -> how the refusal's one line starts
    holds: Callable[[Path, Any], None]  # asserts what the warehouse holds after --allow-shrink
    once: bool = False  # the shrink is a fault that answers once: set it again before the allowed run


def pinogy_without_100_pos(sim: PinogySimulator) -> None:
    for po_id in sorted(sim.pos)[:100]:
        sim.vanish_po(po_id)


def cart_without_30_customers(sim: PinnacleCartSimulator) -> None:
    with sim._lock:
        for user_id in sorted(sim.customers)[:30]:
            del sim.customers[user_id]


def cart_holds_90_customers(db: Path, sim: PinnacleCartSimulator) -> None:
    assert CART.warehouse(db)["customers"] == 90


def plugivery_short_full_list(sim: PlugiverySimulator) -> None:
    sim.faults.add("short", keep=50, path_contains="act=list&since=all")


def plugivery_drops_no_product(db: Path, sim: PlugiverySimulator) -> None:
    assert PLUGIVERY.warehouse(db)["products"] == len(sim.products)  # products are merged: none is dropped


@pytest.mark.parametrize(
    "case",
    [
        fault_case(
            "full read shrinks the table (POs gone from the API)",
            Shrink(
                PINOGY,
                pinogy_without_100_pos,
                lambda sim: (
                    "pinogy: GET /api/purchase_orders (full read): read 150 purchase_orders, the warehouse "
                    "holds 250: loading this read would shrink purchase_orders by 40%, more than max_shrink "
                    "10%; refusing to load (fix: check the API's data; if the rows really are gone, run "
                    "again with --allow-shrink (or set allow_shrink = true under [sources] in "
                    ".dlt/config.toml))"
                ),
                assert_warehouse_equals_api,
            ),
        ),
        fault_case(
            "full read shrinks customers (gone from the API)",
            Shrink(
                CART,
                cart_without_30_customers,
                lambda sim: (
                    "pinnacle_cart: GetCustomers (full read): read 90 customers, the warehouse holds 120: "
                    "loading this read would shrink customers by 25%, more than max_shrink 10%; refusing to "
                    "load (fix: "
                ),
                cart_holds_90_customers,
            ),
        ),
        fault_case(
            "short since=all list",
            Shrink(
                PLUGIVERY,
                plugivery_short_full_list,
                lambda sim: (
                    "plugivery: act=list since=all: read 50 products, the warehouse holds "
                    f"{len(sim.products)}: loading this read would shrink products by"
                ),
                plugivery_drops_no_product,
                once=True,
            ),
        ),
    ],
)
def test_a_full_read_that_shrinks_is_refused_unless_allowed(
    case: Shrink, db: Path, fault_record: FaultRecord, load: Loader
) -> None:
    sim = load(case.reads)
    case.shrink(sim)
    error = case.reads.refused_then_allowed(
        db, sim, fault_record, again=lambda: case.once and case.shrink(sim)
    )
    assert error.startswith(case.error(sim)), error
    case.holds(db, sim)


# --- one source's own cases ---------------------------------------------------------------------------
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


# --- the command line ----------------------------------------------------------------------------------
def test_cli_refuses_a_shrinking_full_refresh_with_one_line_then_allow_shrink_loads_it(
    db: Path, pinogy_loaded: PinogySimulator
) -> None:
    sim = pinogy_loaded
    pinogy_without_100_pos(sim)
    args = ("run", "--sources", "pinogy", "--db", str(db), "--full-refresh", "--skip-models")
    the_one_error_line(
        cli(*args), "read 150 purchase_orders, the warehouse holds 250", "run again with --allow-shrink"
    )
    assert query(db, "select count(*) from pinogy.purchase_orders") == [(250,)]
    allowed = cli(*args, "--allow-shrink")
    assert allowed.returncode == 0, allowed.stderr
    assert_warehouse_equals_api(db, sim)
