"""Pinnacle Cart: an anchor from the future, repeated records, unreadable values (issue 13 §2, §3, §6)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from pipelines.nightly import make_pipeline
from simulators.pinnacle_cart import PinnacleCartSimulator
from tests.conftest import PINNACLE_CART_SECRETS, FaultRecord, query, run
from tests.pinnacle_cart.test_source import assert_warehouse_equals_api

# Batches of 500 (large_batches, set after the env's 100): fewer calls a run; a test may ask for smaller.
pytestmark = pytest.mark.usefixtures("pinnacle_cart_env", "large_batches")


@pytest.fixture
def pinnacle_cart_sim() -> Iterator[PinnacleCartSimulator]:
    """A smaller shop than conftest's: these tests run the source three or four times each."""
    with PinnacleCartSimulator(n_customers=60, n_orders=150, seed=11, **PINNACLE_CART_SECRETS) as sim:
        yield sim  # type: ignore[misc]


@pytest.fixture
def large_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCES__PINNACLE_CART__BATCH_SIZE", "500")


SOURCE = "pinnacle_cart"
SHOP_ZONE = ZoneInfo("America/New_York")  # as pinnacle_cart_env sets it
KEYS = {
    "orders": "order_id",
    "order_items": "order_id, line_number",
    "order_item_options": "order_id, line_number, option_number",
    "customers": "user_id",
    "customer_addresses": "user_id, address_number",
    "products": "pid",
    "product_options": "pid, option_key",
    "inventory": "snapshot_date, pid",
    "categories": "category_id",
}


def duplicates(db: Path) -> int:
    """Rows beyond one per key, over every table of the source."""
    total = 0
    for table, key in KEYS.items():
        [(extra,)] = query(
            db,
            f"select count(*) - (select count(*) from (select distinct {key} from {SOURCE}.{table})) "
            f"from {SOURCE}.{table}",
        )
        total += extra
    return total


def order_state(db: Path) -> dict[str, Any]:
    state = make_pipeline(SOURCE, db).state
    return dict(state["sources"][SOURCE]["resources"]["orders"])


def anchor(db: Path) -> datetime:
    return datetime.strptime(order_state(db)["newest_date"], "%Y-%m-%d %H:%M:%S")


def shop_now() -> datetime:
    return datetime.now(SHOP_ZONE).replace(tzinfo=None)


def figures(db: Path, sim: PinnacleCartSimulator) -> dict[str, Any]:
    [(orders, keys)] = query(db, f"select count(*), count(distinct order_id) from {SOURCE}.orders")
    return {
        "rows_expected": len(sim.orders),
        "rows_found": keys,
        "duplicates": duplicates(db) + orders - keys,
    }


@pytest.mark.fault(SOURCE, "cursor: an order with StatusDate 2099")
def test_an_order_from_2099_loads_is_named_and_status_changes_still_arrive(
    db: Path, pinnacle_cart_sim: PinnacleCartSimulator, fault_record: FaultRecord
) -> None:
    sim = pinnacle_cart_sim
    run(db, [SOURCE])
    typo, changed = sim.recent_order_ids(2)
    sim.set_order_dates(typo, StatusDate="2099-01-01 00:00:00")
    [night] = run(db, [SOURCE])
    assert night.status == "succeeded", night.error
    assert any(f"order {typo}" in note and "2099-01-01" in note for note in night.notes), night.notes
    assert anchor(db) <= shop_now() + timedelta(days=1)
    assert query(db, f"select year(status_date) from {SOURCE}.orders where order_id = ?", [typo]) == [(2099,)]
    sim.set_order_status(changed, "Completed", "Received")  # a status change the look-back must bring
    [next_night] = run(db, [SOURCE])
    fault_record.record(**figures(db, sim), retries=0, exit_status=next_night.status)
    assert next_night.status == "succeeded", next_night.error
    assert query(db, f"select status from {SOURCE}.orders where order_id = ?", [changed]) == [("Completed",)]
    assert_warehouse_equals_api(db, sim)


