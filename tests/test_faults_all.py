"""The reliability matrix for Pinnacle Cart, PinMeTo and Plugivery (Pinogy: tests/pinogy/test_faults.py):
faults of the connection and the run. Broken or changing pages: tests/test_faults_bad_pages.py.

Each case drives one simulator fault switch over real HTTP into a real DuckDB file, then compares the
warehouse with what the simulator holds: every key present once, nothing lost.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pipelines.nightly import pipelines_dir_for
from simulators.base import Simulator
from tests.conftest import (
    FaultRecord,
    run,
)
from tests.crash_run import crash
from tests.fault_matrix import CASES, check, hits, matrix, source

pytest_plugins = ["tests.fault_matrix"]


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
    fault: str, name: str, db: Path, fault_record: FaultRecord, sim: Any
) -> None:
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
def test_sigkill(name: str, phase: str, db: Path, fault_record: FaultRecord, sim: Any) -> None:
    crash(db, name, phase)
    [result] = run(db, [name])
    assert result.status == "succeeded", result.error
    check(db, name, sim, fault_record, f"killed, then {result.status}")


@pytest.mark.parametrize("name", matrix("dlt working directory deleted between runs"))
def test_working_dir_deleted(name: str, db: Path, fault_record: FaultRecord, sim: Any) -> None:
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
