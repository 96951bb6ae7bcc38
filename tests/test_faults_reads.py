"""Reliability cases for short reads and endless paging (issue 13, sections 1 and 4), every source.

A short read never shrinks the warehouse: an empty or short page while the API's total says more remain
is read again and then fails the source; a full read (or PinMeTo's retiring of vanished stores, or
Plugivery's `since=all`) that holds clearly less than the API counts or the warehouse holds is refused
unless the user allows it. Paging always ends: a next link already followed, a page identical to one
already read, or more pages than the total allows stops the source. Each case asserts the warehouse
afterwards (unchanged on failure) and the one-line error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pipelines.nightly import SourceResult, make_pipeline, run_sources
from simulators.pinmeto import PinmetoSimulator
from simulators.pinnacle_cart import PinnacleCartSimulator
from simulators.pinogy import PinogySimulator
from simulators.plugivery import PlugiverySimulator
from tests.conftest import FaultRecord, cli, query, run, the_one_error_line
from tests.pinogy.test_source import assert_warehouse_equals_api, list_offsets

PERSISTENT = 1000  # a fault that keeps happening, however often the client retries


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Re-reads of a short page wait a few milliseconds, not seconds."""
    monkeypatch.setenv("RUNTIME__REQUEST_BACKOFF_FACTOR", "0.01")


def resource_state(db: Path, source: str, resource: str) -> dict[str, Any]:
    state: Any = make_pipeline(source, db).state
    return dict(state["sources"][source]["resources"][resource])


def loaded(db: Path, source: str, sim: Any) -> Any:
    """Load everything `sim` holds into `db`, then clear its call log; return it."""
    [first] = run(db, [source])
    assert first.status == "succeeded", first.error
    sim.reset_calls()
    return sim


@dataclass(frozen=True)
class ReadFaults:
    """One source's side of these cases: what a refused read must leave as it was, and the figures."""

    source: str
    figures: Callable[..., dict[str, Any]]  # (db, sim) -> the reliability matrix's figures
    tables: tuple[str, ...] = ()  # their row counts must not change when a read is refused
    held: Callable[[Path], Any] | None = None  # or else this must not

    def warehouse(self, db: Path) -> Any:
        """Return what a refused read must leave as it was."""
        if self.held is not None:
            return self.held(db)
        return {t: query(db, f"select count(*) from {self.source}.{t}")[0][0] for t in self.tables}

    def refused(
        self, db: Path, sim: Any, record: FaultRecord, retries: int = 0, full_refresh: bool = False
    ) -> SourceResult:
        """Run the source into the fault: it must fail in one line and leave the warehouse as it was."""
        before = self.warehouse(db)
        [failed] = run(db, [self.source], full_refresh=full_refresh)
        record.record(**self.figures(db, sim), retries=retries, exit_status=failed.status)
        assert failed.status == "failed"
        assert failed.error is not None and "\n" not in failed.error
        assert self.warehouse(db) == before
        return failed


# --- Pinogy --------------------------------------------------------------------------------------------
def pinogy_figures(db: Path, sim: PinogySimulator, **extra: Any) -> dict[str, Any]:
    pos, lines = sim.truth()
    [(n_pos, dup_pos, n_lines, dup_lines)] = query(
        db,
        "select (select count(*) from pinogy.purchase_orders), "
        "(select count(*) - count(distinct id) from pinogy.purchase_orders), "
        "(select count(*) from pinogy.purchase_order_lines), "
        "(select count(*) - count(distinct id) from pinogy.purchase_order_lines)",
    )
    return {
        "rows_expected": len(pos) + len(lines),
        "rows_found": n_pos + n_lines,
        "duplicates": dup_pos + dup_lines,
        **extra,
    }


PINOGY = ReadFaults("pinogy", pinogy_figures, ("purchase_orders", "purchase_order_lines"))


