"""The nightly job around the sources: interrupted runs, failing sources, state that must not run ahead."""

from __future__ import annotations

from pathlib import Path

import pytest
from dlt.sources import DltSource

from pipelines.nightly import make_pipeline, run_sources
from pipelines.registry import SOURCES, SourceSpec
from simulators.pinogy import PinogySimulator
from sources.http import SourceError
from tests.conftest import query, run
from tests.pinogy.test_source import assert_warehouse_equals_api


@pytest.mark.usefixtures("pinogy_env")
def test_run_killed_after_normalize_is_finished_by_the_next_run(
    db: Path, pinogy_sim: PinogySimulator
) -> None:
    run(db, ["pinogy"])
    pinogy_sim.open_po(n_lines=4)
    # A run that extracted and normalized, then died before loading.
    pipeline = make_pipeline("pinogy", db)
    pipeline.extract(SOURCES["pinogy"].build(False))
    pipeline.normalize()
    assert pipeline.has_pending_data
    pinogy_sim.open_po(n_lines=2)
    [result] = run(db, ["pinogy"])
    assert result.status == "succeeded", result.error
    assert_warehouse_equals_api(db, pinogy_sim)


@pytest.mark.usefixtures("pinogy_env")
def test_pending_package_that_cannot_load_is_aborted_and_state_rewound(
    db: Path, pinogy_sim: PinogySimulator
) -> None:
    run(db, ["pinogy"])
    new_po = pinogy_sim.open_po(n_lines=3)
    pipeline = make_pipeline("pinogy", db)
    pipeline.extract(SOURCES["pinogy"].build(False))
    pipeline.normalize()
    # Corrupt every file of the pending package: its load fails terminally.
    package_dir = Path(pipeline.working_dir) / "load" / "normalized"
    files = [p for p in package_dir.rglob("*") if p.is_file() and "purchase_order" in p.name]
    assert files
    for path in files:
        path.write_bytes(b"not a parquet file")
    [result] = run(db, ["pinogy"])
    assert result.status == "succeeded", result.error
    # The local state had already moved past the new PO; rewound by the abort, the PO was read again.
    assert query(db, "select count(*) from pinogy.purchase_orders where id = ?", [new_po]) == [(1,)]
    assert_warehouse_equals_api(db, pinogy_sim)


@pytest.mark.usefixtures("pinogy_env")
def test_one_failing_source_does_not_stop_the_others(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(full_refresh: bool, allow_shrink: bool = False, counter: object = None) -> DltSource:
        raise SourceError("broken", "GET /nowhere", "always fails", "nothing to fix: a test double")

    monkeypatch.setitem(SOURCES, "broken", SourceSpec("broken", (), broken))
    broken_result, pinogy_result = run_sources(db, ["broken", "pinogy"])
    assert broken_result.status == "failed"
    assert broken_result.error == "broken: GET /nowhere: always fails (fix: nothing to fix: a test double)"
    assert pinogy_result.status == "succeeded", pinogy_result.error
    assert query(db, "select count(*) > 0 from pinogy.purchase_orders") == [(True,)]
