"""The Dagster recipe (deploy/dagster/): it loads as a code location, lets one run go at a time, and its
nightly job materialises every source and every model from the simulators into a real DuckDB file."""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import dagster as dg
import pytest
from dagster._core.instance.config import PoolGranularity
from dagster._core.op_concurrency_limits_counter import GlobalOpConcurrencyLimitsCounter

from pipelines.lock import RunLock, lock_path_for
from pipelines.nightly import pipelines_dir_for
from pipelines.publish import serving_path_for
from pipelines.registry import SOURCES
from pipelines.warehouse import POSTGRES, Warehouse
from simulators.pinmeto import PinmetoSimulator
from simulators.pinnacle_cart import PinnacleCartSimulator
from simulators.pinogy import PinogySimulator
from simulators.plugivery import PlugiverySimulator
from tests.conftest import REPO, cli, query
from tests.pinmeto.test_source import current_stores
from tests.pinnacle_cart.test_source import assert_warehouse_equals_api as assert_cart_equals_api
from tests.pinogy.test_source import assert_warehouse_equals_api as assert_pinogy_equals_api
from tests.postgres_server import PASSWORD
from tests.test_models import MARTS
from tests.test_postgres import assert_plugivery_equals_api, no_password, postgres_env

RECIPE = REPO / "deploy" / "dagster"


def load_recipe() -> ModuleType:
    """Import deploy/dagster/definitions.py as Dagster's `-f` does: a file, not a package."""
    spec = importlib.util.spec_from_file_location("retail_dagster_definitions", RECIPE / "definitions.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def recipe_env(
    db: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    pinogy_env: dict[str, str],
    pinnacle_cart_env: dict[str, str],
    pinmeto_env: dict[str, str],
    plugivery_env: dict[str, str],
) -> Iterator[dg.DagsterInstance]:
    """The four simulators, the warehouse at `db`, and a Dagster instance made from the recipe's dagster.yaml
    under the test's tmp dir (so the secret-leak check reads its event log too)."""
    home = tmp_path / "dagster-home"
    home.mkdir()
    shutil.copy(RECIPE / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("RETAIL_WAREHOUSE_DB", str(db))
    with dg.DagsterInstance.get() as instance:
        yield instance


def test_recipe_loads_as_a_code_location(recipe_env: dg.DagsterInstance) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-f", str(RECIPE / "definitions.py")],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        cwd=RECIPE.parent.parent,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    secrets = [v for k, v in os.environ.items() if k.startswith("SOURCES__") and v.startswith("TEST-")]
    assert secrets and not [s for s in secrets if s in out.stdout + out.stderr]


def test_every_source_is_a_group_and_the_models_depend_on_all_of_them(recipe_env: dg.DagsterInstance) -> None:
    defs = load_recipe().defs
    graph = defs.resolve_asset_graph()
    groups: dict[str, set[dg.AssetKey]] = {}
    for key in graph.get_all_asset_keys():
        groups.setdefault(graph.get(key).group_name, set()).add(key)
    assert set(groups) == {*SOURCES, "models"}
    for name in SOURCES:
        assert groups[name] and all(key.path[0] == name for key in groups[name])
    upstream_of_models = set().union(*(graph.get(key).parent_keys for key in groups["models"]))
    assert set().union(*(groups[name] for name in SOURCES)) <= upstream_of_models
    assert {dg.AssetKey(["analytics", mart]) for mart in MARTS} <= groups["models"]


def test_nightly_schedule_and_one_run_at_a_time(recipe_env: dg.DagsterInstance) -> None:
    recipe = load_recipe()
    defs: dg.Definitions = recipe.defs
    crontab = (REPO / "deploy" / "crontab").read_text().splitlines()
    [nightly_line] = [ln for ln in crontab if "pipelines" in ln and " run " in ln]
    schedule = defs.resolve_schedule_def("retail_nightly_schedule")
    assert schedule.cron_schedule == " ".join(nightly_line.split()[:5])
    assert schedule.job_name == recipe.JOB
    job = defs.resolve_job_def(recipe.JOB)
    assert job.executor_def.name == "in_process"  # one step at a time within a run
    ops = [node.definition for node in job.graph.node_dict.values()]
    assert len(ops) == len(SOURCES) + 1  # a step per source, then the models
    assert {op.pool for op in ops if isinstance(op, dg.OpDefinition)} == {recipe.POOL}

    # The run queue, as the daemon asks it: with the recipe's dagster.yaml a second run waits while one
    # holding the pool is in progress, and goes once it has finished.
    instance = recipe_env
    config = instance.get_concurrency_config().pool_config
    assert (config.pool_granularity, config.default_pool_limit) == (PoolGranularity.RUN, 1)
    first = instance.create_run_for_job(job, status=dg.DagsterRunStatus.STARTED)
    second = instance.create_run_for_job(job, status=dg.DagsterRunStatus.NOT_STARTED)

    def blocked() -> bool:
        in_progress = instance.get_run_records(dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))
        counter = GlobalOpConcurrencyLimitsCounter(
            instance,
            [second],
            in_progress,
            instance.event_log_storage.get_concurrency_keys(),
            instance.event_log_storage.get_pool_limits(),
            pool_granularity=config.pool_granularity,
        )
        return counter.is_blocked(second)

    blocked()  # the daemon's first look at a pool sets it to the default limit (README: or set it up front)
    assert instance.event_log_storage.get_pool_limits()[0].limit == 1
    assert blocked()
    instance.report_run_failed(first)
    assert not blocked()


