"""Pinogy's rows of the reliability matrix: each fault over real HTTP into a real DuckDB file."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pipelines.nightly import pipelines_dir_for
from simulators.pinogy import PinogySimulator
from tests.conftest import FaultRecord, query, run
from tests.crash_run import crash
from tests.pinogy.test_source import assert_warehouse_equals_api, first_run_in_pages_of, list_offsets

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


PO_LIST = "/api/purchase_orders"


def reset_twice(sim: PinogySimulator, monkeypatch: pytest.MonkeyPatch) -> None:
    sim.faults.add("reset", times=2, path_contains=PO_LIST)


def reply_too_late_once(sim: PinogySimulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNTIME__REQUEST_TIMEOUT", "0.5")
    sim.faults.add("delay", seconds=1.5, times=1, path_contains=PO_LIST)


def server_error_burst(sim: PinogySimulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCES__PINOGY__PAGE_SIZE", "100")
    for status in (500, 502, 503):
        sim.faults.add("status", status=status, times=1, path_contains="offset=100")


def rate_limited_once(sim: PinogySimulator, monkeypatch: pytest.MonkeyPatch) -> None:
    body = json.dumps({"error": "too_many_requests"}).encode()
    sim.faults.add(
        "status", status=429, times=1, body=body, headers={"Retry-After": "1"}, path_contains=PO_LIST
    )


def sessions_expiring(sim: PinogySimulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCES__PINOGY__PAGE_SIZE", "40")
    sim.expire_sessions_after = 2


def pages_resubmitted_after_409(sim: PinogySimulator) -> bool:
    offsets = list_offsets(sim)
    every_page = sorted(set(offsets)) == list(range(0, 250, 40))  # none skipped
    return sim.logins > 2 and every_page and len(offsets) > len(set(offsets))


def _healed(fault: str, inject: Any, healed: Any) -> Any:
    return pytest.param(inject, healed, marks=pytest.mark.fault("pinogy", fault), id=fault)


@pytest.mark.parametrize(
    ("inject", "healed"),
    [
        _healed("connection reset", reset_twice, lambda sim: retries(sim) == 2),
        _healed("read timeout", reply_too_late_once, lambda sim: retries(sim) == 1),
        _healed("burst of 500/502/503", server_error_burst, lambda sim: retries(sim) == 3),
        _healed("429 with Retry-After", rate_limited_once, lambda sim: retries(sim) == 1),
        _healed("session expiry (409) mid-pagination", sessions_expiring, pages_resubmitted_after_409),
    ],
)
def test_fault_healed_by_retrying(
    db: Path,
    pinogy_sim: PinogySimulator,
    fault_record: FaultRecord,
    monkeypatch: pytest.MonkeyPatch,
    inject: Callable[[PinogySimulator, pytest.MonkeyPatch], None],
    healed: Callable[[PinogySimulator], bool],
) -> None:
    inject(pinogy_sim, monkeypatch)
    [result] = run(db, ["pinogy"])
    fault_record.record(**figures(db, pinogy_sim), retries=retries(pinogy_sim), exit_status=result.status)
    assert result.status == "succeeded", result.error
    assert healed(pinogy_sim)  # the fault was met and retried (or logged in again)
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
    first_run_in_pages_of(30, db, monkeypatch)
    for po_id in pinogy_sim.open_po_ids()[:2]:
        pinogy_sim.add_line(po_id)
    for _ in range(40):
        pinogy_sim.open_po(n_lines=2)
    crash(db, "pinogy", phase)
    [result] = run(db, ["pinogy"])
    fault_record.record(**figures(db, pinogy_sim), retries=0, exit_status=f"killed, then {result.status}")
    assert result.status == "succeeded", result.error
    assert_warehouse_equals_api(db, pinogy_sim)


@pytest.mark.fault("pinogy", "dlt working directory deleted between runs")
def test_working_dir_deleted(
    db: Path, pinogy_sim: PinogySimulator, fault_record: FaultRecord, monkeypatch: pytest.MonkeyPatch
) -> None:
    first_run_in_pages_of(20, db, monkeypatch)
    shutil.rmtree(pipelines_dir_for(db))
    pinogy_sim.open_po(n_lines=2)
    pinogy_sim.reset_calls()
    [result] = run(db, ["pinogy"])
    fault_record.record(**figures(db, pinogy_sim), retries=0, exit_status=result.status)
    assert result.status == "succeeded", result.error
    assert max(list_offsets(pinogy_sim)) <= 40  # state came back from the warehouse: not a first run
    assert_warehouse_equals_api(db, pinogy_sim)
