"""The reliability matrix for Pinnacle Cart, PinMeTo and Plugivery (Pinogy: tests/pinogy/test_faults.py):
faults of the connection and the run. Broken or changing pages: tests/test_faults_bad_pages.py.

Each case drives one simulator fault switch over real HTTP into a real DuckDB file, then compares the
warehouse with what the simulator holds: every key present once, nothing lost.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pipelines.nightly import pipelines_dir_for
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
    run,
    set_env,
)
from tests.crash_run import crash


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


def reset_twice(sim: Simulator, path: str) -> int:
    sim.faults.add("reset", times=2, path_contains=path)
    return 2


def server_error_burst(sim: Simulator, path: str) -> int:
    for status in (500, 502, 503):
        sim.faults.add("status", status=status, times=1, after=1, path_contains=path)
    return 3


def rate_limited_once(sim: Simulator, path: str) -> int:
    sim.faults.add("status", status=429, times=1, after=1, headers={"Retry-After": "1"}, path_contains=path)
    return 1


# Faults a retry heals: the fault in the matrix -> inject it on the data calls, return how many were injected.
RETRIED: dict[str, Callable[[Simulator, str], int]] = {
    "connection reset": reset_twice,
    "burst of 500/502/503": server_error_burst,
    "429 with Retry-After": rate_limited_once,
}


@pytest.mark.parametrize(
    ("fault", "name"),
    [
        pytest.param(fault, name, marks=pytest.mark.fault(name, fault), id=f"{fault}-{name}")
        for fault in RETRIED
        for name in CASES
    ],
)
def test_fault_healed_by_retrying(
    fault: str, name: str, db: Path, fault_record: FaultRecord, monkeypatch: pytest.MonkeyPatch
) -> None:
    with source(name, monkeypatch) as sim:
        injected = RETRIED[fault](sim, CASES[name].path)
        [result] = run(db, [name])
        assert result.status == "succeeded", result.error
        assert hits(sim, injected) == injected  # every fault was met, and retried
        check(db, name, sim, fault_record, result.status, retries=injected)


@pytest.mark.parametrize(
    ("name", "phase"),
    [
        pytest.param(
            name, phase, marks=pytest.mark.fault(name, f"SIGKILL during {phase}"), id=f"{name}-{phase}"
        )
        for name in CASES
        for phase in ("extract", "load")
    ],
)
def test_sigkill(
    name: str, phase: str, db: Path, fault_record: FaultRecord, monkeypatch: pytest.MonkeyPatch
) -> None:
    with source(name, monkeypatch) as sim:
        crash(db, name, phase)
        [result] = run(db, [name])
        assert result.status == "succeeded", result.error
        check(db, name, sim, fault_record, f"killed, then {result.status}")


@pytest.mark.parametrize("name", matrix("dlt working directory deleted between runs"))
def test_working_dir_deleted(
    name: str, db: Path, fault_record: FaultRecord, monkeypatch: pytest.MonkeyPatch
) -> None:
    with source(name, monkeypatch) as sim:
        run(db, [name])
        shutil.rmtree(pipelines_dir_for(db))
        [result] = run(db, [name])
        assert result.status == "succeeded", result.error
        check(db, name, sim, fault_record, result.status)


@pytest.mark.fault("pinmeto", "token expiry (401) mid-run")
def test_pinmeto_token_expiry(db: Path, fault_record: FaultRecord, monkeypatch: pytest.MonkeyPatch) -> None:
    with source("pinmeto", monkeypatch) as sim:
        sim.expire_tokens_after = 1
        [result] = run(db, ["pinmeto"])
        assert result.status == "succeeded", result.error
        assert len(sim.issued_tokens) > 1
        check(db, "pinmeto", sim, fault_record, result.status, retries=len(sim.issued_tokens) - 1)
