"""Pinogy's rows of the reliability matrix: each fault over real HTTP into a real DuckDB file."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pipelines.nightly import pipelines_dir_for
from simulators.pinogy import PinogySimulator
from tests.conftest import REPO, FaultRecord, query, run
from tests.pinogy.test_source import assert_warehouse_equals_api, list_offsets

pytestmark = pytest.mark.usefixtures("pinogy_env")


def figures(db: Path, sim: PinogySimulator) -> dict[str, Any]:
    pos, lines = sim.truth()
    found = query(
        db,
        "select (select count(*) from pinogy.purchase_orders), "
        "(select count(*) - count(distinct id) from pinogy.purchase_orders), "
        "(select count(*) from pinogy.purchase_order_lines), "
        "(select count(*) - count(distinct id) from pinogy.purchase_order_lines)",
    )[0]
    return {
        "rows_expected": len(pos) + len(lines),
        "rows_found": found[0] + found[2],
        "duplicates": found[1] + found[3],
    }


def retries(sim: PinogySimulator) -> int:
    offsets = list_offsets(sim)
    return len(offsets) - len(set(offsets))


@pytest.mark.fault("pinogy", "connection reset")
def test_connection_reset(db: Path, pinogy_sim: PinogySimulator, fault_record: FaultRecord) -> None:
    pinogy_sim.faults.add("reset", times=2, path_contains="/api/purchase_orders")
    [result] = run(db, ["pinogy"])
    fault_record.record(**figures(db, pinogy_sim), retries=retries(pinogy_sim), exit_status=result.status)
    assert result.status == "succeeded", result.error
    assert retries(pinogy_sim) == 2
    assert_warehouse_equals_api(db, pinogy_sim)


@pytest.mark.fault("pinogy", "read timeout")
def test_read_timeout(
    db: Path, pinogy_sim: PinogySimulator, fault_record: FaultRecord, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNTIME__REQUEST_TIMEOUT", "0.5")
    pinogy_sim.faults.add("delay", seconds=1.5, times=1, path_contains="/api/purchase_orders")
    [result] = run(db, ["pinogy"])
    fault_record.record(**figures(db, pinogy_sim), retries=retries(pinogy_sim), exit_status=result.status)
    assert result.status == "succeeded", result.error
    assert retries(pinogy_sim) == 1
    assert_warehouse_equals_api(db, pinogy_sim)


@pytest.mark.fault("pinogy", "burst of 500/502/503")
def test_server_error_burst(
    db: Path, pinogy_sim: PinogySimulator, fault_record: FaultRecord, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCES__PINOGY__PAGE_SIZE", "100")
    for status in (500, 502, 503):
        pinogy_sim.faults.add("status", status=status, times=1, path_contains="offset=100")
    [result] = run(db, ["pinogy"])
    fault_record.record(**figures(db, pinogy_sim), retries=retries(pinogy_sim), exit_status=result.status)
    assert result.status == "succeeded", result.error
    assert retries(pinogy_sim) == 3
    assert_warehouse_equals_api(db, pinogy_sim)


@pytest.mark.fault("pinogy", "429 with Retry-After")
def test_rate_limited_with_retry_after(
    db: Path, pinogy_sim: PinogySimulator, fault_record: FaultRecord
) -> None:
    body = json.dumps({"error": "too_many_requests"}).encode()
    pinogy_sim.faults.add(
        "status",
        status=429,
        times=1,
        body=body,
        headers={"Retry-After": "1"},
        path_contains="/api/purchase_orders",
    )
    [result] = run(db, ["pinogy"])
    fault_record.record(**figures(db, pinogy_sim), retries=retries(pinogy_sim), exit_status=result.status)
    assert result.status == "succeeded", result.error
    assert retries(pinogy_sim) == 1
    assert_warehouse_equals_api(db, pinogy_sim)


@pytest.mark.fault("pinogy", "session expiry (409) mid-pagination")
def test_session_expiry(
    db: Path, pinogy_sim: PinogySimulator, fault_record: FaultRecord, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCES__PINOGY__PAGE_SIZE", "40")
    pinogy_sim.expire_sessions_after = 2
    [result] = run(db, ["pinogy"])
    fault_record.record(**figures(db, pinogy_sim), retries=retries(pinogy_sim), exit_status=result.status)
    assert result.status == "succeeded", result.error
    assert pinogy_sim.logins > 2
    assert_warehouse_equals_api(db, pinogy_sim)


def _malformed(case: str, body: Any, problem: str) -> Any:
    return pytest.param(
        case, body, problem, marks=pytest.mark.fault("pinogy", f"malformed page: {case}"), id=case
    )


MISSING_KEY_PAGE = {"count": 1, "objects": [{"opened_on": "2026-01-01T00:00:00Z"}], "offset": 0, "total": 1}


@pytest.mark.parametrize(
    ("case", "body", "problem"),
    [
        _malformed("truncated JSON", None, "malformed JSON"),
        _malformed("record missing its key", MISSING_KEY_PAGE, "has no id"),
        _malformed("unknown error code", "teapot", "unexpected HTTP 418"),
    ],
)
def test_malformed_page_fails_the_source_and_keeps_state(
    db: Path,
    pinogy_sim: PinogySimulator,
    fault_record: FaultRecord,
    case: str,
    body: Any,
    problem: str,
) -> None:
    run(db, ["pinogy"])
    before = query(db, "select count(*) from pinogy.purchase_orders")
    pinogy_sim.open_po(n_lines=2)
    if body is None:
        pinogy_sim.faults.add("truncate", path_contains="/api/purchase_orders")
    elif body == "teapot":
        pinogy_sim.faults.add(
            "status", status=418, body=b'{"error": "teapot"}', path_contains="/api/purchase_orders"
        )
    else:
        pinogy_sim.faults.add(
            "status", status=200, body=json.dumps(body).encode(), path_contains="/api/purchase_orders"
        )
    [failed] = run(db, ["pinogy"])
    assert failed.status == "failed"
    assert failed.error is not None and failed.error.startswith("pinogy: GET /api/purchase_orders")
    assert problem in failed.error
    assert query(db, "select count(*) from pinogy.purchase_orders") == before
    [again] = run(db, ["pinogy"])  # the state did not advance: the next run picks up the new PO
    fault_record.record(
        **figures(db, pinogy_sim), retries=0, exit_status=f"{failed.status}, then {again.status}"
    )
    assert again.status == "succeeded", again.error
    assert_warehouse_equals_api(db, pinogy_sim)


@pytest.mark.fault("pinogy", "schema drift: new field and changed type")
def test_schema_drift(db: Path, pinogy_sim: PinogySimulator, fault_record: FaultRecord) -> None:
    run(db, ["pinogy"])
    new_po = pinogy_sim.open_po(n_lines=1)
    pinogy_sim.pos[new_po]["loyalty_tier"] = "gold"  # a field the doc does not list
    pinogy_sim.pos[new_po]["notes"] = {"text": "structured now"}  # text became an object
    pinogy_sim._invalidate()
    [result] = run(db, ["pinogy"])
    fault_record.record(**figures(db, pinogy_sim), retries=0, exit_status=result.status)
    assert result.status == "succeeded", result.error
    assert query(db, "select loyalty_tier, notes from pinogy.purchase_orders where id = ?", [new_po]) == [
        ("gold", '{"text": "structured now"}')
    ]


@pytest.mark.fault("pinogy", "data moving while paging (POs removed and added between pages)")
def test_records_removed_and_added_while_paging(
    db: Path, pinogy_sim: PinogySimulator, fault_record: FaultRecord, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCES__PINOGY__PAGE_SIZE", "50")
    early = sorted(pinogy_sim.pos)[:3]

    def churn() -> None:
        for po_id in early:
            pinogy_sim.vanish_po(po_id)
        pinogy_sim.open_po(n_lines=2)

    pinogy_sim.faults.add("action", action=churn, path_contains="offset=100")
    [result] = run(db, ["pinogy"])
    paging_retries = retries(pinogy_sim)
    assert result.status == "succeeded", result.error
    # The three vanished POs were loaded before they vanished (only a full refresh removes them);
    # nothing after them was skipped and nothing doubled.
    pos, _ = pinogy_sim.truth()
    loaded = {r[0] for r in query(db, "select id from pinogy.purchase_orders")}
    assert set(pos) <= loaded and loaded - set(pos) == set(early)
    [full] = run(db, ["pinogy"], full_refresh=True)
    fault_record.record(
        **figures(db, pinogy_sim),
        retries=paging_retries,
        exit_status=f"{result.status}, then a full refresh {full.status}",
    )
    assert full.status == "succeeded"
    assert_warehouse_equals_api(db, pinogy_sim)


@pytest.mark.parametrize(
    "phase",
    [
        pytest.param(phase, marks=pytest.mark.fault("pinogy", f"SIGKILL during {phase}"), id=phase)
        for phase in ("extract", "normalize", "load")
    ],
)
def test_sigkill_mid_run_loses_and_doubles_nothing(
    db: Path,
    pinogy_sim: PinogySimulator,
    fault_record: FaultRecord,
    phase: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SOURCES__PINOGY__PAGE_SIZE", "30")
    run(db, ["pinogy"])
    for po_id in pinogy_sim.open_po_ids()[:2]:
        pinogy_sim.add_line(po_id)
    for _ in range(40):
        pinogy_sim.open_po(n_lines=2)
    crashed = subprocess.run(
        [sys.executable, "-m", "tests.crash_run", str(db), "pinogy", phase],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    [result] = run(db, ["pinogy"])
    fault_record.record(**figures(db, pinogy_sim), retries=0, exit_status=f"killed, then {result.status}")
    assert result.status == "succeeded", result.error
    assert_warehouse_equals_api(db, pinogy_sim)


@pytest.mark.fault("pinogy", "dlt working directory deleted between runs")
def test_working_dir_deleted(
    db: Path, pinogy_sim: PinogySimulator, fault_record: FaultRecord, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCES__PINOGY__PAGE_SIZE", "20")
    run(db, ["pinogy"])
    shutil.rmtree(pipelines_dir_for(db))
    pinogy_sim.open_po(n_lines=2)
    pinogy_sim.reset_calls()
    [result] = run(db, ["pinogy"])
    fault_record.record(**figures(db, pinogy_sim), retries=0, exit_status=result.status)
    assert result.status == "succeeded", result.error
    assert max(list_offsets(pinogy_sim)) <= 40  # state came back from the warehouse: not a first run
    assert_warehouse_equals_api(db, pinogy_sim)