@pytest.fixture
def pinogy_loaded(
    db: Path, pinogy_sim: PinogySimulator, pinogy_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> PinogySimulator:
    """A warehouse holding every PO of the simulator (250, read 50 a page), then a clean call log."""
    monkeypatch.setenv("SOURCES__PINOGY__PAGE_SIZE", "50")
    return loaded(db, "pinogy", pinogy_sim)


@pytest.mark.fault("pinogy", "empty middle page (total says more), full refresh")
def test_pinogy_empty_middle_page_fails_and_keeps_the_warehouse(
    db: Path, pinogy_loaded: PinogySimulator, fault_record: FaultRecord
) -> None:
    sim = pinogy_loaded
    state_before = resource_state(db, "pinogy", "purchase_orders")
    sim.faults.add("short", keep=0, times=PERSISTENT, path_contains="offset=100")
    failed = PINOGY.refused(db, sim, fault_record, retries=2, full_refresh=True)
    assert failed.error == (
        "pinogy: GET /api/purchase_orders offset=100: empty page though the API's total is 250 purchase "
        "orders (3 tries) (fix: retry later; report it to Pinogy if it persists; nothing from this run "
        "was loaded)"
    )
    assert list_offsets(sim).count(100) == 3
    assert resource_state(db, "pinogy", "purchase_orders") == state_before
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


@pytest.mark.fault("pinogy", "a page identical to the one before")
def test_pinogy_repeated_page_fails_the_source(
    db: Path, pinogy_loaded: PinogySimulator, fault_record: FaultRecord
) -> None:
    sim = pinogy_loaded
    before = PINOGY.warehouse(db)
    new_po = sim.open_po(n_lines=2)
    sim.faults.add("repeat", path_contains="offset=100")
    [failed] = run(db, ["pinogy"], full_refresh=True)
    assert failed.status == "failed"
    assert failed.error is not None and "offset=100: page 3 repeats page 2" in failed.error
    assert PINOGY.warehouse(db) == before
    [again] = run(db, ["pinogy"])  # the state did not move: the next night finds the new PO
    fault_record.record(**pinogy_figures(db, sim), retries=0, exit_status=f"failed, then {again.status}")
    assert again.status == "succeeded", again.error
    assert query(db, "select count(*) from pinogy.purchase_orders where id = ?", [new_po]) == [(1,)]
    assert_warehouse_equals_api(db, sim)


@pytest.mark.fault("pinogy", "full read shrinks the table (POs gone from the API)")
def test_pinogy_full_read_that_shrinks_is_refused_unless_allowed(
    db: Path, pinogy_loaded: PinogySimulator, fault_record: FaultRecord
) -> None:
    sim = pinogy_loaded
    before, state_before = PINOGY.warehouse(db), resource_state(db, "pinogy", "purchase_orders")
    for po_id in sorted(sim.pos)[:100]:
        sim.vanish_po(po_id)
    [refused] = run(db, ["pinogy"], full_refresh=True)
    assert refused.status == "failed"
    assert refused.error == (
        "pinogy: GET /api/purchase_orders (full read): read 150 purchase_orders, the warehouse holds 250: "
        "loading this read would shrink purchase_orders by 40%, more than max_shrink 10%; refusing to load "
        "(fix: check the API's data; if the rows really are gone, run again with --allow-shrink (or set "
        "allow_shrink = true under [sources] in .dlt/config.toml))"
    )
    assert PINOGY.warehouse(db) == before
    assert resource_state(db, "pinogy", "purchase_orders") == state_before
    [allowed] = run_sources(db, ["pinogy"], full_refresh=True, allow_shrink=True)
    fault_record.record(
        **pinogy_figures(db, sim), retries=0, exit_status=f"failed, then {allowed.status} with --allow-shrink"
    )
    assert allowed.status == "succeeded", allowed.error
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
def cart_figures(db: Path, sim: PinnacleCartSimulator, **extra: Any) -> dict[str, Any]:
    expected = len(sim.orders) + len(sim.customers) + len(sim.products)
    [(found, dups)] = query(
        db,
        "select (select count(distinct order_id) from pinnacle_cart.orders) "
        "+ (select count(distinct user_id) from pinnacle_cart.customers) "
        "+ (select count(distinct pid) from pinnacle_cart.products), "
        "(select count(*) - count(distinct order_id) from pinnacle_cart.orders) "
        "+ (select count(*) - count(distinct user_id) from pinnacle_cart.customers) "
        "+ (select count(*) - count(distinct pid) from pinnacle_cart.products)",
    )
    return {"rows_expected": expected, "rows_found": found, "duplicates": dups, **extra}


CART = ReadFaults(
    "pinnacle_cart",
    cart_figures,
    ("orders", "order_items", "customers", "customer_addresses", "products", "categories"),
)


def on_call(call: str, **params: str) -> Any:
    """A fault filter: requests for `call` whose arguments include `params`."""
    return lambda r: r.params.get("call") == call and all(r.params.get(k) == v for k, v in params.items())


@pytest.fixture
def pinnacle_cart_loaded(
    db: Path, pinnacle_cart_sim: PinnacleCartSimulator, pinnacle_cart_env: dict[str, str]
) -> PinnacleCartSimulator:
    """A warehouse holding the whole shop (400 orders, 120 customers, 509 products, 100 a call)."""
    return loaded(db, "pinnacle_cart", pinnacle_cart_sim)


def cart_calls(sim: PinnacleCartSimulator, call: str) -> list[dict[str, str]]:
    return [c.params for c in sim.calls if c.params.get("call") == call]


@pytest.mark.fault("pinnacle_cart", "empty middle page <Response/> (count says more), full refresh")
def test_cart_empty_middle_page_fails_and_keeps_the_warehouse(
    db: Path, pinnacle_cart_loaded: PinnacleCartSimulator, fault_record: FaultRecord
) -> None:
    sim = pinnacle_cart_loaded
    state_before = resource_state(db, "pinnacle_cart", "orders")
    sim.faults.add("short", keep=0, times=PERSISTENT, when=on_call("GetOrders", StartNumber="200"))
    failed = CART.refused(db, sim, fault_record, retries=2, full_refresh=True)
    assert failed.error == (
        "pinnacle_cart: GetOrders StartNumber=200: empty batch though GetOrderCount says 400 (3 tries) "
        "(fix: retry later; report it to the shop if it persists; nothing from this run was loaded)"
    )
    assert [c["StartNumber"] for c in cart_calls(sim, "GetOrders")] == ["0", "100", "200", "200", "200"]
    assert resource_state(db, "pinnacle_cart", "orders") == state_before


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
    before = CART.warehouse(db)
    with sim._lock:
        for user_id in sorted(sim.customers)[:30]:
            del sim.customers[user_id]
    [refused] = run(db, ["pinnacle_cart"], full_refresh=True)
    assert refused.status == "failed"
    assert refused.error is not None and refused.error.startswith(
        "pinnacle_cart: GetCustomers (full read): read 90 customers, the warehouse holds 120: loading this "
        "read would shrink customers by 25%, more than max_shrink 10%; refusing to load (fix: "
    )
    assert CART.warehouse(db) == before
    [allowed] = run_sources(db, ["pinnacle_cart"], full_refresh=True, allow_shrink=True)
    fault_record.record(
        **cart_figures(db, sim), retries=0, exit_status=f"failed, then {allowed.status} with --allow-shrink"
    )
    assert allowed.status == "succeeded", allowed.error
    assert CART.warehouse(db)["customers"] == 90


# --- PinMeTo -------------------------------------------------------------------------------------------
def current_stores(db: Path) -> list[tuple[Any, ...]]:
    return query(db, "select store_id from pinmeto.locations where _dlt_valid_to is null order by 1")


def pinmeto_figures(db: Path, sim: PinmetoSimulator, **extra: Any) -> dict[str, Any]:
    [(rows, keys)] = query(
        db,
        "select count(*), count(distinct store_id) from pinmeto.locations where _dlt_valid_to is null",
    )
    return {"rows_expected": len(sim.truth()), "rows_found": keys, "duplicates": rows - keys, **extra}


PINMETO = ReadFaults("pinmeto", pinmeto_figures, held=current_stores)


@pytest.fixture
def pinmeto_loaded(db: Path, pinmeto_sim: PinmetoSimulator, pinmeto_env: dict[str, str]) -> PinmetoSimulator:
    """A warehouse holding the chain's 6 stores (read 2 a page), then a clean call log."""
    return loaded(db, "pinmeto", pinmeto_sim)


@pytest.mark.fault("pinmeto", "empty middle page: stores would be retired")
def test_pinmeto_short_read_does_not_retire_stores(
    db: Path, pinmeto_loaded: PinmetoSimulator, fault_record: FaultRecord
) -> None:
    sim = pinmeto_loaded
    before = current_stores(db)
    sim.faults.add("short", keep=0, path_contains="next=")  # page 2 answers no stores, links on
    [refused] = run(db, ["pinmeto"])
    assert refused.status == "failed"
    assert refused.error is not None and refused.error.startswith(
        "pinmeto: GET /v1/testchain/locations: read 4 locations, the warehouse holds 6: loading this "
        "read would shrink locations by 33%, more than max_shrink 10%; refusing to load (fix: "
    )
    assert current_stores(db) == before
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
def plugivery_figures(db: Path, sim: PlugiverySimulator, **extra: Any) -> dict[str, Any]:
    [(rows, keys)] = query(db, "select count(*), count(distinct id) from plugivery.products")
    return {"rows_expected": len(sim.products), "rows_found": keys, "duplicates": rows - keys, **extra}


@pytest.fixture
def plugivery_loaded(
    db: Path, plugivery_sim: PlugiverySimulator, plugivery_env: dict[str, str]
) -> PlugiverySimulator:
    return loaded(db, "plugivery", plugivery_sim)


PLUGIVERY = ReadFaults("plugivery", plugivery_figures, ("products", "brands", "categories", "product_prices"))


@pytest.mark.fault("plugivery", "short since=all list")
def test_plugivery_short_full_list_is_refused_unless_allowed(
    db: Path, plugivery_loaded: PlugiverySimulator, fault_record: FaultRecord
) -> None:
    sim = plugivery_loaded
    before, state_before = PLUGIVERY.warehouse(db), resource_state(db, "plugivery", "products")
    sim.faults.add("short", keep=50, path_contains="act=list&since=all")
    [refused] = run(db, ["plugivery"], full_refresh=True)
    assert refused.status == "failed"
    assert refused.error is not None and refused.error.startswith(
        f"plugivery: act=list since=all: read 50 products, the warehouse holds {len(sim.products)}: loading "
        "this read would shrink products by"
    )
    assert PLUGIVERY.warehouse(db) == before
    assert resource_state(db, "plugivery", "products")["last_list_at"] == state_before["last_list_at"]
    sim.faults.add("short", keep=50, path_contains="act=list&since=all")
    [allowed] = run_sources(db, ["plugivery"], full_refresh=True, allow_shrink=True)
    fault_record.record(
        **plugivery_figures(db, sim),
        retries=0,
        exit_status=f"failed, then {allowed.status} with --allow-shrink",
    )
    assert allowed.status == "succeeded", allowed.error
    assert PLUGIVERY.warehouse(db)["products"] == len(sim.products)  # products are merged: none is dropped


# --- reads refused in one line, every source: the fault, the error's start, what else must hold --------
@dataclass(frozen=True)
class Refused:
    reads: ReadFaults
    inject: Callable[[Any, pytest.MonkeyPatch], object]  # (sim, monkeypatch): make the API misbehave
    error: str  # how the one error line starts
    check: Callable[[Any, str], bool] = lambda sim, error: True  # (sim, error): what else must hold
    retries: int = 0
    full_refresh: bool = False


def cart_night_with_a_repeated_page(sim: PinnacleCartSimulator, env: pytest.MonkeyPatch) -> None:
    env.setenv("SOURCES__PINNACLE_CART__ORDER_LOOKBACK_DAYS", "120")  # a window of 3 pages
    sim.faults.add("repeat", times=PERSISTENT, when=on_call("GetOrders", StartNumber="100"))


def plugivery_empty_brand_list(sim: PlugiverySimulator, env: pytest.MonkeyPatch) -> None:
    sim.advance(1)  # brands and categories are read once a day
    sim.faults.add("short", keep=0, path_contains="act=list_brands")


def _refused(fault: str, case: Refused) -> Any:
    source = case.reads.source
    return pytest.param(case, marks=pytest.mark.fault(source, fault), id=f"{source}: {fault}")


@pytest.mark.parametrize(
    "case",
    [
        _refused(
            "server ignores offset, announces a huge total",
            Refused(
                PINOGY,
                lambda sim, env: sim.faults.add(
                    "ignore_offset", total=10**9, times=PERSISTENT, path_contains="/api/purchase_orders"
                ),
                "pinogy: GET /api/purchase_orders offset=50: page 2 repeats page 1 (50 records, same keys in "
                "the same order): the API is not moving through the list (fix: report it to Pinogy;",
                lambda sim, error: len(list_offsets(sim)) <= 3,  # the page read ahead at most
                full_refresh=True,
            ),
        ),
        _refused(
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
        _refused(
            "a page identical to the one before",
            Refused(
                CART,
                lambda sim, env: sim.faults.add("repeat", when=on_call("GetOrders", StartNumber="300")),
                "pinnacle_cart: GetOrders StartNumber=300: page 4 repeats page 3 (100 records",
                full_refresh=True,
            ),
        ),
        _refused(
            "a night's page identical to the one before (no count to stop at)",
            Refused(
                CART,
                cart_night_with_a_repeated_page,
                "pinnacle_cart: GetOrders ",
                lambda sim, error: (
                    "StartNumber=100: page 2 repeats page 1 (100 records" in error
                    and len(cart_calls(sim, "GetOrders")) == 2
                ),
            ),
        ),
        _refused(
            "empty page whose next link points to itself",
            Refused(
                PINMETO,
                lambda sim, env: sim.faults.add("self_link", times=PERSISTENT, path_contains="next="),
                "pinmeto: GET /v1/testchain/locations: the next-page link after page 2 points to a page "
                "already read (fix: report it to PinMeTo; nothing from this run was loaded)",
                lambda sim, error: len(sim.calls_to("/locations")) == 2,
            ),
        ),
        _refused(
            "a page identical to the one before",
            Refused(
                PINMETO,
                lambda sim, env: sim.faults.add("repeat", path_contains="next="),
                "pinmeto: GET /v1/testchain/locations: page 2 repeats page 1 (2 records",
            ),
        ),
        _refused(
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
def test_a_misbehaving_read_is_refused_and_keeps_the_warehouse(
    case: Refused,
    db: Path,
    fault_record: FaultRecord,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    sim = request.getfixturevalue(f"{case.reads.source}_loaded")
    case.inject(sim, monkeypatch)
    failed = case.reads.refused(db, sim, fault_record, case.retries, case.full_refresh)
    assert str(failed.error).startswith(case.error)
    assert case.check(sim, str(failed.error))


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