def test_nightly_job_materialises_every_source_and_model(
    recipe_env: dg.DagsterInstance,
    db: Path,
    pinogy_sim: PinogySimulator,
    pinnacle_cart_sim: PinnacleCartSimulator,
    pinmeto_sim: PinmetoSimulator,
    plugivery_sim: PlugiverySimulator,
) -> None:
    recipe = load_recipe()
    defs: dg.Definitions = recipe.defs
    job = defs.resolve_job_def(recipe.JOB)
    result = job.execute_in_process(instance=recipe_env)
    assert result.success
    materialised = {event.asset_key for event in result.get_asset_materialization_events()}
    assert materialised == set(defs.resolve_asset_graph().get_all_asset_keys())
    # The assets were named from each spec's `resources`: what the real sources return.
    assert {name: set(spec.build(False).resources) for name, spec in SOURCES.items()} == {
        name: set(spec.resources) for name, spec in SOURCES.items()
    }

    # The rows the APIs hold, in the schemas and pipelines the cron job uses.
    assert_pinogy_equals_api(db, pinogy_sim)
    assert_cart_equals_api(db, pinnacle_cart_sim)
    assert current_stores(db) == {
        s: (r["address"]["street"], r["permanentlyClosed"]) for s, r in pinmeto_sim.truth().items()
    }
    assert query(db, "select count(*) from plugivery.products") == [(len(plugivery_sim.products),)]
    assert {p.name for p in pipelines_dir_for(db).iterdir()} >= {f"retail_{name}" for name in SOURCES}
    for mart in MARTS:
        assert query(db, f"select count(*) > 0 from analytics.{mart}") == [(True,)], mart
    pos, lines = pinogy_sim.truth()
    live_lines = {i for i, ln in lines.items() if not pos[ln["transaction_id"]]["deleted"]}
    assert {
        r[0] for r in query(db, "select purchase_order_line_id from analytics.fct_purchase_order_lines")
    } == (live_lines)
    assert serving_path_for(db).exists()  # the tests passed, so BI's file was published
    # The CLI's history has the night, under the run id Dagster's UI shows: status sees every source fresh.
    assert_history_shows(["--db", str(db)], result.run_id, {})
    # The job's own log lines reach Dagster's UI (dagster.yaml's python_logs); the leak check reads them.
    lines = [r.user_message for r in recipe_env.all_logs(result.run_id) if not r.is_dagster_event]
    assert any(line.startswith("pinogy: read ") for line in lines), lines

    # The next night: dagster-dlt drops the local state first and dlt restores it from the warehouse; the
    # incremental read still picks up only what changed, without duplicates.
    new_po = pinogy_sim.open_po(n_lines=2)
    again = job.execute_in_process(instance=recipe_env)
    assert again.success
    assert_pinogy_equals_api(db, pinogy_sim)
    assert query(db, "select count(*) from pinogy.purchase_orders where id = ?", [new_po]) == [(1,)]


