"""The Pinnacle Cart source end to end: simulator over real HTTP → dlt → a real DuckDB file."""

from __future__ import annotations

import shutil
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from pipelines.nightly import pipelines_dir_for
from simulators.pinnacle_cart import PinnacleCartSimulator
from sources.pinnacle_cart.client import PinnacleCartClient, PinnacleCartError
from tests.conftest import column_types, query, run

SOURCE = "pinnacle_cart"
pytestmark = pytest.mark.usefixtures("pinnacle_cart_env")


def _yes(text: str) -> bool:
    return text == "Yes"


def _dec(text: str) -> Decimal | None:
    return Decimal(text) if text != "" else None


def assert_warehouse_equals_api(db: Path, sim: PinnacleCartSimulator) -> None:
    truth = sim.truth()
    got = query(db, "select order_id, status, payment_status, total_amount from pinnacle_cart.orders")
    assert len(got) == len({r[0] for r in got}), "duplicate order ids"
    assert {r[0]: r[1:] for r in got} == {
        i: (o["Status"], o["PaymentStatus"], Decimal(o["TotalAmount"])) for i, o in truth["orders"].items()
    }
    got_items = query(db, "select order_id, line_number, pid, quantity, price from pinnacle_cart.order_items")
    assert len(got_items) == len({r[:2] for r in got_items}), "duplicate order items"
    assert {r[:2]: r[2:] for r in got_items} == {
        (i, n): (int(it["PID"]), int(it["Quantity"]), Decimal(it["Price"]))
        for i, o in truth["orders"].items()
        for n, it in enumerate(o["OrderItems"], start=1)
    }
    got_options = query(
        db,
        "select order_id, line_number, option_number, selected_option from pinnacle_cart.order_item_options",
    )
    assert {r[:3]: r[3] for r in got_options} == {
        (i, n, k): opt["SelectedOption"]
        for i, o in truth["orders"].items()
        for n, it in enumerate(o["OrderItems"], start=1)
        for k, opt in enumerate(it["Options"], start=1)
    }
    got_customers = query(db, "select user_id, billing_email, billing_last_name from pinnacle_cart.customers")
    assert {r[0]: r[1:] for r in got_customers} == {
        i: (c["BillingInfo"]["Email"], c["BillingInfo"]["LastName"]) for i, c in truth["customers"].items()
    }
    got_addresses = query(db, "select user_id, address_number, street1 from pinnacle_cart.customer_addresses")
    assert {r[:2]: r[2] for r in got_addresses} == {
        (i, n): a["Street1"]
        for i, c in truth["customers"].items()
        for n, a in enumerate(c["AddressBook"], start=1)
    }
    got_products = query(
        db, "select pid, product_id, upc, price, cost, qoh, discontinued from pinnacle_cart.products"
    )
    assert {r[0]: r[1:] for r in got_products} == {
        i: (
            p["ProductId"],
            p["UPC"],
            Decimal(p["Price"]),
            Decimal(p["Cost"]),
            int(p["Qoh"]),
            _yes(p["Discontinued"]),
        )
        for i, p in truth["products"].items()
    }
    got_options = query(
        db, "select pid, option_key, option_id, parent_option_id from pinnacle_cart.product_options"
    )
    expected: dict[tuple[int, str], tuple[str, str | None]] = {}

    def walk(pid: int, options: list[dict[str, Any]], parent_key: str | None, parent_id: str | None) -> None:
        for n, opt in enumerate(options, start=1):
            key = f"{parent_key}.{n}" if parent_key else str(n)
            expected[(pid, key)] = (opt["OptionId"], parent_id)
            walk(pid, opt["Options"], key, opt["OptionId"])

    for pid, p in truth["products"].items():
        walk(pid, p["Options"], None, None)
    assert {r[:2]: r[2:] for r in got_options} == expected
    latest = query(
        db,
        "select pid, qoh from pinnacle_cart.inventory "
        "where snapshot_date = (select max(snapshot_date) from pinnacle_cart.inventory)",
    )
    assert dict(latest) == {i: int(p["Qoh"]) for i, p in truth["products"].items()}


def calls(sim: PinnacleCartSimulator, name: str) -> list[dict[str, str]]:
    return [c.params for c in sim.calls if c.params.get("call") == name]


@pytest.fixture
def shop(db: Path, pinnacle_cart_sim: PinnacleCartSimulator) -> PinnacleCartSimulator:
    """The shop after a first run loaded all of it into `db`."""
    [first] = run(db, [SOURCE])
    assert first.status == "succeeded", first.error
    return pinnacle_cart_sim


