"""The nightly job on a real PostgreSQL server, chosen by configuration alone (environment variables).

The server is the session's (tests/postgres_server.py: started on a free loopback port, never skipped);
each test gets a fresh database. Commands run as cron runs them: `python -m pipelines ...` in a subprocess.
"""

from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from pipelines.lock import AdvisoryLock, LockBusy, run_lock
from pipelines.warehouse import POSTGRES, Warehouse
from simulators.pinmeto import PinmetoSimulator
from simulators.pinnacle_cart import PinnacleCartSimulator
from simulators.pinogy import PinogySimulator
from simulators.plugivery import PlugiverySimulator
from tests.conftest import FaultRecord, cli, query
from tests.pinmeto.test_source import current_stores
from tests.pinnacle_cart.test_source import assert_warehouse_equals_api as assert_cart_equals_api
from tests.pinogy.test_source import assert_warehouse_equals_api as assert_pinogy_equals_api
from tests.postgres_server import PASSWORD

ALL_FOUR = ("pinogy_env", "pinnacle_cart_env", "pinmeto_env", "plugivery_env")


def postgres_env(dsn: str) -> dict[str, str]:
    """The whole switch from DuckDB to Postgres: two settings, as a user would export them."""
    return {"WAREHOUSE__DESTINATION": "postgres", "DESTINATION__POSTGRES__CREDENTIALS": dsn}


def no_password(*texts: str) -> None:
    for text in texts:
        assert PASSWORD not in text, "the Postgres password leaked"


def assert_plugivery_equals_api(warehouse: Warehouse, sim: PlugiverySimulator) -> None:
    ids = [r[0] for r in query(warehouse, "select id from plugivery.products")]
    assert len(ids) == len(set(ids)), "duplicate product ids"
    names = dict(query(warehouse, "select id, name from plugivery.product_details"))
    assert names == {i: p["name"] for i, p in sim.products.items()}
    assert set(ids) == set(sim.products)


def column_types(warehouse: Warehouse, schema: str, table: str) -> dict[str, tuple[Any, ...]]:
    rows = query(
        warehouse,
        "select column_name, data_type, numeric_precision, numeric_scale from information_schema.columns "
        "where table_schema = ? and table_name = ?",
        [schema, table],
    )
    return {r[0]: r[1:] for r in rows}


@pytest.mark.usefixtures(*ALL_FOUR)
def test_two_nights_of_all_four_sources_into_postgres_by_config_alone(
    tmp_path: Path,
    postgres_dsn: str,
    pinogy_sim: PinogySimulator,
    pinnacle_cart_sim: PinnacleCartSimulator,
    pinmeto_sim: PinmetoSimulator,
    plugivery_sim: PlugiverySimulator,
) -> None:
    env = postgres_env(postgres_dsn)
    warehouse = Warehouse(POSTGRES, dsn=postgres_dsn)
    first = cli("run", env=env)
    assert first.returncode == 0, first.stderr
    assert "4/4 sources loaded" in first.stdout
    assert "no serving file on postgres" in first.stdout  # BI reads the server's analytics schema
    # The second night: something new or changed in every source.
    pinogy_sim.open_po(n_lines=3)
    pinogy_sim.close_po(pinogy_sim.open_po_ids()[0])
    pinnacle_cart_sim.add_order()
    stores = sorted(pinmeto_sim.truth())
    pinmeto_sim.edit_store(
        stores[0], address={**pinmeto_sim.truth()[stores[0]]["address"], "street": "1 New St"}
    )
    plugivery_sim.advance(0.5)
    plugivery_sim.change_price(sorted(plugivery_sim.products)[2], map=1.0, cost=0.5)
    plugivery_sim.add_product(99999, "Brand New Plugin")
    second = cli("run", env=env)
    assert second.returncode == 0, second.stderr
    no_password(first.stdout, first.stderr, second.stdout, second.stderr)

    # Nothing lost, nothing doubled: every table equals what the simulators hold now.
    assert_pinogy_equals_api(warehouse, pinogy_sim)  # type: ignore[arg-type]
    assert_cart_equals_api(warehouse, pinnacle_cart_sim)  # type: ignore[arg-type]
    assert current_stores(warehouse) == {  # type: ignore[arg-type]
        s: (r["address"]["street"], r["permanentlyClosed"]) for s, r in pinmeto_sim.truth().items()
    }
    assert_plugivery_equals_api(warehouse, plugivery_sim)
    # DECIMAL(18,4) and timestamptz, as on DuckDB.
    lines = column_types(warehouse, "pinogy", "purchase_order_lines")
    assert lines["qty"] == ("numeric", 18, 4) and lines["posted_on"][0] == "timestamp with time zone"
    [(qty,)] = query(warehouse, "select qty from pinogy.purchase_order_lines limit 1")
    assert isinstance(qty, Decimal)
    # The models built on the server, and the history says two good nights.
    assert query(warehouse, "select count(*) > 0 from analytics.supplier_spend_monthly") == [(True,)]
    runs = query(warehouse, "select status, exit_code from ops.runs order by started_at")
    assert runs == [("succeeded", 0), ("succeeded", 0)]
    assert query(warehouse, "select count(*) from ops.run_sources where status = 'succeeded'") == [(8,)]

    # status, history, export and report read the same server.
    status = cli("status", env=env)
    assert (status.returncode, status.stdout) == (0, ""), status.stderr
    state = json.loads(cli("status", "--json", env=env).stdout)
    assert state["ok"] and {s["source"] for s in state["sources"]} == {
        "pinogy",
        "pinnacle_cart",
        "pinmeto",
        "plugivery",
    }
    history = cli("history", env=env)
    assert history.returncode == 0, history.stderr
    assert history.stdout.count("succeeded") == 2 + 8
    exported = cli("export", "--to", str(tmp_path / "share"), env=env)
    assert exported.returncode == 0, exported.stderr
    spend = pq.read_table(tmp_path / "share" / "supplier_spend_monthly.parquet")
    assert spend.num_rows == query(warehouse, "select count(*) from analytics.supplier_spend_monthly")[0][0]
    assert str(spend.schema.field("spend").type).startswith("decimal128")
    report = cli("report", "--out", str(tmp_path / "report.html"), env=env)
    assert report.returncode == 0, report.stderr
    html = (tmp_path / "report.html").read_text()
    assert 'data-source="pinogy"' in html and "is-fresh" in html
    assert "Top supplier per store" in html  # the spend section found its marts
    for done in (status, history, exported, report):
        no_password(done.stdout, done.stderr)
    assert not list(tmp_path.rglob("*.duckdb")), "a DuckDB file appeared on the Postgres path"


