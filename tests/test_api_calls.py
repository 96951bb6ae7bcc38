"""The summary's `calls` column: each source's own session counts every request it sends, retries included.

The count travels with the run (`SourceSpec.build(..., counter=...)`), not through a process-wide tally,
so it is right for a night that failed (no dlt state committed) and for two sources in one process.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from pipelines.registry import SOURCES
from simulators.base import Simulator
from tests.conftest import (
    PINMETO_SECRETS,
    PINNACLE_CART_SECRETS,
    PINOGY_SECRETS,
    PLUGIVERY_TOKEN,
    run,
    set_env,
)

SMALL_WORLDS: dict[str, dict[str, Any]] = {
    "pinogy": {"n_pos": 30, "seed": 3, **PINOGY_SECRETS},
    "pinnacle_cart": {"n_customers": 20, "n_orders": 40, "seed": 5, **PINNACLE_CART_SECRETS},
    "pinmeto": {"account_id": "testchain", **PINMETO_SECRETS},
    "plugivery": {"token": PLUGIVERY_TOKEN, "now": 1_795_000_000},
}


@pytest.fixture
def sims(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Simulator]]:
    """All four simulators, small, running, with the env pointing the sources at them."""
    with ExitStack() as stack:
        started = {
            name: stack.enter_context(SOURCES[name].start_simulator(**world))
            for name, world in SMALL_WORLDS.items()
        }
        for name, sim in started.items():
            set_env(monkeypatch, SOURCES[name].env(sim))
        yield started


def test_each_source_reports_the_calls_its_simulator_saw(db: Path, sims: dict[str, Simulator]) -> None:
    for night in ("first", "second"):
        for sim in sims.values():
            sim.reset_calls()
        results = {r.source: r for r in run(db, list(sims))}
        seen = {name: len(sim.calls) for name, sim in sims.items()}
        assert {name: r.status for name, r in results.items()} == dict.fromkeys(sims, "succeeded"), night
        assert all(seen.values()), night
        # Per run and per source: the second night counts its own calls only, and no source another's.
        assert {name: r.api_calls for name, r in results.items()} == seen, night


def test_a_failed_run_reports_the_calls_it_spent_retries_included(
    db: Path, sims: dict[str, Simulator], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNTIME__REQUEST_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("RUNTIME__REQUEST_BACKOFF_FACTOR", "0.01")
    pinogy = sims["pinogy"]
    pinogy.faults.add("status", status=503, path_contains="/api/purchase_orders", times=99)
    [result] = run(db, ["pinogy"])
    assert result.status == "failed"
    listed = len(pinogy.calls_to("/api/purchase_orders"))
    assert listed == 3  # every attempt reached the simulator
    assert result.api_calls == len(pinogy.calls) > listed  # login and logout counted too
