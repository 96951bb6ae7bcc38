"""Pinogy: cursors from the future, repeated records, unreadable values (issue 13 §2, §3, §6)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pipelines.nightly import make_pipeline
from simulators.pinogy import PinogySimulator
from sources.schedule import full_read_due
from tests.conftest import FaultRecord, query, run
from tests.pinogy.test_faults import figures
from tests.pinogy.test_source import assert_warehouse_equals_api

pytestmark = pytest.mark.usefixtures("pinogy_env")

TYPO = datetime(2999, 1, 1, tzinfo=UTC)


def saved_state(db: Path) -> dict[str, Any]:
    state = make_pipeline("pinogy", db).state
    return dict(state["sources"]["pinogy"]["resources"]["purchase_orders"])


def cursor(db: Path) -> datetime:
    return datetime.fromisoformat(saved_state(db)["max_opened_on"].replace("Z", "+00:00"))


def just_now() -> datetime:
    return datetime.now(UTC) - timedelta(minutes=5)


@pytest.mark.fault("pinogy", "cursor: a PO opened 2999-01-01")
def test_a_po_from_the_future_loads_is_named_and_does_not_stop_the_nights(
    db: Path, pinogy_sim: PinogySimulator, fault_record: FaultRecord
) -> None:
    run(db, ["pinogy"])
    typo = pinogy_sim.open_po(n_lines=2, opened=TYPO)
    [night] = run(db, ["pinogy"])
    assert night.status == "succeeded", night.error
    assert any(str(typo) in note and "2999-01-01" in note for note in night.notes), night.notes
    assert cursor(db) <= datetime.now(UTC) + timedelta(days=1)
    # The next nights still bring the POs opened since.
    later = pinogy_sim.open_po(n_lines=3, opened=just_now())
    [next_night] = run(db, ["pinogy"])
    fault_record.record(**figures(db, pinogy_sim), retries=0, exit_status=next_night.status)
    assert next_night.status == "succeeded", next_night.error
    assert query(db, "select count(*) from pinogy.purchase_orders where id in (?, ?)", [typo, later]) == [
        (2,)
    ]
    assert_warehouse_equals_api(db, pinogy_sim)


@pytest.mark.fault("pinogy", "cursor: saved state already in 2999 (heals; --full-refresh resets)")
def test_a_saved_future_cursor_heals_and_full_refresh_resets_it(
    db: Path, pinogy_sim: PinogySimulator, fault_record: FaultRecord, monkeypatch: pytest.MonkeyPatch
) -> None:
    run(db, ["pinogy"])
    pinogy_sim.open_po(n_lines=1, opened=TYPO)
    # What the loader did before the clamp: the tolerance knob opened wide lets the cursor reach 2999.
    monkeypatch.setenv("SOURCES__PINOGY__CURSOR_TOLERANCE_HOURS", str(2000 * 365 * 24))
    run(db, ["pinogy"])
    assert cursor(db).year == 2999
    monkeypatch.delenv("SOURCES__PINOGY__CURSOR_TOLERANCE_HOURS")
    missed = pinogy_sim.open_po(n_lines=2, opened=just_now() - timedelta(days=5))  # outside any window
    [healed] = run(db, ["pinogy"])
    assert healed.status == "succeeded", healed.error
    assert any("saved cursor" in note for note in healed.notes), healed.notes
    assert saved_state(db)["last_run"]["mode"] == "full"
    assert cursor(db) <= datetime.now(UTC) + timedelta(days=1)
    assert query(db, "select count(*) from pinogy.purchase_orders where id = ?", [missed]) == [(1,)]
    # --full-refresh sets the cursor to what it read, even when that is older than the saved one.
    monkeypatch.setenv("SOURCES__PINOGY__CURSOR_TOLERANCE_HOURS", str(2000 * 365 * 24))
    run(db, ["pinogy"])
    assert cursor(db).year == 2999
    monkeypatch.delenv("SOURCES__PINOGY__CURSOR_TOLERANCE_HOURS")
    pinogy_sim.vanish_po(max(pinogy_sim.pos, key=lambda i: pinogy_sim.pos[i]["opened_on"]))
    [full] = run(db, ["pinogy"], full_refresh=True)
    fault_record.record(**figures(db, pinogy_sim), retries=0, exit_status=f"healed, then {full.status}")
    assert full.status == "succeeded", full.error
    assert cursor(db) == max(datetime.fromisoformat(p["opened_on"]) for p in pinogy_sim.pos.values())
    assert_warehouse_equals_api(db, pinogy_sim)


@pytest.mark.fault("pinogy", "repeats: a PO twice in a page and across pages (full read and night)")
def test_repeated_pos_load_once_with_their_lines_once(
    db: Path, pinogy_sim: PinogySimulator, fault_record: FaultRecord, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCES__PINOGY__PAGE_SIZE", "40")
    ids = sorted(pinogy_sim.pos)
    pinogy_sim.repeats = {ids[5]: "page", ids[50]: "next page", ids[-1]: "page"}
    [full] = run(db, ["pinogy"])
    assert full.status == "succeeded", full.error
    assert_warehouse_equals_api(db, pinogy_sim)
    # A night: new POs in the first pages of the newest-first walk, repeated there too.
    new = [pinogy_sim.open_po(n_lines=3, opened=just_now() + timedelta(minutes=i)) for i in range(50)]
    pinogy_sim.repeats = {new[-1]: "page", new[-3]: "next page"}
    [night] = run(db, ["pinogy"])
    fault_record.record(**figures(db, pinogy_sim), retries=0, exit_status=f"{full.status}, {night.status}")
    assert night.status == "succeeded", night.error
    assert night.rows["purchase_orders"] >= 50
    assert_warehouse_equals_api(db, pinogy_sim)  # no PO id and no line id twice


@pytest.mark.fault("pinogy", "unreadable values: negative date, number as text (rejected by name)")
def test_unreadable_values_are_rejected_by_name_and_the_rest_loads(
    db: Path, pinogy_sim: PinogySimulator, fault_record: FaultRecord
) -> None:
    ids = sorted(pinogy_sim.pos)
    negative, text_total, bad_line = ids[3], ids[10], ids[20]
    pinogy_sim.pos[negative]["opened_on"] = "-0001-11-30T00:00:00Z"
    pinogy_sim.pos[text_total]["grand_total"] = "12,50 EUR"
    pinogy_sim.lines[bad_line][0]["qty"] = "a dozen"
    pinogy_sim._invalidate()
    [result] = run(db, ["pinogy"])
    assert result.status == "succeeded", result.error
    rejected = query(
        db, "select source, resource, record_id, field, raw_value, reason from pinogy.rejects order by 3"
    )
    assert {(r[2], r[3], r[4]) for r in rejected} == {
        (str(negative), "opened_on", "-0001-11-30T00:00:00Z"),
        (str(text_total), "grand_total", "12,50 EUR"),
        (str(bad_line), "lines.qty", "a dozen"),
    }
    assert all(r[0] == "pinogy" and r[1] == "purchase_orders" and r[5] for r in rejected)
    assert any("3 record(s) rejected" in note for note in result.notes), result.notes
    loaded = {r[0] for r in query(db, "select id from pinogy.purchase_orders")}
    assert loaded == set(ids) - {negative, text_total, bad_line}
    [(lines_of_rejected,)] = query(
        db, "select count(*) from pinogy.purchase_order_lines where transaction_id = ?", [bad_line]
    )
    assert lines_of_rejected == 0  # a PO is rejected with all its lines, never loaded with some missing
    # Fixed at the till: the next full read loads them.
    pinogy_sim.pos[negative]["opened_on"] = pinogy_sim.pos[ids[4]]["opened_on"]
    pinogy_sim.pos[text_total]["grand_total"] = "12.50"
    pinogy_sim.lines[bad_line][0]["qty"] = "12"
    pinogy_sim._invalidate()
    [again] = run(db, ["pinogy"], full_refresh=True)
    fault_record.record(**figures(db, pinogy_sim), retries=0, exit_status=f"{result.status}, {again.status}")
    assert again.status == "succeeded", again.error
    assert_warehouse_equals_api(db, pinogy_sim)


def test_a_last_full_read_dated_in_the_future_makes_the_next_one_due() -> None:
    now = datetime(2026, 11, 30, tzinfo=UTC)
    assert full_read_due(False, "2999-01-01T00:00:00+00:00", now, False, 7)
    assert not full_read_due(False, (now - timedelta(days=2)).isoformat(), now, False, 7)
    assert not full_read_due(False, (now + timedelta(hours=2)).isoformat(), now, False, 7)  # clock skew
