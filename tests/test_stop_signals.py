"""SIGTERM (systemd's timeout, `docker stop`) and SIGINT (Ctrl-C) stop the nightly run, not one source.

The run is a real `python -m pipelines run` subprocess against slow simulators (each Pinogy page is
delayed), signalled while it pages through Pinogy. It must stop there: exit 143/130 soon after the signal,
no Plugivery read spent (its daily quota is precious), no model built, the history saying interrupted;
and the next run must complete with the warehouse equal to the API.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from simulators.pinogy import PinogySimulator
from simulators.plugivery import PlugiverySimulator
from tests.conftest import REPO, FaultRecord, cli, pinogy_env_for, plugivery_env_for, query
from tests.pinogy.test_source import assert_warehouse_equals_api
from tests.test_alerts import WebhookReceiver, hook_env

PAGE_SIZE, PAGE_DELAY = 10, 1.0  # 250 POs: 25 pages, so a full read takes at least 25 s


def loaded_pos(db: Path) -> int:
    """Purchase orders in the warehouse (its table may not exist yet, or exist empty)."""
    tables = query(db, "select table_name from information_schema.tables where table_schema = 'pinogy'")
    return (
        query(db, "select count(*) from pinogy.purchase_orders")[0][0]
        if ("purchase_orders",) in tables
        else 0
    )


def list_calls(sim: PinogySimulator) -> int:
    return len(sim.calls_to("/api/purchase_orders"))


@pytest.mark.parametrize(
    ("sig", "exit_code"),
    [
        pytest.param(signal.SIGTERM, 143, marks=pytest.mark.fault("pinogy", "SIGTERM mid-run"), id="TERM"),
        pytest.param(
            signal.SIGINT, 130, marks=pytest.mark.fault("pinogy", "SIGINT (Ctrl-C) mid-run"), id="INT"
        ),
    ],
)
def test_a_stop_signal_stops_the_whole_run_and_the_next_run_completes(
    sig: signal.Signals,
    exit_code: int,
    db: Path,
    pinogy_sim: PinogySimulator,
    plugivery_sim: PlugiverySimulator,
    fault_record: FaultRecord,
) -> None:
    webhook = WebhookReceiver().start()
    env = {
        **pinogy_env_for(pinogy_sim),
        **plugivery_env_for(plugivery_sim),
        "SOURCES__PINOGY__PAGE_SIZE": str(PAGE_SIZE),
        **hook_env(webhook),
    }
    pinogy_sim.faults.add("delay", seconds=PAGE_DELAY, times=1000, path_contains="/api/purchase_orders")
    run = subprocess.Popen(
        [sys.executable, "-m", "pipelines", "run", "--sources", "pinogy,plugivery", "--db", str(db)],
        env={**os.environ, **env, "PYTHONPATH": str(REPO)},
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        while list_calls(pinogy_sim) < 2 and run.poll() is None:  # paging Pinogy: the second page asked
            time.sleep(0.05)
        signalled = time.monotonic()
        run.send_signal(sig)
        out, err = run.communicate(timeout=120)
        elapsed = time.monotonic() - signalled
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
        webhook.stop()
    fault_record.record(exit_status=f"exit {run.returncode} {elapsed:.1f}s after {sig.name}")
    assert run.returncode == exit_code, err
    assert f"stopped by {sig.name}" in err and "Traceback" not in err
    assert list_calls(pinogy_sim) < 25 / 2  # it did not page on through Pinogy
    assert elapsed < 25 * PAGE_DELAY / 2, elapsed  # seconds, where a full Pinogy read needs 25 or more
    assert plugivery_sim.calls == []  # not one Plugivery read spent
    schemas = {r[0] for r in query(db, "select schema_name from information_schema.schemata")}
    assert "plugivery" not in schemas and "analytics" not in schemas  # no source, no model after it
    [(status, stop, models_built)] = query(db, "select status, stop_signal, models_built from ops.runs")
    assert (status, stop, models_built) == ("interrupted", sig.name, None)
    assert query(db, "select source, status from ops.run_sources") == [("pinogy", "interrupted")]
    [alert] = webhook.texts()
    assert (
        f"interrupted (exit {exit_code})" in alert
        and f"pinogy interrupted: pinogy: stopped by {sig.name}" in alert
    )

    pinogy_sim.faults.clear()
    again = cli("run", "--sources", "pinogy,plugivery", "--db", str(db), "--skip-models", env=env)
    assert again.returncode == 0, again.stderr
    assert_warehouse_equals_api(db, pinogy_sim)
    pos, lines = pinogy_sim.truth()
    [(found,)] = query(
        db,
        "select (select count(*) from pinogy.purchase_orders) "
        "+ (select count(*) from pinogy.purchase_order_lines)",
    )
    [(products,)] = query(db, "select count(distinct id) from plugivery.products")
    assert products == len(plugivery_sim.products)
    fault_record.record(
        rows_expected=len(pos) + len(lines),
        rows_found=found,
        duplicates=0,
        exit_status=f"exit {run.returncode} {elapsed:.1f}s after {sig.name}, then exit {again.returncode}",
    )
    statuses = query(db, "select status from ops.runs order by started_at")
    assert statuses == [("interrupted",), ("succeeded",)]


@pytest.mark.parametrize(
    "phase",
    [
        pytest.param(p, marks=pytest.mark.fault("pinogy", f"SIGTERM during {p}"), id=p)
        for p in ("normalize", "load")
    ],
)
def test_a_stop_signal_during_normalize_or_load_leaves_a_package_the_next_run_finishes(
    phase: str,
    db: Path,
    pinogy_sim: PinogySimulator,
    plugivery_sim: PlugiverySimulator,
    fault_record: FaultRecord,
) -> None:
    env = {**pinogy_env_for(pinogy_sim), **plugivery_env_for(plugivery_sim)}
    stopped = subprocess.run(
        [sys.executable, "-m", "tests.signal_run", phase, "SIGTERM"]
        + ["run", "--sources", "pinogy,plugivery", "--db", str(db)],
        env={**os.environ, **env, "PYTHONPATH": str(REPO)},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert stopped.returncode == 143, stopped.stderr
    assert plugivery_sim.calls == []
    assert query(db, "select status, stop_signal from ops.runs") == [("interrupted", "SIGTERM")]
    assert loaded_pos(db) == 0  # nothing of the package reached the warehouse: it waits for the next run

    again = cli("run", "--sources", "pinogy,plugivery", "--db", str(db), "--skip-models", env=env)
    assert again.returncode == 0, again.stderr
    assert "pinogy: finishing a load left pending by an interrupted run" in again.stderr
    assert_warehouse_equals_api(db, pinogy_sim)
    pos, lines = pinogy_sim.truth()
    fault_record.record(
        rows_expected=len(pos) + len(lines),
        rows_found=sum(
            n
            for (n,) in query(
                db,
                "select count(distinct id) from pinogy.purchase_orders union all "
                "select count(distinct id) from pinogy.purchase_order_lines",
            )
        ),
        duplicates=0,
        exit_status=f"exit {stopped.returncode}, then exit {again.returncode}",
    )