@pytest.mark.fault("postgres", "wrong password")
def test_a_wrong_password_is_one_line_and_a_failed_exit_without_the_password(
    postgres_dsn: str, fault_record: FaultRecord
) -> None:
    wrong = postgres_dsn.replace(PASSWORD, "WRONG-PG-PASSWORD-77ab")
    for command in (["run"], ["run", "--dry-run"], ["status"]):
        done = cli(*command, env=postgres_env(wrong))
        fault_record.record(exit_status=done.returncode)
        assert done.returncode == 1, done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, done.stderr
        assert "127.0.0.1" in lines[0] and "password authentication failed" in lines[0]
        assert "DESTINATION__POSTGRES__CREDENTIALS" in lines[0]  # the fix
        assert "WRONG-PG-PASSWORD-77ab" not in done.stdout + done.stderr
        assert "Traceback" not in done.stderr


@pytest.mark.fault("postgres", "no credentials configured")
def test_missing_credentials_name_the_setting(fault_record: FaultRecord) -> None:
    done = cli("status", env={"WAREHOUSE__DESTINATION": "postgres"})
    fault_record.record(exit_status=done.returncode)
    assert done.returncode == 1
    [line] = done.stderr.strip().splitlines()
    assert "[destination.postgres.credentials]" in line and "host" in line


@pytest.mark.fault("postgres", "a second run while one holds the advisory lock")
def test_a_second_run_is_refused_by_the_advisory_lock_naming_the_holder(
    postgres_dsn: str, fault_record: FaultRecord
) -> None:
    warehouse = Warehouse(POSTGRES, dsn=postgres_dsn)
    with run_lock(warehouse) as held:
        assert isinstance(held, AdvisoryLock)
        with (
            pytest.raises(LockBusy, match=rf"retail-warehouse run \(pid {os.getpid()} "),
            run_lock(warehouse),
        ):
            pass
        refused = cli("run", "--sources", "pinogy", env=postgres_env(postgres_dsn))
        fault_record.record(exit_status=refused.returncode)
    assert refused.returncode == 3, refused.stderr
    [line] = refused.stderr.strip().splitlines()
    assert f"pid {os.getpid()}" in line and "Postgres backend pid" in line, line
    no_password(refused.stdout, refused.stderr)
    with run_lock(warehouse):  # released when its holder let go
        pass


@pytest.mark.usefixtures("pinogy_env")
@pytest.mark.parametrize("engine", ["duckdb", "postgres"])
def test_dlt_pipeline_info_and_drop_find_the_warehouse(
    engine: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if engine == "postgres":
        dsn = request.getfixturevalue("postgres_dsn")
        env, warehouse = postgres_env(dsn), Warehouse(POSTGRES, dsn=dsn)
        where: list[str] = []
    else:
        db, pipes = tmp_path / "data" / "retail.duckdb", tmp_path / "pipelines"
        db.parent.mkdir()
        # The working directory from config, as a deployment would put it elsewhere than beside the file.
        env, where = {"WAREHOUSE__PIPELINES_DIR": str(pipes)}, ["--db", str(db)]
        warehouse = Warehouse(path=db, pipelines_dir=pipes)
    assert cli("run", *where, "--sources", "pinogy", "--skip-models", env=env).returncode == 0
    assert warehouse.working_dir.is_dir() and not list(tmp_path.rglob(".retail.dlt"))
    info = cli("dlt", *where, "pipeline", "retail_pinogy", "info", env=env)
    assert info.returncode == 0, info.stderr
    assert f"Found pipeline retail_pinogy in {warehouse.working_dir}" in info.stdout
    trace = cli("dlt", *where, "pipeline", "retail_pinogy", "trace", env=env)
    assert trace.returncode == 0 and "load" in trace.stdout and "purchase_orders" in trace.stdout, (
        trace.stderr
    )
    schema = cli("dlt", *where, "pipeline", "retail_pinogy", "schema", env=env)
    assert schema.returncode == 0 and "purchase_order_lines" in schema.stdout, schema.stderr
    drop = cli("dlt", *where, "pipeline", "retail_pinogy", "drop", "purchase_orders", "-y", env=env)
    assert drop.returncode == 0, drop.stderr
    tables = {
        r[0]
        for r in query(
            warehouse, "select table_name from information_schema.tables where table_schema = 'pinogy'"
        )
    }
    assert "purchase_orders" not in tables and "purchase_order_lines" not in tables
    assert not (tmp_path / "retail_pinogy.duckdb").exists()  # dlt's guess, beside the working directory
    for done in (info, trace, schema, drop):
        no_password(done.stdout, done.stderr)
    # The next night reloads what was dropped (its state was reset with it).
    again = cli("run", *where, "--sources", "pinogy", "--skip-models", env=env)
    assert again.returncode == 0, again.stderr
    assert query(warehouse, "select count(*) from pinogy.purchase_orders") == [(250,)]
