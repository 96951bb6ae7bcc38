"""Shared fixtures: an isolated dlt environment per test, simulators on 127.0.0.1, warehouse queries."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines.nightly import SourceResult, run_sources
from pipelines.registry import SOURCES
from pipelines.warehouse import Warehouse
from simulators.base import ISSUED_SECRETS
from simulators.pinmeto import PinmetoSimulator
from simulators.pinnacle_cart import PinnacleCartSimulator
from simulators.pinogy import PinogySimulator
from simulators.plugivery import PlugiverySimulator
from tests.postgres_server import PASSWORD as POSTGRES_PASSWORD

REPO = Path(__file__).resolve().parent.parent
pytest.register_assert_rewrite("tests.read_faults", "tests.fault_matrix")  # plugins of test modules

# Distinctive test secrets: any of them found in output, logs, files or tables is a leak.
PINOGY_SECRETS = {
    "access_key": "TEST-ACCESS-KEY-7f3a",
    "secret_key": "TEST-SECRET-KEY-91bc",
    "password": "TEST-PASSWORD-5d2e",
}
PINNACLE_CART_SECRETS = {
    "username": "TEST-CART-USER-4e1f",
    "password": "TEST-CART-PASSWORD-b83c",
    "token": "TEST-CART-TOKEN-0a9d",
}


@pytest.fixture(autouse=True)
def isolated_dlt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep dlt's project/data dirs, config and our env vars per test; no user secrets.toml leaks in."""
    project = tmp_path / "project"
    (project / ".dlt").mkdir(parents=True)
    monkeypatch.setenv("DLT_PROJECT_DIR", str(project))
    monkeypatch.setenv("DLT_DATA_DIR", str(tmp_path / "dlt-data"))
    monkeypatch.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")
    for key in list(os.environ):
        if key.startswith("SOURCES__"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    return tmp_path


SECRET_ENV = re.compile(r"^SOURCES__\w+__(PASSWORD|TOKEN|SECRET_KEY|ACCESS_KEY|APP_SECRET|APP_ID)$")


@pytest.fixture(autouse=True)
def no_secret_leaks(isolated_dlt: Path, caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """After every test: no configured secret or issued token in its log records or in any file it wrote.

    Files are the DuckDB warehouses and dlt's working directories (state, traces, load packages) under
    the test's tmp dir; the CLI tests check their subprocess output themselves.
    """
    yield
    secrets = {
        v for k, v in os.environ.items() if SECRET_ENV.match(k) and len(v) >= 6 and v.startswith("TEST-")
    }
    secrets |= ISSUED_SECRETS | {POSTGRES_PASSWORD}
    leaks = [f"log: {s}" for s in secrets if s in caplog.text]
    for path in isolated_dlt.rglob("*"):
        if path.is_file() and path.stat().st_size < 200_000_000:
            data = path.read_bytes()
            leaks += [f"{path.relative_to(isolated_dlt)}: {s}" for s in secrets if s.encode() in data]
    assert not leaks, f"secrets leaked: {leaks[:5]}"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "warehouse.duckdb"


@pytest.fixture
def pinogy_sim() -> Iterator[PinogySimulator]:
    with PinogySimulator(n_pos=250, seed=7, **PINOGY_SECRETS) as sim:
        yield sim  # type: ignore[misc]


def set_env(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> dict[str, str]:
    """Set `env` for this test (undone after it); return it."""
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


@pytest.fixture
def pinogy_env(pinogy_sim: PinogySimulator, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    return set_env(monkeypatch, pinogy_env_for(pinogy_sim))


def pinogy_env_for(sim: PinogySimulator) -> dict[str, str]:
    return SOURCES["pinogy"].env(sim)


def run(db: Path, sources: list[str], full_refresh: bool = False) -> list[SourceResult]:
    return run_sources(db, sources, full_refresh=full_refresh)


def query(db: Path | Warehouse, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    """Run `sql` (DuckDB dialect) on a DuckDB file or any Warehouse, read-only; return its rows."""
    if isinstance(db, Warehouse):
        with db.connect(read_only=True) as con:
            return con.fetchall(sql, params or [])
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def column_types(db: Path, schema: str) -> dict[str, str]:
    """Return {"table.column": its DuckDB type} for every column of `schema` in the warehouse."""
    sql = (
        "select table_name || '.' || column_name, data_type "
        "from information_schema.columns where table_schema = ?"
    )
    return dict(query(db, sql, [schema]))


def cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `python -m pipelines ARGS` in a subprocess, as cron would; return its output and status."""
    full_env = {**os.environ, **(env or {}), "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "pipelines", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=300,
    )


def one_error_line(out: subprocess.CompletedProcess[str], *expected: str) -> str:
    """Assert the output has no traceback and exactly one ERROR line holding every expected text."""
    assert "Traceback" not in out.stdout + out.stderr, out.stderr
    errors = [ln for ln in out.stderr.splitlines() if "ERROR" in ln]
    assert len(errors) == 1, out.stderr
    for text in expected:
        assert text in errors[0], errors[0]
    return errors[0]


def the_one_error_line(out: subprocess.CompletedProcess[str], *expected: str) -> str:
    """Assert a CLI run failed (exit 1) with exactly one ERROR line and no traceback; return that line."""
    assert out.returncode == 1, out.stderr
    return one_error_line(out, *expected)


def cli_debug_run(db: Path, source: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run one source through the CLI with the most talkative log (DEBUG): where a secret would show."""
    return cli("--log-level", "DEBUG", "run", "--sources", source, "--db", str(db), env=env)


# --- reliability matrix: tests marked @pytest.mark.fault(source, fault) record their outcome -------------
# Resolved now: tests chdir into their own tmp dirs.
RELIABILITY_OUT = (
    os.path.abspath(os.environ["RELIABILITY_OUT"]) if os.environ.get("RELIABILITY_OUT") else None
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "fault(source, fault): a case of the reliability matrix (docs/RELIABILITY.md)"
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.stash[_CALL_PASSED] = report.passed


_CALL_PASSED = pytest.StashKey[bool]()


class FaultRecord:
    """What a fault case saw: rows expected and found, duplicates, retries, exit status."""

    def __init__(self) -> None:
        self.figures: dict[str, Any] = {}

    def record(self, **figures: Any) -> None:
        self.figures.update(figures)


@pytest.fixture
def fault_record(request: pytest.FixtureRequest) -> Iterator[FaultRecord]:
    record = FaultRecord()
    yield record
    marker = request.node.get_closest_marker("fault")
    if RELIABILITY_OUT and marker is not None:
        import json

        out = Path(RELIABILITY_OUT)
        out.mkdir(parents=True, exist_ok=True)
        row = {
            "source": marker.args[0],
            "fault": marker.args[1],
            "test": request.node.nodeid,
            "passed": request.node.stash.get(_CALL_PASSED, False),
            **record.figures,
        }
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        with (out / f"{worker}.jsonl").open("a") as fh:
            fh.write(json.dumps(row, default=str) + "\n")


@pytest.fixture
def pinnacle_cart_sim() -> Iterator[PinnacleCartSimulator]:
    with PinnacleCartSimulator(n_customers=120, n_orders=400, seed=11, **PINNACLE_CART_SECRETS) as sim:
        yield sim  # type: ignore[misc]


@pytest.fixture
def pinnacle_cart_env(
    pinnacle_cart_sim: PinnacleCartSimulator, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    return set_env(monkeypatch, pinnacle_cart_env_for(pinnacle_cart_sim))


def pinnacle_cart_env_for(sim: PinnacleCartSimulator) -> dict[str, str]:
    return {**SOURCES["pinnacle_cart"].env(sim), "SOURCES__PINNACLE_CART__BATCH_SIZE": "100"}


# --- PinMeTo ---------------------------------------------------------------------------------------------
PINMETO_SECRETS = {"app_id": "TEST-PINMETO-APP-3c9e", "app_secret": "TEST-PINMETO-SECRET-8a41"}


@pytest.fixture
def pinmeto_sim() -> Iterator[PinmetoSimulator]:
    with PinmetoSimulator(account_id="testchain", **PINMETO_SECRETS) as sim:
        yield sim  # type: ignore[misc]


def pinmeto_env_for(sim: PinmetoSimulator) -> dict[str, str]:
    return {**SOURCES["pinmeto"].env(sim), "SOURCES__PINMETO__PAGE_SIZE": "2"}


@pytest.fixture
def pinmeto_env(pinmeto_sim: PinmetoSimulator, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    return set_env(monkeypatch, pinmeto_env_for(pinmeto_sim))


# --- Plugivery -------------------------------------------------------------------------------------------
PLUGIVERY_TOKEN = "TEST-PLUGIVERY-TOKEN-5f0d"


@pytest.fixture
def plugivery_sim() -> Iterator[PlugiverySimulator]:
    with PlugiverySimulator(token=PLUGIVERY_TOKEN, now=1_795_000_000) as sim:
        yield sim  # type: ignore[misc]


def plugivery_env_for(sim: PlugiverySimulator) -> dict[str, str]:
    return SOURCES["plugivery"].env(sim)


@pytest.fixture
def plugivery_env(plugivery_sim: PlugiverySimulator, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    return set_env(monkeypatch, plugivery_env_for(plugivery_sim))


# --- all four ---------------------------------------------------------------------------------------------
@contextmanager
def small_world(
    monkeypatch: pytest.MonkeyPatch, shop: PinnacleCartSimulator | None = None
) -> Iterator[dict[str, Any]]:
    """All four simulators with small worlds (`shop`: a prepared web shop), every source's env pointing at
    them for this test; yield {source: simulator}."""
    with (
        PinogySimulator(n_pos=400) as pinogy,
        shop or PinnacleCartSimulator(n_customers=80, n_orders=600) as cart,
        PinmetoSimulator() as pinmeto,
        PlugiverySimulator() as plugivery,
    ):
        set_env(monkeypatch, pinogy_env_for(pinogy))
        set_env(monkeypatch, pinnacle_cart_env_for(cart))
        set_env(monkeypatch, pinmeto_env_for(pinmeto))
        set_env(monkeypatch, plugivery_env_for(plugivery))
        yield {"pinogy": pinogy, "pinnacle_cart": cart, "pinmeto": pinmeto, "plugivery": plugivery}


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Any]:
    """A real PostgreSQL server on a free loopback port, one per test process; fails (never skips)."""
    from tests.postgres_server import start

    server = start()
    yield server
    server.stop()


@pytest.fixture
def postgres_dsn(postgres_server: Any, request: pytest.FixtureRequest) -> str:
    """A fresh, empty database on the test server for this test; returns its DSN (with the password)."""
    name = "t_" + re.sub(r"\W+", "_", request.node.name.lower())[:50]
    return str(postgres_server.create_database(name))