def assert_history_shows(where: list[str], dagster_run_id: str, env: dict[str, str]) -> None:
    """`status` exits 0 (every source fresh) and `history` lists the Dagster run, succeeded, per source."""
    status = cli("status", *where, env=env)
    assert (status.returncode, status.stdout) == (0, ""), status.stdout + status.stderr
    history = cli("history", *where, env=env)
    assert history.returncode == 0, history.stderr
    [run_line] = [ln for ln in history.stdout.splitlines() if ln.startswith(dagster_run_id[:8])]
    assert run_line.split()[3:5] == ["succeeded", "0"], history.stdout
    assert sum(f"  {name} " in history.stdout for name in SOURCES) == len(SOURCES), history.stdout
    no_password(status.stdout, status.stderr, history.stdout, history.stderr)


def test_the_job_materialises_every_asset_into_the_configured_postgres(
    recipe_env: dg.DagsterInstance,
    monkeypatch: pytest.MonkeyPatch,
    postgres_dsn: str,
    pinogy_sim: PinogySimulator,
    pinnacle_cart_sim: PinnacleCartSimulator,
    pinmeto_sim: PinmetoSimulator,
    plugivery_sim: PlugiverySimulator,
) -> None:
    # The CLI's two settings, and no DuckDB shortcut: the recipe reads the warehouse as the CLI does.
    monkeypatch.delenv("RETAIL_WAREHOUSE_DB")
    env = postgres_env(postgres_dsn)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    recipe = load_recipe()
    defs: dg.Definitions = recipe.defs
    result = defs.resolve_job_def(recipe.JOB).execute_in_process(instance=recipe_env)
    assert result.success
    materialised = {event.asset_key for event in result.get_asset_materialization_events()}
    assert materialised == set(defs.resolve_asset_graph().get_all_asset_keys())

    warehouse = Warehouse(POSTGRES, dsn=postgres_dsn)
    assert_pinogy_equals_api(warehouse, pinogy_sim)  # type: ignore[arg-type]
    assert_cart_equals_api(warehouse, pinnacle_cart_sim)  # type: ignore[arg-type]
    assert current_stores(warehouse) == {  # type: ignore[arg-type]
        s: (r["address"]["street"], r["permanentlyClosed"]) for s, r in pinmeto_sim.truth().items()
    }
    assert_plugivery_equals_api(warehouse, plugivery_sim)
    for mart in MARTS:
        assert query(warehouse, f"select count(*) > 0 from analytics.{mart}") == [(True,)], mart
    assert_history_shows([], result.run_id, env)
    assert not list(Path.cwd().rglob("*.duckdb")), "a DuckDB file appeared on the Postgres path"
    logs = [r.user_message for r in recipe_env.all_logs(result.run_id)]
    no_password(*logs)


def test_a_postgres_warehouse_that_refuses_the_login_fails_each_step_in_one_line(
    recipe_env: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch, postgres_dsn: str
) -> None:
    monkeypatch.delenv("RETAIL_WAREHOUSE_DB")
    wrong = postgres_dsn.replace(PASSWORD, "WRONG-PG-PASSWORD-dag7")
    for key, value in postgres_env(wrong).items():
        monkeypatch.setenv(key, value)
    recipe = load_recipe()
    keys = recipe.defs.resolve_asset_graph().get_all_asset_keys()
    result = recipe.defs.resolve_job_def(recipe.JOB).execute_in_process(
        instance=recipe_env,
        asset_selection=[key for key in keys if key.path[0] == "pinmeto"],
        raise_on_error=False,
    )
    line = step_failures(result)["pinmeto"]
    assert line.startswith("pinmeto: warehouse: cannot connect to postgresql://"), line
    assert "password authentication failed" in line and "\n" not in line
    assert "WRONG-PG-PASSWORD-dag7" not in line


