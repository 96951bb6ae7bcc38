"""The Pinnacle Cart source end to end: simulator over real HTTP → dlt → a real DuckDB file."""

from __future__ import annotations

import shutil
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from requests.adapters import HTTPAdapter

from pipelines.nightly import pipelines_dir_for
from simulators.pinnacle_cart import BILLION_LAUGHS, PinnacleCartSimulator
from sources.pinnacle_cart.client import PinnacleCartClient, PinnacleCartError
from tests.conftest import PINNACLE_CART_SECRETS, cli, pinnacle_cart_env_for, query, run

SOURCE = "pinnacle_cart"


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


@pytest.mark.usefixtures("pinnacle_cart_env")
def test_first_run_loads_everything_typed_and_keyed(
    db: Path, pinnacle_cart_sim: PinnacleCartSimulator
) -> None:
    [result] = run(db, [SOURCE])
    assert result.status == "succeeded", result.error
    assert_warehouse_equals_api(db, pinnacle_cart_sim)
    types = dict(
        query(
            db,
            "select table_name || '.' || column_name, data_type from information_schema.columns "
            "where table_schema = 'pinnacle_cart'",
        )
    )
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


@pytest.mark.usefixtures("pinnacle_cart_env")
def test_next_run_brings_new_orders_and_changes_without_duplicates(
    db: Path, pinnacle_cart_sim: PinnacleCartSimulator
) -> None:
    sim = pinnacle_cart_sim
    run(db, [SOURCE])
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


@pytest.mark.usefixtures("pinnacle_cart_env")
def test_counts_reconcile_and_a_difference_is_reported(
    db: Path, pinnacle_cart_sim: PinnacleCartSimulator
) -> None:
    sim = pinnacle_cart_sim
    run(db, [SOURCE])
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


@pytest.mark.usefixtures("pinnacle_cart_env")
@pytest.mark.parametrize(
    ("page", "problem"),
    [("truncate", "malformed XML"), ("billion_laughs", "refuses")],
)
def test_bad_xml_page_fails_clearly_and_keeps_state(
    db: Path, pinnacle_cart_sim: PinnacleCartSimulator, page: str, problem: str
) -> None:
    sim = pinnacle_cart_sim
    run(db, [SOURCE])
    before = query(db, "select count(*), max(order_id) from pinnacle_cart.orders")
    new_id = sim.add_order()
    if page == "truncate":
        sim.faults.add("truncate", when=lambda r: r.params.get("call") == "GetOrders")
    else:
        sim.serve_once(BILLION_LAUGHS, "GetOrders")
    [result] = run(db, [SOURCE])
    assert result.status == "failed"
    assert result.error is not None and result.error.startswith("pinnacle_cart: GetOrders LastDate="), (
        result.error
    )
    assert problem in result.error and "\n" not in result.error
    assert query(db, "select count(*), max(order_id) from pinnacle_cart.orders") == before
    [again] = run(db, [SOURCE])  # state did not advance: the next run picks the new order up
    assert again.status == "succeeded", again.error
    assert query(db, "select max(order_id) from pinnacle_cart.orders") == [(new_id,)]
    assert_warehouse_equals_api(db, sim)