@pytest.mark.fault(SOURCE, "cursor: saved look-back anchor already in 2099 (heals; --full-refresh resets)")
def test_a_saved_future_anchor_heals_and_full_refresh_resets_both_positions(
    db: Path,
    pinnacle_cart_sim: PinnacleCartSimulator,
    fault_record: FaultRecord,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sim = pinnacle_cart_sim
    run(db, [SOURCE])
    typo = sim.recent_order_ids(1)[0]
    sim.set_order_dates(typo, StatusDate="2099-01-01 00:00:00")
    # What the loader did before the clamp: with the tolerance knob opened wide the anchor reaches 2099.
    monkeypatch.setenv("SOURCES__PINNACLE_CART__CURSOR_TOLERANCE_HOURS", str(2000 * 365 * 24))
    run(db, [SOURCE])
    assert anchor(db).year == 2099
    monkeypatch.delenv("SOURCES__PINNACLE_CART__CURSOR_TOLERANCE_HOURS")
    old = sorted(sim.orders)[0]  # far outside any look-back window
    sim.set_order_status(old, "Canceled", "Refunded")
    [healed] = run(db, [SOURCE])
    assert healed.status == "succeeded", healed.error
    assert any("saved look-back anchor" in note for note in healed.notes), healed.notes
    assert order_state(db)["last_run"]["mode"] == "full"
    assert anchor(db) <= shop_now() + timedelta(days=1)
    assert query(db, f"select status from {SOURCE}.orders where order_id = ?", [old]) == [("Canceled",)]
    # --full-refresh sets both positions to what it read, even below what was saved.
    sim.set_order_dates(typo, StatusDate=sim.orders[typo]["OrderDate"])
    newest = max(sim.orders)
    del sim.orders[newest]
    [full] = run(db, [SOURCE], full_refresh=True)
    fault_record.record(**figures(db, sim), retries=0, exit_status=f"healed, then {full.status}")
    assert full.status == "succeeded", full.error
    state = order_state(db)
    assert state["last_order_id"] == newest - 1
    assert anchor(db) == max(
        datetime.strptime(o[k], "%Y-%m-%d %H:%M:%S")
        for o in sim.orders.values()
        for k in ("OrderDate", "StatusDate")
    )
    assert_warehouse_equals_api(db, sim)


@pytest.mark.fault(SOURCE, "repeats: records twice in a batch and across batches (full read and night)")
def test_repeated_records_load_once_with_their_children_once(
    db: Path,
    pinnacle_cart_sim: PinnacleCartSimulator,
    fault_record: FaultRecord,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SOURCES__PINNACLE_CART__BATCH_SIZE", "100")  # so that copies can come a batch later
    sim = pinnacle_cart_sim
    orders, customers, products = sorted(sim.orders), sorted(sim.customers), sorted(sim.products)
    sim.repeats = {
        ("OrderId", orders[10]): "page",
        ("OrderId", orders[60]): "next page",  # its copy comes in the second batch
        ("UserId", customers[3]): "page",
        ("UserId", customers[50]): "next page",
        ("PID", products[1]): "page",  # GetProducts and GetInventory alike
        ("PID", products[-1]): "page",
    }
    sim.categories.append(sim.categories[0])  # a category (with its subtree) listed twice
    [full] = run(db, [SOURCE])
    assert full.status == "succeeded", full.error
    assert duplicates(db) == 0
    assert_warehouse_equals_api(db, sim)
    new = [sim.add_order(n_items=3) for _ in range(110)]  # two batches of new orders
    sim.set_order_status(sim.recent_order_ids(115)[0], "Completed")  # in the look-back pass too
    sim.repeats = {("OrderId", new[5]): "page", ("OrderId", new[20]): "next page"}
    [night] = run(db, [SOURCE])
    fault_record.record(**figures(db, sim), retries=0, exit_status=f"{full.status}, {night.status}")
    assert night.status == "succeeded", night.error
    assert duplicates(db) == 0
    assert_warehouse_equals_api(db, sim)
    [(categories,)] = query(db, f"select count(*) from {SOURCE}.categories")
    assert categories > 1


@pytest.mark.fault(SOURCE, "unreadable values: a date 'yesterday', text as a price or quantity (rejected)")
def test_unreadable_values_are_rejected_by_name_and_the_rest_loads(
    db: Path, pinnacle_cart_sim: PinnacleCartSimulator, fault_record: FaultRecord
) -> None:
    sim = pinnacle_cart_sim
    orders, products = sorted(sim.orders), sorted(sim.products)
    sim.set_order_dates(orders[7], StatusDate="yesterday")
    sim.orders[orders[8]]["OrderItems"][0]["Price"] = "twelve"
    sim.edit_product(products[2], Price="call us")
    sim.set_qoh(products[3], "lots")  # type: ignore[arg-type]
    [result] = run(db, [SOURCE])
    assert result.status == "succeeded", result.error
    rejected = query(db, f"select resource, record_id, field, raw_value, reason from {SOURCE}.rejects")
    assert {r[:4] for r in rejected} == {
        ("orders", str(orders[7]), "StatusDate", "yesterday"),
        ("orders", str(orders[8]), "order items: Price", "twelve"),
        ("products", str(products[2]), "Price", "call us"),
        ("products", str(products[3]), "Qoh", "lots"),
        ("inventory", str(products[3]), "Qoh", "lots"),
    }
    assert all(r[4] for r in rejected)
    assert any("rejected" in note for note in result.notes), result.notes
    loaded = {r[0] for r in query(db, f"select order_id from {SOURCE}.orders")}
    assert loaded == set(orders) - {orders[7], orders[8]}
    assert query(db, f"select count(*) from {SOURCE}.order_items where order_id = ?", [orders[8]]) == [(0,)]
    assert query(db, f"select count(*) from {SOURCE}.products where pid in (?, ?)", products[2:4]) == [(0,)]
    sim.set_order_dates(orders[7], StatusDate=sim.orders[orders[7]]["OrderDate"])
    sim.orders[orders[8]]["OrderItems"][0]["Price"] = "12.00"
    sim.edit_product(products[2], Price="10.00")
    sim.set_qoh(products[3], 4)
    [again] = run(db, [SOURCE], full_refresh=True)
    fault_record.record(**figures(db, sim), retries=0, exit_status=f"{result.status}, {again.status}")
    assert again.status == "succeeded", again.error
    assert_warehouse_equals_api(db, sim)