def test_a_failing_source_fails_its_step_in_one_line_without_the_secret(
    recipe_env: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch, db: Path
) -> None:
    recipe = load_recipe()
    monkeypatch.setenv("SOURCES__PINOGY__PASSWORD", "TEST-WRONG-PASSWORD-dag5")  # read as the run starts
    job = recipe.defs.resolve_job_def(recipe.JOB)
    pinogy_keys = [
        key for key in recipe.defs.resolve_asset_graph().get_all_asset_keys() if key.path[0] == "pinogy"
    ]
    result = job.execute_in_process(instance=recipe_env, asset_selection=pinogy_keys, raise_on_error=False)
    assert not result.success
    [failure] = result.get_step_failure_events()
    data = failure.step_failure_data
    assert data.user_failure_data is not None
    line = data.user_failure_data.description or ""
    assert line.startswith("pinogy: POST /apps/any/sessions: login is incorrect"), line
    assert "SOURCES__PINOGY__PASSWORD" in line and "\n" not in line
    assert "TEST-WRONG-PASSWORD-dag5" not in str(data.error)
    assert data.user_failure_data.metadata["api_calls"].value >= 1  # the login it tried
    # The history says so, as for a cron night: the run failed there, with the source's line.
    run_id = result.run_id[:8]
    assert query(db, "select status, exit_code from ops.runs where run_id = ?", [run_id]) == [("failed", 1)]
    assert query(db, "select source, status, error from ops.run_sources where run_id = ?", [run_id]) == [
        ("pinogy", "failed", line)
    ]


def test_a_run_while_another_holds_the_warehouse_loads_nothing_and_says_whose_it_is(
    recipe_env: dg.DagsterInstance, db: Path
) -> None:
    recipe = load_recipe()
    job = recipe.defs.resolve_job_def(recipe.JOB)
    with RunLock(db):  # a cron run, say
        result = job.execute_in_process(instance=recipe_env, raise_on_error=False)
    assert not result.success
    failures = {event.step_key: event.step_failure_data for event in result.get_step_failure_events()}
    assert set(failures) == set(SOURCES)  # each source tried and stopped; the models did not start
    for name, data in failures.items():
        assert data.user_failure_data is not None
        assert data.user_failure_data.description == (
            f"{name}: another run (pid {os.getpid()}) is loading this warehouse; lock file "
            f"{lock_path_for(db)}; this run loads nothing"
        )
    assert not result.get_asset_materialization_events()


def step_failures(result: dg.ExecuteInProcessResult) -> dict[str, str]:
    """Each failed step's one line (its `dagster.Failure` description)."""
    failures = {}
    for event in result.get_step_failure_events():
        data = event.step_failure_data
        assert data.user_failure_data is not None, data.error
        failures[event.step_key] = data.user_failure_data.description or ""
    return failures


def test_a_missing_setting_fails_that_source_s_step_in_one_line_naming_it(
    recipe_env: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SOURCES__PLUGIVERY__TOKEN")
    recipe = load_recipe()  # the location loads: naming the assets reads no setting
    keys = recipe.defs.resolve_asset_graph().get_all_asset_keys()
    result = recipe.defs.resolve_job_def(recipe.JOB).execute_in_process(
        instance=recipe_env,
        asset_selection=[key for key in keys if key.path[0] == "plugivery"],
        raise_on_error=False,
    )
    assert step_failures(result) == {"plugivery": SOURCES["plugivery"].missing_config_line(["token"])}


def test_an_api_down_fails_only_its_source_and_naming_the_assets_calls_no_api(
    recipe_env: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch, db: Path, pinmeto_sim: PinmetoSimulator
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("SOURCES__PINNACLE_CART__API_URL", f"http://127.0.0.1:{port}/")
    monkeypatch.setenv("RUNTIME__REQUEST_MAX_ATTEMPTS", "1")
    recipe = load_recipe()  # Pinnacle Cart's GetVersion is not called to name its assets
    keys = recipe.defs.resolve_asset_graph().get_all_asset_keys()
    result = recipe.defs.resolve_job_def(recipe.JOB).execute_in_process(
        instance=recipe_env,
        asset_selection=[key for key in keys if key.path[0] in ("pinnacle_cart", "pinmeto")],
        raise_on_error=False,
    )
    line = step_failures(result)["pinnacle_cart"]
    assert line.startswith(f"pinnacle_cart: GET / call=GetVersion: 127.0.0.1:{port}: connection refused"), (
        line
    )
    assert "SOURCES__PINNACLE_CART__API_URL" in line and "\n" not in line
    assert set(step_failures(result)) == {"pinnacle_cart"}  # the other source loaded that night
    assert current_stores(db) == {
        s: (r["address"]["street"], r["permanentlyClosed"]) for s, r in pinmeto_sim.truth().items()
    }
