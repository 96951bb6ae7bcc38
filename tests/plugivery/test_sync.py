"""The budgeted reader owns the read ledger; a deferral is the source's own result, not the HTTP module's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipelines.nightly import deferral, make_pipeline
from simulators.plugivery import PlugiverySimulator
from sources.plugivery import plugivery_source
from sources.plugivery.budget import Budget, BudgetedReader, ReadsStopped
from sources.plugivery.client import PlugiveryClient
from tests.conftest import run

pytestmark = pytest.mark.usefixtures("plugivery_env")


def reader(sim: PlugiverySimulator, budget: Budget, state: dict[str, Any]) -> BudgetedReader:
    return BudgetedReader(PlugiveryClient(sim.url + "/catalog/", sim.token), budget, state)


def test_the_reader_counts_every_read_and_refuses_once_the_budget_is_spent(
    plugivery_sim: PlugiverySimulator,
) -> None:
    state: dict[str, Any] = {}
    budgeted = reader(plugivery_sim, Budget(day_limit=5, month_limit=100, headroom=2), state)
    budgeted.read("list_brands")
    budgeted.read("list_cats")
    budgeted.read("list_promotions")
    with pytest.raises(ReadsStopped) as stopped:
        budgeted.read("list_brands")
    assert not stopped.value.deferred  # our own budget: the night ends quietly, not deferred
    assert plugivery_sim.reads_today() == 3 == state["ledger"]["day_reads"]  # the refused read was not sent


def test_a_quota_error_stops_the_reader_as_a_deferral(plugivery_sim: PlugiverySimulator) -> None:
    plugivery_sim.day_limit = 1
    budgeted = reader(plugivery_sim, Budget(day_limit=300, month_limit=4000, headroom=0), {})
    budgeted.read("list_brands")
    with pytest.raises(ReadsStopped) as stopped:
        budgeted.read("list_cats")
    assert stopped.value.deferred and "error 472" in stopped.value.reason


def test_a_deferral_travels_in_the_sources_own_result(db: Path, plugivery_sim: PlugiverySimulator) -> None:
    plugivery_sim.day_limit = 10  # the quota runs out during the gets
    pipeline = make_pipeline("plugivery", db)
    pipeline.run(plugivery_source())  # outside the runner: nothing but the source's state says "deferred"
    last_run = pipeline.state["sources"]["plugivery"]["resources"]["products"]["last_run"]
    assert "error 472" in last_run["deferred"] and last_run["queue"] > 0
    assert deferral(pipeline, "plugivery") == last_run["deferred"]
    plugivery_sim.day_limit = 300
    plugivery_sim.advance(1)
    [resumed] = run(db, ["plugivery"])  # the next night finishes the queue: no stale deferral
    assert resumed.status == "succeeded", resumed.error
    assert deferral(make_pipeline("plugivery", db), "plugivery") is None
