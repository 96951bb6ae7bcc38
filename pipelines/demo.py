"""`make demo`: start the local API stand-ins, run the nightly job against them into demo.duckdb."""

from __future__ import annotations

import logging
import os
import shlex
import shutil
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pipelines.history import record_run
from pipelines.models import build
from pipelines.nightly import format_summary, pipelines_dir_for, run_sources, table_totals
from pipelines.publish import publish_or_explain
from pipelines.report import write_report
from simulators.base import Simulator
from simulators.pinmeto import PinmetoSimulator
from simulators.pinnacle_cart import PinnacleCartSimulator
from simulators.pinogy import PinogySimulator
from simulators.plugivery import PlugiverySimulator

log = logging.getLogger("retail.demo")


@dataclass(frozen=True)
class DemoSource:
    start: Callable[[], Simulator]
    config: Callable[[Simulator], dict[str, str]]  # env vars pointing the source at the simulator


def _pinogy_config(sim: Simulator) -> dict[str, str]:
    assert isinstance(sim, PinogySimulator)
    return {
        "SOURCES__PINOGY__API_HOST": sim.url,
        "SOURCES__PINOGY__ACCESS_KEY": sim.access_key,
        "SOURCES__PINOGY__SECRET_KEY": sim.secret_key,
        "SOURCES__PINOGY__PASSWORD": sim.password,
        "SOURCES__PINOGY__APP_ID": str(sim.app_id),
    }


def _pinnacle_cart_config(sim: Simulator) -> dict[str, str]:
    assert isinstance(sim, PinnacleCartSimulator)
    return {
        "SOURCES__PINNACLE_CART__API_URL": sim.api_url,
        "SOURCES__PINNACLE_CART__USERNAME": sim.username,
        "SOURCES__PINNACLE_CART__PASSWORD": sim.password,
        "SOURCES__PINNACLE_CART__TOKEN": sim.token,
        "SOURCES__PINNACLE_CART__SHOP_TIMEZONE": "America/New_York",
    }


def _pinmeto_config(sim: Simulator) -> dict[str, str]:
    assert isinstance(sim, PinmetoSimulator)
    return {
        "SOURCES__PINMETO__API_URL": sim.url,
        "SOURCES__PINMETO__ACCOUNT_ID": sim.account_id,
        "SOURCES__PINMETO__APP_ID": sim.app_id,
        "SOURCES__PINMETO__APP_SECRET": sim.app_secret,
    }


def _plugivery_config(sim: Simulator) -> dict[str, str]:
    assert isinstance(sim, PlugiverySimulator)
    return {"SOURCES__PLUGIVERY__API_URL": sim.url + "/catalog/", "SOURCES__PLUGIVERY__TOKEN": sim.token}


DEMO_SOURCES: dict[str, DemoSource] = {
    "pinogy": DemoSource(lambda: PinogySimulator(n_pos=3000), _pinogy_config),
    "pinnacle_cart": DemoSource(
        lambda: PinnacleCartSimulator(n_customers=2000, n_orders=10000), _pinnacle_cart_config
    ),
    "pinmeto": DemoSource(PinmetoSimulator, _pinmeto_config),
    # A catalogue far larger than a night's 300 reads: the demo shows the queue at work.
    "plugivery": DemoSource(lambda: PlugiverySimulator(n_extra_products=1500), _plugivery_config),
}


def run_demo(db_path: Path) -> int:
    """Run every demo source into a fresh `db_path`; print the summary; return the exit status."""
    started = time.monotonic()
    for leftover in (db_path, Path(f"{db_path}.wal")):
        leftover.unlink(missing_ok=True)
    shutil.rmtree(pipelines_dir_for(db_path), ignore_errors=True)
    with ExitStack() as stack:
        for name, demo in DEMO_SOURCES.items():
            sim = stack.enter_context(demo.start())
            os.environ.update(demo.config(sim))
            log.info("%s: simulator listening on %s", name, sim.url)
        started_at = datetime.now(UTC)
        results = run_sources(db_path, list(DEMO_SOURCES))
    record_run(db_path, started_at, results)  # so `python -m pipelines status --db demo.duckdb` has a history
    print(format_summary(results, table_totals(db_path, list(DEMO_SOURCES)), time.monotonic() - started))
    models = build(db_path)
    print(models.summary())
    published = publish_or_explain(db_path) if models.ok else 1
    report = write_report(db_path, db_path.with_suffix(".html"))
    print(f"\nThe report is {report}: open it in a browser.")
    print(
        f"\nThe warehouse is {db_path}; BI tools read its serving file. Query it in DuckDB's shell:\n"
        f"  .venv/bin/python -m pipelines sql --db {shlex.quote(str(db_path))}"
    )
    return 0 if all(r.status != "failed" for r in results) and models.ok and published == 0 else 1
