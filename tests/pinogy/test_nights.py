"""Pinogy nights grow with the change, not the history: ordered walks, their order check, the fallback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipelines.nightly import make_pipeline
from simulators.pinogy import PinogySimulator
from tests.conftest import PINOGY_SECRETS, FaultRecord, pinogy_env_for, query, run, set_env
from tests.pinogy.test_faults import figures
from tests.pinogy.test_source import assert_warehouse_equals_api

PAGE_SIZE = 25


@pytest.fixture
def scattered_sim(monkeypatch: pytest.MonkeyPatch) -> Iterator[PinogySimulator]:
    """400 POs in 16 pages, one in 40 left open and spread evenly through two years of history."""
    with PinogySimulator(n_pos=400, seed=7, long_open_share=0.025, **PINOGY_SECRETS) as sim:
        set_env(monkeypatch, pinogy_env_for(sim))
        monkeypatch.setenv("SOURCES__PINOGY__PAGE_SIZE", str(PAGE_SIZE))
        yield sim  # type: ignore[misc]


def change_a_night(sim: PinogySimulator) -> list[int]:
    """New POs, a line added to and a line removed from old open POs, two old open POs closed."""
    old_open = sim.open_po_ids()[:5]
    sim.add_line(old_open[0])
    sim.add_line(old_open[1])
    sim.remove_line(old_open[1])  # its first line
    sim.close_po(old_open[2])
    sim.close_po(old_open[3])
    return [sim.open_po(n_lines=3), sim.open_po(n_lines=2)]


def list_calls(sim: PinogySimulator) -> list[tuple[str, int]]:
    return [
        (c.params["order_by"], int(c.params["offset"])) for c in sim.calls if c.path == "/api/purchase_orders"
    ]


def single_reads(sim: PinogySimulator) -> int:
    return len([c for c in sim.calls if c.path.startswith("/api/purchase_orders/")])


def last_run(db: Path) -> dict[str, Any]:
    state = make_pipeline("pinogy", db).state
    return dict(state["sources"]["pinogy"]["resources"]["purchase_orders"]["last_run"])


def test_a_night_reaches_scattered_open_pos_without_walking_history(
    db: Path, scattered_sim: PinogySimulator
) -> None:
    run(db, ["pinogy"])
    full_served = scattered_sim.served
    assert len(scattered_sim.open_po_ids()) > 10
    change_a_night(scattered_sim)
    scattered_sim.reset_calls()
    scattered_sim.served = 0

    [result] = run(db, ["pinogy"])
    assert result.status == "succeeded", result.error
    assert_warehouse_equals_api(db, scattered_sim)
    # One page of each order's head: newest, open, recently closed; no PO read one by one.
    assert sorted(list_calls(scattered_sim)) == [("closed_on", 0), ("is_open", 0), ("txn_opened_on", 0)]
    assert single_reads(scattered_sim) == 0
    assert scattered_sim.served <= 3 * PAGE_SIZE < full_served / 5
    assert result.notes == [] and last_run(db)["mode"] == "incremental"

    scattered_sim.reset_calls()
    [quiet] = run(db, ["pinogy"])  # nothing changed: newest and open heads only
    assert quiet.status == "succeeded", quiet.error
    assert sorted(list_calls(scattered_sim)) == [("is_open", 0), ("txn_opened_on", 0)]
    assert_warehouse_equals_api(db, scattered_sim)


@pytest.mark.usefixtures("pinogy_env")
def test_a_night_whose_first_page_is_the_whole_list_loads_as_a_full_refresh(
    db: Path, pinogy_sim: PinogySimulator
) -> None:
    run(db, ["pinogy"])
    gone = next(i for i, p in pinogy_sim.pos.items() if not p["is_open"])
    pinogy_sim.vanish_po(gone)
    pinogy_sim.open_po(n_lines=2)
    pinogy_sim.reset_calls()
    [result] = run(db, ["pinogy"])  # 250 POs, pages of 1000: the night's first page is everything
    assert result.status == "succeeded", result.error
    assert list_calls(pinogy_sim) == [("txn_opened_on", 0)] and single_reads(pinogy_sim) == 0
    assert last_run(db)["mode"] == "full"
    assert_warehouse_equals_api(db, pinogy_sim)  # replaced, so the vanished PO is gone too


def _ignoring(ignored: str, fault: str, note: str, mode: str = "incremental") -> Any:
    return pytest.param(
        ignored, note, mode, marks=pytest.mark.fault("pinogy", fault), id="all" if ignored == "*" else ignored
    )


FELL_BACK = "the API ignored order_by={}; fell back to the newest-first walk"


@pytest.mark.parametrize(
    ("ignored", "note", "mode"),
    [
        _ignoring("is_open", "order_by=is_open ignored", FELL_BACK.format("is_open")),
        _ignoring("closed_on", "order_by=closed_on ignored", FELL_BACK.format("closed_on")),
        _ignoring(
            "*",
            "order_by ignored altogether",
            "the API ignored order_by=txn_opened_on; read every purchase order (a full refresh)",
            "full",
        ),
    ],
)
def test_a_server_ignoring_order_by_is_caught_and_the_night_falls_back(
    db: Path,
    scattered_sim: PinogySimulator,
    fault_record: FaultRecord,
    ignored: str,
    note: str,
    mode: str,
) -> None:
    run(db, ["pinogy"])
    scattered_sim.ignore_order_by = {ignored}
    change_a_night(scattered_sim)
    [result] = run(db, ["pinogy"])
    fault_record.record(**figures(db, scattered_sim), retries=0, exit_status=result.status)
    assert result.status == "succeeded", result.error
    assert result.notes == [note]
    assert last_run(db)["mode"] == mode
    assert_warehouse_equals_api(db, scattered_sim)

    change_a_night(scattered_sim)  # and the night after still lands every change
    [again] = run(db, ["pinogy"])
    assert again.status == "succeeded", again.error
    assert_warehouse_equals_api(db, scattered_sim)
    assert query(db, "select count(*) from pinogy.purchase_orders where is_open") == [
        (len(scattered_sim.open_po_ids()),)
    ]