def test_first_run_loads_everything_typed_and_keyed(
    db: Path, pinnacle_cart_sim: PinnacleCartSimulator
) -> None:
    [result] = run(db, [SOURCE])
    assert result.status == "succeeded", result.error
    assert_warehouse_equals_api(db, pinnacle_cart_sim)
    types = column_types(db, SOURCE)
    assert types["orders.total_amount"] == "DECIMAL(18,4)"
    assert types["orders.order_date"] == "TIMESTAMP WITH TIME ZONE"
    assert types["orders.shipping_tax_amount"] == "DECIMAL(18,4)"  # the doc's `ShippintTaxAmount`
    assert types["products.discontinued"] == "BOOLEAN" and types["order_items.taxable"] == "BOOLEAN"
    assert types["inventory.snapshot_date"] == "DATE"
    # The category tree flattened: every parent reference resolves, three levels deep.
    assert query(
        db,
        "select count(*) from pinnacle_cart.categories c left join pinnacle_cart.categories p "
        "on p.category_id = c.parent_category_id "
        "where c.parent_category_id is not null and p.category_id is null",
    ) == [(0,)]
    assert query(db, "select max(depth) from pinnacle_cart.categories") == [(3,)]
    # Products come from the shared world: SKU, UPC and title match it.
    world = {p.cart_sku: p for p in pinnacle_cart_sim.world.products if p.cart_sku}
    for sku, upc, title in query(db, "select product_id, upc, title from pinnacle_cart.products"):
        assert world[sku].upc == upc and world[sku].cart_title.strip() == title.strip()
    # 400 orders, 120 customers, 100 a batch: a count then 4 order batches, 2 customer batches.
    assert [c["StartNumber"] for c in calls(pinnacle_cart_sim, "GetOrders")] == ["0", "100", "200", "300"]
    assert [c["StartNumber"] for c in calls(pinnacle_cart_sim, "GetCustomers")] == ["0", "100"]
    assert all(c["PrimaryCategory"] == "-1" for c in calls(pinnacle_cart_sim, "GetProducts"))
    # GetInventory has no count of its own: it stops at GetProductCount's, not at an extra empty batch.
    n_products = len(pinnacle_cart_sim.products)
    assert len(calls(pinnacle_cart_sim, "GetInventory")) == -(-n_products // 100)
    assert query(db, "select count(*) from pinnacle_cart.inventory") == [(n_products,)]
    assert all(c.params["apiType"] == "xml" for c in pinnacle_cart_sim.calls)
    assert result.notes[0].startswith("counts (API/warehouse): orders 400/400, customers 120/120")
    assert len(result.notes) == 1


def test_next_run_brings_new_orders_and_changes_without_duplicates(
    db: Path, shop: PinnacleCartSimulator
) -> None:
    sim = shop
    recent = sim.recent_order_ids(5)
    new_ids = [sim.add_order(n_items=3), sim.add_order(n_items=1)]
    sim.set_order_status(recent[0], "Completed", "Received")
    sim.set_order_status(recent[1], "Canceled", "Refunded")
    sim.replace_order_items(recent[2], 1)
    sim.replace_order_items(recent[3], 0)  # emptied: its old items must go
    user = next(i for i, c in sim.customers.items() if c["AddressBook"])
    sim.edit_customer(1, Email="new.address@example.com")
    sim.clear_address_book(user)
    pid = next(i for i, p in sim.products.items() if p["Options"])
    sim.clear_product_options(pid)
    sim.edit_product(2, Price="99.50000", Discontinued="Yes")
    sim.set_qoh(3, 7)
    sim.reset_calls()

    [result] = run(db, [SOURCE])
    assert result.status == "succeeded", result.error
    assert_warehouse_equals_api(db, sim)
    assert query(db, "select count(*) from pinnacle_cart.order_items where order_id = ?", [recent[3]]) == [
        (0,)
    ]
    assert query(db, "select count(*) from pinnacle_cart.product_options where pid = ?", [pid]) == [(0,)]
    assert query(db, "select count(*) from pinnacle_cart.customer_addresses where user_id = ?", [user]) == [
        (0,)
    ]
    assert query(db, "select count(*) from pinnacle_cart.orders where order_id = any(?)", [new_ids]) == [(2,)]
    # Incremental: one read of the look-back window by date (new orders are in it), paged to a short
    # batch: no count call, and no second read of the new orders.
    by_date = calls(sim, "GetOrders")
    assert by_date and all(c["LastDate"].startswith("2026-10-") for c in by_date)
    in_window = sum(o["OrderDate"] >= by_date[0]["LastDate"] for o in sim.orders.values())
    assert [c["StartNumber"] for c in by_date] == [str(n) for n in range(0, in_window + 1, 100)]
    assert calls(sim, "GetOrderCount") == [] and not any("LastOrder" in c for c in by_date)
    assert result.rows["orders"] == in_window
    assert result.notes[-1] == f"orders: 2 new, {in_window - 2} re-read from the 30-day status window"
    assert result.rows["orders"] < len(sim.orders) / 2  # the window, not the history
    # One snapshot per day: the second run the same day replaced today's rows.
    assert query(db, "select count(*), count(distinct snapshot_date) from pinnacle_cart.inventory") == [
        (len(sim.products), 1)
    ]
    assert query(db, "select qoh from pinnacle_cart.inventory where pid = 3") == [(7,)]


def test_counts_reconcile_and_a_difference_is_reported(db: Path, shop: PinnacleCartSimulator) -> None:
    sim = shop
    old = sorted(sim.orders)[0]
    with sim._lock:  # an order deleted in the shop's admin: the API's count drops, the warehouse keeps it
        del sim.orders[old]
    sim.edit_customer(1, Email="moved@example.com")
    with sim._lock:  # a customer deleted in the shop's admin: the count drops, the warehouse keeps it
        del sim.customers[max(sim.customers)]
    [result] = run(db, [SOURCE])
    assert result.status == "succeeded"
    # A night reads no GetOrderCount (the API does not need it), so it compares customers and products.
    assert result.notes[0].startswith("counts (API/warehouse): customers 119/120, products")
    assert "count mismatch: GetCustomerCount says 119 customers, the warehouse holds 120" in result.notes[1]
    [full] = run(db, [SOURCE], full_refresh=True)
    n = len(sim.products)
    assert full.notes == [f"counts (API/warehouse): orders 399/399, customers 119/119, products {n}/{n}"]


def test_json_api_type_loads_the_same(
    db: Path, pinnacle_cart_sim: PinnacleCartSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCES__PINNACLE_CART__API_TYPE", "json")
    [result] = run(db, [SOURCE])
    assert result.status == "succeeded", result.error
    assert {c.params["apiType"] for c in pinnacle_cart_sim.calls} == {"json"}
    assert_warehouse_equals_api(db, pinnacle_cart_sim)


def test_inventory_keeps_one_snapshot_per_day(
    db: Path, pinnacle_cart_sim: PinnacleCartSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sources.pinnacle_cart as source_module

    today = source_module.snapshot_clock()
    run(db, [SOURCE])
    pinnacle_cart_sim.set_qoh(3, 0)
    monkeypatch.setattr(source_module, "snapshot_clock", lambda: today + timedelta(days=1))
    run(db, [SOURCE])
    run(db, [SOURCE])  # a rerun the same day replaces that day's snapshot
    n = len(pinnacle_cart_sim.products)
    assert query(db, "select snapshot_date, count(*) from pinnacle_cart.inventory group by 1 order by 1") == [
        (today.date(), n),
        ((today + timedelta(days=1)).date(), n),
    ]
    assert query(db, "select qoh from pinnacle_cart.inventory where pid = 3 order by snapshot_date")[1] == (
        0,
    )


def test_state_is_restored_from_the_warehouse_when_the_working_dir_is_lost(
    db: Path, shop: PinnacleCartSimulator
) -> None:
    shutil.rmtree(pipelines_dir_for(db))
    new_id = shop.add_order()
    shop.reset_calls()
    [result] = run(db, [SOURCE])
    assert result.status == "succeeded", result.error
    assert all("LastDate" in c for c in calls(shop, "GetOrders"))  # a night, not a full read
    assert query(db, "select count(*) from pinnacle_cart.orders where order_id = ?", [new_id]) == [(1,)]
    assert_warehouse_equals_api(db, shop)


def test_simulator_filters_orders_as_documented(pinnacle_cart_sim: PinnacleCartSimulator) -> None:
    sim = pinnacle_cart_sim
    client = PinnacleCartClient(sim.api_url, sim.username, sim.password, sim.token)
    customer = sim.order_customer[sorted(sim.orders)[0]]
    expected = {
        "Status": sum(o["Status"] == "Completed" for o in sim.orders.values()),
        "CustomerId": sum(c == customer for c in sim.order_customer.values()),
        "LastOrder": sum(i > 1200 for i in sim.orders),
        "LastDate": sum(o["OrderDate"] >= "2026-11-01 00:00:00" for o in sim.orders.values()),
    }
    args = {
        "Status": "Completed",
        "CustomerId": customer,
        "LastOrder": 1200,
        "LastDate": "2026-11-01 00:00:00",
    }
    for name, value in args.items():
        assert client.count("GetOrderCount", **{name: value}) == expected[name] > 0, name
        read = [
            o
            for batch in client.offset_batches("GetOrders", "GetOrderCount", 50, **{name: value})
            for o in batch
        ]
        assert len(read) == expected[name], name
    assert client.count("GetOrderCount") == len(sim.orders)
    with pytest.raises(
        PinnacleCartError,
        match="GetProducts BatchSize=10: the API answered: You MUST pass either.*fix: check the call's arg",
    ):
        client.records("GetProducts", BatchSize=10)
