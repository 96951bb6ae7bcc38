"""The reliability matrix for Pinnacle Cart, PinMeTo and Plugivery: pages that are broken, that hold what
the source did not expect, or that change while the source reads them (tests/test_faults_all.py: faults of
the connection and the run).

Each case fails the run in one line or loads the change, then compares the warehouse with what the simulator
holds: every key present once, nothing lost.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FaultRecord, column_types, query, run
from tests.fault_matrix import CASES, check, matrix, source

pytest_plugins = ["tests.fault_matrix"]


def fails_once_then_loads(db: Path, name: str, sim: Any, record: FaultRecord, *expected: str) -> None:
    """The bad page fails the run in one line naming the source (and holding `expected`); the next run,
    the page read right, loads everything."""
    [failed] = run(db, [name])
    error = failed.error or ""
    assert failed.status == "failed"
    assert error.startswith(f"{name}: ") and "\n" not in error
    assert all(text in error for text in expected), error
    [again] = run(db, [name])
    assert again.status == "succeeded", again.error
    check(db, name, sim, record, f"{failed.status}, then {again.status}")


@pytest.mark.parametrize("name", matrix("malformed page (truncated body)"))
def test_truncated_page(name: str, db: Path, fault_record: FaultRecord, sim: Any) -> None:
    sim.faults.add("truncate", times=1, after=1, path_contains=CASES[name].path)
    fails_once_then_loads(db, name, sim, fault_record)


@pytest.mark.fault("plugivery", "malformed page: unknown error code")
def test_plugivery_unknown_error_code(
    db: Path, fault_record: FaultRecord, monkeypatch: pytest.MonkeyPatch
) -> None:
    with source("plugivery", monkeypatch) as sim:
        body = b'{"request": {}, "data": [], "error": 499, "error_txt": "?", "api_version": "1.29", "now": 1}'
        sim.faults.add("status", status=499, body=body, path_contains="/catalog")
        fails_once_then_loads(db, "plugivery", sim, fault_record, "unknown error code 499")


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("pinmeto", marks=pytest.mark.fault("pinmeto", "schema drift: new field"), id="pinmeto"),
        pytest.param(
            "plugivery",
            marks=pytest.mark.fault("plugivery", "schema drift: new field and changed type"),
            id="plugivery",
        ),
    ],
)
def test_schema_drift(name: str, db: Path, fault_record: FaultRecord, sim: Any) -> None:
    run(db, [name])
    if name == "pinmeto":
        store = sorted(sim.truth())[0]
        sim.edit_store(store, parkingSpaces=42)
        [result] = run(db, [name])
        assert query(
            db,
            "select parking_spaces from pinmeto.locations where store_id = ? and _dlt_valid_to is null",
            [store],
        ) == [(42,)]
    else:
        product = sorted(sim.products)[0]
        sim.change_price(product, msrp="call for price", warranty_years=2)  # a number turned text
        sim.advance(0.5)
        [result] = run(db, [name])
        columns = column_types(db, "plugivery")
        assert any(c.startswith("products.msrp__v_") for c in columns), (
            columns
        )  # the type change stays visible
    assert result.status == "succeeded", result.error
    check(db, name, sim, fault_record, result.status)


@pytest.mark.fault("pinnacle_cart", "data moving while paging (orders added between pages)")
def test_pinnacle_orders_added_while_paging(
    db: Path, fault_record: FaultRecord, monkeypatch: pytest.MonkeyPatch
) -> None:
    with source("pinnacle_cart", monkeypatch) as sim:
        monkeypatch.setenv("SOURCES__PINNACLE_CART__BATCH_SIZE", "40")

        def churn() -> None:
            for _ in range(5):
                sim.add_order()

        sim.faults.add("action", action=churn, path_contains="call=GetOrders&", after=1)
        [first] = run(db, ["pinnacle_cart"])
        assert first.status == "succeeded", first.error
        [(rows, keys)] = query(db, "select count(*), count(distinct order_id) from pinnacle_cart.orders")
        assert rows == keys  # nothing doubled while the list moved
        [second] = run(db, ["pinnacle_cart"])  # at the latest the next run has what was added
        assert second.status == "succeeded", second.error
        check(db, "pinnacle_cart", sim, fault_record, f"{first.status}, then {second.status}")


MISSING_KEY_BODIES = {
    "pinmeto": b'{"data": [{"name": "No id store"}], "paging": {}}',
    "plugivery": b'{"request": {}, "data": [{"date": 1, "msrp": 1.0}], "error": 0, "error_txt": "", '
    b'"api_version": "1.29", "now": 1795000000}',
}


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.fault(n, "malformed page: record missing its key"), id=n)
        for n in MISSING_KEY_BODIES
    ],
)
def test_record_missing_its_key(name: str, db: Path, fault_record: FaultRecord, sim: Any) -> None:
    run(db, [name])
    path = "/locations" if name == "pinmeto" else "act=list&"
    sim.faults.add("status", status=200, body=MISSING_KEY_BODIES[name], path_contains=path)
    fails_once_then_loads(db, name, sim, fault_record, "has no")
