"""What a Pinnacle Cart run must never do: keep half of a broken or hostile page, leak the credentials
the API wants in its URLs, or leave a connection to the shop open."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest
from requests.adapters import HTTPAdapter

from simulators.pinnacle_cart import BILLION_LAUGHS, PinnacleCartSimulator
from sources.pinnacle_cart.client import PinnacleCartClient
from tests.conftest import PINNACLE_CART_SECRETS, cli, pinnacle_cart_env_for, query, run
from tests.pinnacle_cart.test_source import SOURCE, assert_warehouse_equals_api


@pytest.mark.usefixtures("pinnacle_cart_env")
@pytest.mark.parametrize(
    ("page", "problem"),
    [("truncate", "malformed XML"), ("billion_laughs", "refuses")],
)
def test_bad_xml_page_fails_clearly_and_keeps_state(
    db: Path, pinnacle_cart_sim: PinnacleCartSimulator, page: str, problem: str
) -> None:
    sim = pinnacle_cart_sim
    run(db, [SOURCE])
    before = query(db, "select count(*), max(order_id) from pinnacle_cart.orders")
    new_id = sim.add_order()
    if page == "truncate":
        sim.faults.add("truncate", when=lambda r: r.params.get("call") == "GetOrders")
    else:
        sim.serve_once(BILLION_LAUGHS, "GetOrders")
    [result] = run(db, [SOURCE])
    assert result.status == "failed"
    assert result.error is not None and result.error.startswith("pinnacle_cart: GetOrders LastDate="), (
        result.error
    )
    assert problem in result.error and "\n" not in result.error
    assert query(db, "select count(*), max(order_id) from pinnacle_cart.orders") == before
    [again] = run(db, [SOURCE])  # state did not advance: the next run picks the new order up
    assert again.status == "succeeded", again.error
    assert query(db, "select max(order_id) from pinnacle_cart.orders") == [(new_id,)]
    assert_warehouse_equals_api(db, sim)


def test_credentials_never_reach_output_errors_files_or_duckdb(
    db: Path, pinnacle_cart_sim: PinnacleCartSimulator, tmp_path: Path
) -> None:
    env = pinnacle_cart_env_for(pinnacle_cart_sim)
    ok = cli("--log-level", "DEBUG", "run", "--sources", SOURCE, "--db", str(db), env=env, cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert "pinnacle_cart" in ok.stdout and "counts (API/warehouse)" in ok.stdout
    # A retried 503 and a connection reset log the call; a wrong token fails with one readable line.
    pinnacle_cart_sim.faults.add("status", status=503, times=1)
    pinnacle_cart_sim.faults.add("reset", times=1)
    retried = cli("--log-level", "DEBUG", "run", "--sources", SOURCE, "--db", str(db), env=env, cwd=tmp_path)
    assert retried.returncode == 0, retried.stderr[-2000:]
    wrong = {**env, "SOURCES__PINNACLE_CART__TOKEN": "TEST-WRONG-TOKEN-77aa"}
    failed = cli("--log-level", "DEBUG", "run", "--sources", SOURCE, "--db", str(db), env=wrong, cwd=tmp_path)
    assert failed.returncode == 1
    assert (
        "pinnacle_cart: GetVersion: the API answered: Invalid username, password or security token"
        in failed.stdout
    )
    assert "fix: check SOURCES__PINNACLE_CART__USERNAME / PASSWORD / TOKEN" in failed.stdout

    pinnacle_cart_sim.serve_once(BILLION_LAUGHS, "GetCustomers")  # fails mid-extract, inside dlt
    hostile = cli("--log-level", "DEBUG", "run", "--sources", SOURCE, "--db", str(db), env=env, cwd=tmp_path)
    assert hostile.returncode == 1 and "pinnacle_cart: GetCustomers StartNumber=0" in hostile.stdout

    secrets = [*PINNACLE_CART_SECRETS.values(), "TEST-WRONG-TOKEN-77aa"]
    for out in (ok, retried, failed, hostile):
        for secret in secrets:
            assert secret not in out.stdout and secret not in out.stderr
    for path in tmp_path.rglob("*"):
        if path.is_file() and not path.name.endswith((".duckdb", ".wal")):
            data = path.read_bytes()
            assert not any(s.encode() in data for s in secrets), path
    with duckdb.connect(str(db), read_only=True) as con:
        columns = con.execute(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where data_type in ('VARCHAR', 'JSON') or data_type like '%[]'"
        ).fetchall()
        for schema, table, column in columns:
            text = con.execute(
                f'select string_agg("{column}"::varchar, \' \') from "{schema}"."{table}"'
            ).fetchone()
            assert not any(s in str(text[0] or "") for s in secrets), (table, column)
    assert not any(s.encode() in db.read_bytes() for s in secrets)


@pytest.mark.usefixtures("pinnacle_cart_env")
def test_a_run_leaves_no_connection_to_the_shop_open(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sources.pinnacle_cart as source_module

    clients: list[PinnacleCartClient] = []

    class Kept(PinnacleCartClient):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            clients.append(self)

    monkeypatch.setattr(source_module, "PinnacleCartClient", Kept)
    [result] = run(db, [SOURCE])
    assert result.status == "succeeded", result.error
    assert clients and all(client.calls for client in clients)
    adapters = [a for c in clients for a in c.http.adapters.values() if isinstance(a, HTTPAdapter)]
    open_pools = [len(a.poolmanager.pools) for a in adapters]
    assert open_pools and not any(open_pools)
