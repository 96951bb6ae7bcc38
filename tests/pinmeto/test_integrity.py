"""PinMeTo: a store served twice, in one page and across pages (issue 13 §3).

PinMeTo's records carry no cursor (every run reads every page) and no value the loader must parse
(times stay text, coordinates keep their JSON type), so §2 and §6 do not apply here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from simulators.pinmeto import PinmetoSimulator
from tests.conftest import FaultRecord, query, run

pytestmark = pytest.mark.usefixtures("pinmeto_env")

CURRENT = "_dlt_valid_to is null"


def duplicates(db: Path) -> int:
    """Current rows beyond one per key, over the three tables."""
    total = 0
    for table, key in (
        ("locations", "store_id"),
        ("opening_hours", "store_id, weekday_number, span_number"),
        ("special_opening_hours", "store_id, label, start_date"),
    ):
        [(extra,)] = query(
            db,
            f"select count(*) - (select count(*) from (select distinct {key} from pinmeto.{table} "
            f"where {CURRENT})) from pinmeto.{table} where {CURRENT}",
        )
        total += extra
    return total


@pytest.mark.fault("pinmeto", "repeats: a store twice in a page and across pages")
def test_a_store_served_twice_is_kept_once_with_its_hours_once(
    db: Path, pinmeto_sim: PinmetoSimulator, fault_record: FaultRecord
) -> None:
    stores = sorted(pinmeto_sim.truth())
    pinmeto_sim.repeats = {stores[0]: "page", stores[1]: "next page", stores[4]: "page"}
    [first] = run(db, ["pinmeto"])
    assert first.status == "succeeded", first.error
    assert duplicates(db) == 0
    assert query(db, f"select count(*) from pinmeto.locations where {CURRENT}") == [(len(stores),)]
    assert query(db, f"select count(*) from pinmeto.opening_hours where {CURRENT}") == [(42,)]
    # A second night with the same repeats and one real edit: one new version, nothing doubled.
    pinmeto_sim.edit_store(stores[1], name="Renamed")
    [night] = run(db, ["pinmeto"])
    [(versions,)] = query(db, "select count(*) from pinmeto.locations where store_id = ?", [stores[1]])
    [(found,)] = query(db, f"select count(distinct store_id) from pinmeto.locations where {CURRENT}")
    fault_record.record(
        rows_expected=len(stores),
        rows_found=found,
        duplicates=duplicates(db),
        retries=0,
        exit_status=f"{first.status}, {night.status}",
    )
    assert night.status == "succeeded", night.error
    assert duplicates(db) == 0 and found == len(stores)
    assert versions == 2
    assert query(db, f"select name from pinmeto.locations where store_id = ? and {CURRENT}", [stores[1]]) == [
        ("Renamed",)
    ]
