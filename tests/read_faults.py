"""What the read-fault cases share (tests/test_faults_short_reads.py, tests/test_faults_paging.py).

Per source: a warehouse already loaded from its simulator (the `<source>_loaded` fixtures), the figures
the reliability matrix records, and `ReadFaults.refused`: run the source into a fault and assert that it
fails in one line and leaves the warehouse and the source's state as they were. A test module uses these
fixtures with `pytest_plugins = ["tests.read_faults"]`.
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
from tests.conftest import FaultRecord, query, run

PERSISTENT = 1000  # a fault that keeps happening, however often the client retries


@pytest.fixture
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Re-reads of a short page wait a few milliseconds, not seconds."""
    monkeypatch.setenv("RUNTIME__REQUEST_BACKOFF_FACTOR", "0.01")


def resource_state(db: Path, source: str, resource: str) -> dict[str, Any]:
    return dict(source_state(db, source)["resources"][resource])


def source_state(db: Path, source: str) -> dict[str, Any]:
    state: Any = make_pipeline(source, db).state
    return dict(state.get("sources", {}).get(source, {}))  # PinMeTo keeps none


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
        """Run the source into the fault: it must fail in one line and leave the warehouse and the
        source's state (its incremental cursors) as they were."""
        before, state_before = self.warehouse(db), source_state(db, self.source)
        [failed] = run(db, [self.source], full_refresh=full_refresh)
        record.record(**self.figures(db, sim), retries=retries, exit_status=failed.status)
        assert failed.status == "failed"
        assert failed.error is not None and "\n" not in failed.error
        assert self.warehouse(db) == before
        assert source_state(db, self.source) == state_before
        return failed

    def refused_then_allowed(
        self, db: Path, sim: Any, record: FaultRecord, again: Callable[[], object] = lambda: None
    ) -> str:
        """A full read that would shrink the warehouse: refused (see `refused`), then, after `again`,
        loaded with --allow-shrink. Return the refusal's error line."""
        refused = self.refused(db, sim, record, full_refresh=True)
        again()
        [allowed] = run_sources(db, [self.source], full_refresh=True, allow_shrink=True)
        record.record(
            **self.figures(db, sim), exit_status=f"failed, then {allowed.status} with --allow-shrink"
        )
        assert allowed.status == "succeeded", allowed.error
        return str(refused.error)


@dataclass(frozen=True)
class Refused:
    """A read refused in one line: the fault, how the error line starts, what else must hold."""

    reads: ReadFaults
    inject: Callable[[Any, pytest.MonkeyPatch], object]  # (sim, monkeypatch): make the API misbehave
    error: str  # how the one error line starts
    check: Callable[[Path, Any, str], bool] = lambda db, sim, error: True  # (db, sim, error): what else holds
    retries: int = 0
    full_refresh: bool = False
    whole: bool = False  # `error` is the whole line, not its start


def fault_case(fault: str, case: Any) -> Any:
    """A case (anything with `reads`) as a test parameter, marked as the reliability matrix's row."""
    source = case.reads.source
    return pytest.param(case, marks=pytest.mark.fault(source, fault), id=f"{source}: {fault}")


Loader = Callable[[ReadFaults], Any]


@pytest.fixture
def load(request: pytest.FixtureRequest) -> Loader:
    """Return a function giving a source's simulator after a first run loaded it all (`<source>_loaded`)."""
    return lambda reads: request.getfixturevalue(f"{reads.source}_loaded")


@pytest.fixture
def refuse(
    db: Path, fault_record: FaultRecord, monkeypatch: pytest.MonkeyPatch, load: Loader
) -> Callable[[Refused], None]:
    """Check a `Refused` case against a loaded warehouse: refused in one line, the warehouse as it was."""

    def check(case: Refused) -> None:
        sim = load(case.reads)
        case.inject(sim, monkeypatch)
        failed = case.reads.refused(db, sim, fault_record, case.retries, case.full_refresh)
        error = str(failed.error)
        assert error == case.error if case.whole else error.startswith(case.error), error
        assert case.check(db, sim, error)

    return check


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
    db: Path,
    pinogy_sim: PinogySimulator,
    pinogy_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    quick_retries: None,
) -> PinogySimulator:
    """A warehouse holding every PO of the simulator (250, read 50 a page), then a clean call log."""
    monkeypatch.setenv("SOURCES__PINOGY__PAGE_SIZE", "50")
    return loaded(db, "pinogy", pinogy_sim)


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


def cart_calls(sim: PinnacleCartSimulator, call: str) -> list[dict[str, str]]:
    return [c.params for c in sim.calls if c.params.get("call") == call]


@pytest.fixture
def pinnacle_cart_loaded(
    db: Path, pinnacle_cart_sim: PinnacleCartSimulator, pinnacle_cart_env: dict[str, str], quick_retries: None
) -> PinnacleCartSimulator:
    """A warehouse holding the whole shop (400 orders, 120 customers, 509 products, 100 a call)."""
    return loaded(db, "pinnacle_cart", pinnacle_cart_sim)


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
def pinmeto_loaded(
    db: Path, pinmeto_sim: PinmetoSimulator, pinmeto_env: dict[str, str], quick_retries: None
) -> PinmetoSimulator:
    """A warehouse holding the chain's 6 stores (read 2 a page), then a clean call log."""
    return loaded(db, "pinmeto", pinmeto_sim)


# --- Plugivery -----------------------------------------------------------------------------------------
def plugivery_figures(db: Path, sim: PlugiverySimulator, **extra: Any) -> dict[str, Any]:
    [(rows, keys)] = query(db, "select count(*), count(distinct id) from plugivery.products")
    return {"rows_expected": len(sim.products), "rows_found": keys, "duplicates": rows - keys, **extra}


PLUGIVERY = ReadFaults("plugivery", plugivery_figures, ("products", "brands", "categories", "product_prices"))


@pytest.fixture
def plugivery_loaded(
    db: Path, plugivery_sim: PlugiverySimulator, plugivery_env: dict[str, str], quick_retries: None
) -> PlugiverySimulator:
    """A warehouse holding the whole catalog, then a clean call log."""
    return loaded(db, "plugivery", plugivery_sim)
