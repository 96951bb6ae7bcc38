"""Reliability cases for endless paging (issue 13, section 4), every source.

Paging always ends: a next link already followed, a page identical to one already read, or more pages
than the total allows stops the source in one line, and the warehouse stays as it was. Short reads:
tests/test_faults_short_reads.py; the shared machinery: tests/read_faults.py.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from simulators.pinnacle_cart import PinnacleCartSimulator
from simulators.pinogy import PinogySimulator
from tests import read_faults as reads
from tests.conftest import FaultRecord, query, run
from tests.pinogy.test_source import assert_warehouse_equals_api, list_offsets
from tests.read_faults import Refused, fault_case

pytest_plugins = ["tests.read_faults"]


@pytest.mark.fault("pinogy", "a page identical to the one before")
def test_pinogy_repeated_page_fails_the_source(
    db: Path, pinogy_loaded: PinogySimulator, fault_record: FaultRecord
) -> None:
    sim = pinogy_loaded
    new_po = sim.open_po(n_lines=2)
    sim.faults.add("repeat", path_contains="offset=100")
    failed = reads.PINOGY.refused(db, sim, fault_record, full_refresh=True)
    assert failed.error is not None and "offset=100: page 3 repeats page 2" in failed.error
    [again] = run(db, ["pinogy"])  # the state did not move: the next night finds the new PO
    fault_record.record(
        **reads.pinogy_figures(db, sim), retries=0, exit_status=f"failed, then {again.status}"
    )
    assert again.status == "succeeded", again.error
    assert query(db, "select count(*) from pinogy.purchase_orders where id = ?", [new_po]) == [(1,)]
    assert_warehouse_equals_api(db, sim)


def cart_night_with_a_repeated_page(sim: PinnacleCartSimulator, env: pytest.MonkeyPatch) -> None:
    env.setenv("SOURCES__PINNACLE_CART__ORDER_LOOKBACK_DAYS", "120")  # a window of 3 pages
    sim.faults.add("repeat", times=reads.PERSISTENT, when=reads.on_call("GetOrders", StartNumber="100"))


@pytest.mark.parametrize(
    "case",
    [
        fault_case(
            "server ignores offset, announces a huge total",
            Refused(
                reads.PINOGY,
                lambda sim, env: sim.faults.add(
                    "ignore_offset", total=10**9, times=reads.PERSISTENT, path_contains="/api/purchase_orders"
                ),
                "pinogy: GET /api/purchase_orders offset=50: page 2 repeats page 1 (50 records, same keys in "
                "the same order): the API is not moving through the list (fix: report it to Pinogy;",
                lambda db, sim, error: len(list_offsets(sim)) <= 3,  # the page read ahead at most
                full_refresh=True,
            ),
        ),
        fault_case(
            "a page identical to the one before",
            Refused(
                reads.CART,
                lambda sim, env: sim.faults.add("repeat", when=reads.on_call("GetOrders", StartNumber="300")),
                "pinnacle_cart: GetOrders StartNumber=300: page 4 repeats page 3 (100 records",
                full_refresh=True,
            ),
        ),
        fault_case(
            "a night's page identical to the one before (no count to stop at)",
            Refused(
                reads.CART,
                cart_night_with_a_repeated_page,
                "pinnacle_cart: GetOrders ",
                lambda db, sim, error: (
                    "StartNumber=100: page 2 repeats page 1 (100 records" in error
                    and len(reads.cart_calls(sim, "GetOrders")) == 2
                ),
            ),
        ),
        fault_case(
            "empty page whose next link points to itself",
            Refused(
                reads.PINMETO,
                lambda sim, env: sim.faults.add("self_link", times=reads.PERSISTENT, path_contains="next="),
                "pinmeto: GET /v1/testchain/locations: the next-page link after page 2 points to a page "
                "already read (fix: report it to PinMeTo; nothing from this run was loaded)",
                lambda db, sim, error: len(sim.calls_to("/locations")) == 2,
            ),
        ),
        fault_case(
            "a page identical to the one before",
            Refused(
                reads.PINMETO,
                lambda sim, env: sim.faults.add("repeat", path_contains="next="),
                "pinmeto: GET /v1/testchain/locations: page 2 repeats page 1 (2 records",
            ),
        ),
    ],
)
def test_endless_paging_is_refused_and_keeps_the_warehouse(
    case: Refused, refuse: Callable[[Refused], None]
) -> None:
    refuse(case)
