"""What the reliability matrix's cases share (tests/test_faults_all.py, tests/test_faults_bad_pages.py):
for Pinnacle Cart, PinMeTo and Plugivery, a small simulator with every env var of its source pointing at it
(the `sim` fixture, for a test parametrized by `name`) and the check that the warehouse holds every
key of the simulator once. A test module uses the fixture with `pytest_plugins = ["tests.fault_matrix"]`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from simulators.base import Simulator
from simulators.pinmeto import PinmetoSimulator
from simulators.pinnacle_cart import PinnacleCartSimulator
from simulators.plugivery import PlugiverySimulator
from tests.conftest import (
    PINMETO_SECRETS,
    PINNACLE_CART_SECRETS,
    PLUGIVERY_TOKEN,
    FaultRecord,
    pinmeto_env_for,
    pinnacle_cart_env_for,
    plugivery_env_for,
    query,
    set_env,
)


@dataclass
class Case:
    start: Callable[[], Simulator]
    env: Callable[[Any], dict[str, str]]
    path: str  # a path fragment of the data calls, for fault switches
    # (sql for rows and distinct keys, the simulator's expected count)
    tables: Callable[[Any], list[tuple[str, int]]]


CASES = {
    "pinnacle_cart": Case(
        lambda: PinnacleCartSimulator(n_customers=40, n_orders=150, **PINNACLE_CART_SECRETS),
        pinnacle_cart_env_for,
        "index.php",
        lambda sim: [
            ("select count(*), count(distinct order_id) from pinnacle_cart.orders", len(sim.orders)),
            ("select count(*), count(distinct user_id) from pinnacle_cart.customers", len(sim.customers)),
            ("select count(*), count(distinct pid) from pinnacle_cart.products", len(sim.products)),
        ],
    ),
    "pinmeto": Case(
        lambda: PinmetoSimulator(account_id="testchain", **PINMETO_SECRETS),
        pinmeto_env_for,
        "/locations",
        lambda sim: [
            (
                "select count(*), count(distinct store_id) from pinmeto.locations where _dlt_valid_to is null",  # noqa: E501
                len(sim.truth()),
            )
        ],
    ),
    "plugivery": Case(
        lambda: PlugiverySimulator(token=PLUGIVERY_TOKEN, now=1_795_000_000),
        plugivery_env_for,
        "/catalog",
        lambda sim: [
            ("select count(*), count(distinct id) from plugivery.products", len(sim.products)),
            ("select count(*), count(distinct id) from plugivery.product_details", len(sim.products)),
        ],
    ),
}


@contextmanager
def source(name: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    case = CASES[name]
    with case.start() as sim:
        set_env(monkeypatch, case.env(sim))
        yield sim


def check(db: Path, name: str, sim: Any, record: FaultRecord, status: str, retries: int = 0) -> None:
    expected = found = duplicates = 0
    for sql, want in CASES[name].tables(sim):
        [(rows, keys)] = query(db, sql)
        expected, found, duplicates = expected + want, found + keys, duplicates + rows - keys
    record.record(
        rows_expected=expected, rows_found=found, duplicates=duplicates, retries=retries, exit_status=status
    )
    assert (found, duplicates) == (expected, 0)


def hits(sim: Simulator, injected: int) -> int:
    """How many injected faults requests actually ran into (what is left in the queue was not hit)."""
    return injected - sum(f.times for f in sim.faults._faults)


def matrix(fault: str) -> list[Any]:
    return [pytest.param(name, marks=pytest.mark.fault(name, fault), id=name) for name in CASES]


@pytest.fixture
def sim(name: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The simulator of the source `name` (the test's parameter), its env set for this test."""
    with source(name, monkeypatch) as sim:
        yield sim
