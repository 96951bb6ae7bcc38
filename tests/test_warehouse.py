"""The warehouse interface runs the same DuckDB-dialect SQL on a DuckDB file and on a real Postgres server."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.warehouse import DUCKDB, POSTGRES, Warehouse


@pytest.fixture(params=[DUCKDB, POSTGRES])
def warehouse(request: pytest.FixtureRequest, tmp_path: Path) -> Warehouse:
    if request.param == DUCKDB:
        return Warehouse(DUCKDB, path=tmp_path / "w.duckdb")
    return Warehouse(POSTGRES, dsn=request.getfixturevalue("postgres_dsn"))


def test_same_sql_same_answer_on_both_engines(warehouse: Warehouse) -> None:
    with warehouse.connect() as con:
        con.execute("create schema if not exists s")
        con.execute("create table s.t (d date, amount decimal(18, 4))")
        con.execute("insert into s.t values (?, ?), (?, ?)", ["2026-01-05", "1.5", "2026-02-07", "2.25"])
        rows = con.fetchall(
            "select strftime(d, '%Y-%m') as month, sum(amount) from s.t where amount > ? "
            "group by month order by 1",
            [1],
        )
        assert [(m, float(a)) for m, a in rows] == [("2026-01", 1.5), ("2026-02", 2.25)]
        assert "s.t" in con.relations(["s"])
        assert con.arrow("select count(*) as n from s.t").to_pylist() == [{"n": 2}]


def test_a_failed_transaction_leaves_nothing(warehouse: Warehouse) -> None:
    with warehouse.connect() as con:
        con.execute("create table t (x int)")
        with pytest.raises(RuntimeError), con.transaction():
            con.execute("insert into t values (1)")
            raise RuntimeError("boom")
        assert con.fetchone("select count(*) from t") == (0,)


def test_the_label_never_shows_the_password(postgres_server: object, postgres_dsn: str) -> None:
    label = Warehouse(POSTGRES, dsn=postgres_dsn).label
    assert postgres_server.password not in label and "127.0.0.1" in label  # type: ignore[attr-defined]