@pytest.mark.usefixtures("pinnacle_cart_env")
def test_json_api_type_loads_the_same(
    db: Path, pinnacle_cart_sim: PinnacleCartSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCES__PINNACLE_CART__API_TYPE", "json")
    [result] = run(db, [SOURCE])
    assert result.status == "succeeded", result.error
    assert {c.params["apiType"] for c in pinnacle_cart_sim.calls} == {"json"}
    assert_warehouse_equals_api(db, pinnacle_cart_sim)


def test_credentials_never_reach_output_errors_files_or_duckdb(
    db: Path, pinnacle_cart_sim: PinnacleCartSimulator, tmp_path: Path
) -> None:
    env = pinnacle_cart_env_for(pinnacle_cart_sim)
    ok = cli("--log-level", "DEBUG", "run", "--sources", SOURCE, "--db", str(db), env=env, cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert "pinnacle_cart" in ok.stdout and "counts (API/warehouse)" in ok.stdout
    # A retried 503 and a connection reset log the call; a wrong token fails with one readable line.
    pinnacle_cart_sim.faults.add("status", status=503, times=1)
    pinnacle_cart_sim.faults.add("reset", times=1)
    retried = cli("--log-level", "DEBUG", "run", "--sources", SOURCE, "--db", str(db), env=env, cwd=tmp_path)
    assert retried.returncode == 0, retried.stderr[-2000:]
    wrong = {**env, "SOURCES__PINNACLE_CART__TOKEN": "TEST-WRONG-TOKEN-77aa"}
    failed = cli("--log-level", "DEBUG", "run", "--sources", SOURCE, "--db", str(db), env=wrong, cwd=tmp_path)
    assert failed.returncode == 1
    assert (
        "pinnacle_cart: GetVersion: the API answered: Invalid username, password or security token"
        in failed.stdout
    )
    assert "fix: check SOURCES__PINNACLE_CART__USERNAME / PASSWORD / TOKEN" in failed.stdout

    pinnacle_cart_sim.serve_once(BILLION_LAUGHS, "GetCustomers")  # fails mid-extract, inside dlt
    hostile = cli("--log-level", "DEBUG", "run", "--sources", SOURCE, "--db", str(db), env=env, cwd=tmp_path)
    assert hostile.returncode == 1 and "pinnacle_cart: GetCustomers StartNumber=0" in hostile.stdout

    secrets = [*PINNACLE_CART_SECRETS.values(), "TEST-WRONG-TOKEN-77aa"]
    for out in (ok, retried, failed, hostile):
        for secret in secrets:
            assert secret not in out.stdout and secret not in out.stderr
    for path in tmp_path.rglob("*"):
        if path.is_file() and not path.name.endswith((".duckdb", ".wal")):
            data = path.read_bytes()
            assert not any(s.encode() in data for s in secrets), path
    with duckdb.connect(str(db), read_only=True) as con:
        columns = con.execute(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where data_type in ('VARCHAR', 'JSON') or data_type like '%[]'"
        ).fetchall()
        for schema, table, column in columns:
            text = con.execute(
                f'select string_agg("{column}"::varchar, \' \') from "{schema}"."{table}"'
            ).fetchone()
            assert not any(s in str(text[0] or "") for s in secrets), (table, column)
    assert not any(s.encode() in db.read_bytes() for s in secrets)


@pytest.mark.usefixtures("pinnacle_cart_env")
def test_a_run_leaves_no_connection_to_the_shop_open(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sources.pinnacle_cart as source_module

    clients: list[PinnacleCartClient] = []

    class Kept(PinnacleCartClient):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            clients.append(self)

    monkeypatch.setattr(source_module, "PinnacleCartClient", Kept)
    [result] = run(db, [SOURCE])
    assert result.status == "succeeded", result.error
    assert clients and all(client.calls for client in clients)
    adapters = [a for c in clients for a in c.http.adapters.values() if isinstance(a, HTTPAdapter)]
    open_pools = [len(a.poolmanager.pools) for a in adapters]
    assert open_pools and not any(open_pools)


@pytest.mark.usefixtures("pinnacle_cart_env")
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


@pytest.mark.usefixtures("pinnacle_cart_env")
def test_state_is_restored_from_the_warehouse_when_the_working_dir_is_lost(
    db: Path, pinnacle_cart_sim: PinnacleCartSimulator
) -> None:
    run(db, [SOURCE])
    shutil.rmtree(pipelines_dir_for(db))
    new_id = pinnacle_cart_sim.add_order()
    pinnacle_cart_sim.reset_calls()
    [result] = run(db, [SOURCE])
    assert result.status == "succeeded", result.error
    assert all("LastDate" in c for c in calls(pinnacle_cart_sim, "GetOrders"))  # a night, not a full read
    assert query(db, "select count(*) from pinnacle_cart.orders where order_id = ?", [new_id]) == [(1,)]
    assert_warehouse_equals_api(db, pinnacle_cart_sim)


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
