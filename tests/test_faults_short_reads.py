"""Reliability cases for short pages (issue 13, section 1), every source.

An empty or short page while the API's total says more remain is read again, and then fails the source
in one line, leaving the warehouse and the source's state as they were. A whole read that holds less than
the warehouse: tests/test_faults_shrink.py; endless paging: tests/test_faults_paging.py; what they share:
tests/read_faults.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from simulators.pinnacle_cart import PinnacleCartSimulator
from simulators.pinogy import PinogySimulator
from simulators.plugivery import PlugiverySimulator
from tests.conftest import FaultRecord, run
from tests.pinogy.test_source import assert_warehouse_equals_api, list_offsets
from tests.read_faults import (
    CART,
    PERSISTENT,
    PINOGY,
    PLUGIVERY,
    Loader,
    ReadFaults,
    Refused,
    cart_calls,
    fault_case,
    on_call,
)

pytest_plugins = ["tests.read_faults"]


# --- short pages refused in one line, every source ----------------------------------------------------------
def pinogy_page_read_three_times(db: Path, sim: PinogySimulator, error: str) -> bool:
    assert_warehouse_equals_api(db, sim)
    return list_offsets(sim).count(100) == 3


def cart_batch_read_three_times(db: Path, sim: PinnacleCartSimulator, error: str) -> bool:
    return [c["StartNumber"] for c in cart_calls(sim, "GetOrders")] == ["0", "100", "200", "200", "200"]


def always_short(keep: int, **where: Any) -> Callable[[Any, pytest.MonkeyPatch], object]:
    """A fault: the page `where` answers `keep` records, however often it is asked for again."""
    return lambda sim, env: sim.faults.add("short", keep=keep, times=PERSISTENT, **where)


def plugivery_empty_brand_list(sim: PlugiverySimulator, env: pytest.MonkeyPatch) -> None:
    sim.advance(1)  # brands and categories are read once a day
    sim.faults.add("short", keep=0, path_contains="act=list_brands")


@pytest.mark.parametrize(
    "case",
    [
        fault_case(
            "empty middle page (total says more), full refresh",
            Refused(
                PINOGY,
                always_short(0, path_contains="offset=100"),
                "pinogy: GET /api/purchase_orders offset=100: empty page though the API's total is 250 "
                "purchase orders (3 tries) (fix: retry later; report it to Pinogy if it persists; nothing "
                "from this run was loaded)",
                pinogy_page_read_three_times,
                retries=2,
                full_refresh=True,
                whole=True,
            ),
        ),
        fault_case(
            "empty middle page <Response/> (count says more), full refresh",
            Refused(
                CART,
                always_short(0, when=on_call("GetOrders", StartNumber="200")),
                "pinnacle_cart: GetOrders StartNumber=200: empty batch though GetOrderCount says 400 (3 "
                "tries) (fix: retry later; report it to the shop if it persists; nothing from this run was "
                "loaded)",
                cart_batch_read_three_times,
                retries=2,
                full_refresh=True,
                whole=True,
            ),
        ),
        fault_case(
            "short product page (BatchPage paging, count says more)",
            Refused(
                CART,
                always_short(40, when=on_call("GetProducts", BatchPage="3")),
                "pinnacle_cart: GetProducts BatchPage=3: 40 products in a page of 100 though GetProductCount "
                "says 509 and 200 were read before it (if the shop caps BatchSize, set batch_size to that "
                "cap) (3 tries)",
                retries=2,
                full_refresh=True,
            ),
        ),
        fault_case(
            "empty list_brands (replaces brands)",
            Refused(
                PLUGIVERY,
                plugivery_empty_brand_list,
                "plugivery: act=list_brands: read 0 brands, the warehouse holds ",
                lambda db, sim, error: error.startswith(
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


@dataclass(frozen=True)
class ReadAgain:
    """An empty page, once, where the API's count says more: read again, and everything loads."""

    reads: ReadFaults
    where: dict[str, Any]  # which request answers the empty page (a fault switch's filter)
    calls: Callable[[Any], list[Any]]  # what the source asked for, in order
    expected_calls: list[Any]
    holds: Callable[[Path, Any], None]  # asserts the warehouse holds what the API holds


def cart_holds_every_customer(db: Path, sim: PinnacleCartSimulator) -> None:
    assert CART.warehouse(db)["customers"] == len(sim.customers)


@pytest.mark.parametrize(
    "case",
    [
        fault_case(
            "empty middle page once (total says more)",
            ReadAgain(
                PINOGY,
                {"path_contains": "offset=150"},
                list_offsets,
                [0, 50, 100, 150, 150, 200],
                assert_warehouse_equals_api,
            ),
        ),
        fault_case(
            "empty middle page once (count says more)",
            ReadAgain(
                CART,
                {"when": on_call("GetCustomers", StartNumber="100")},
                lambda sim: [c["StartNumber"] for c in cart_calls(sim, "GetCustomers")],
                ["0", "100", "100"],
                cart_holds_every_customer,
            ),
        ),
    ],
)
def test_an_empty_page_once_is_read_again(
    case: ReadAgain, db: Path, fault_record: FaultRecord, load: Loader
) -> None:
    sim = load(case.reads)
    sim.faults.add("short", keep=0, times=1, **case.where)
    [result] = run(db, [case.reads.source], full_refresh=True)
    fault_record.record(**case.reads.figures(db, sim), retries=1, exit_status=result.status)
    assert result.status == "succeeded", result.error
    assert case.calls(sim) == case.expected_calls
    case.holds(db, sim)
