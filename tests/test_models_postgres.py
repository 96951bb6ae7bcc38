"""The SQL models on Postgres: one set of files builds the same marts as on DuckDB, row for row.

The four sources load from fresh simulators of one small world (same seeds, Plugivery's clock fixed)
into a DuckDB file and into a database on the test's real PostgreSQL server; the models build on both.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from pipelines.models import ModelError, build
from pipelines.registry import SOURCES
from pipelines.warehouse import DUCKDB, POSTGRES, Warehouse
from tests.conftest import FaultRecord, run
from tests.postgres_server import load_sources

WORLD: dict[str, dict[str, Any]] = {
    "pinogy": {"n_pos": 150},
    "pinnacle_cart": {"n_customers": 40, "n_orders": 250},
    "pinmeto": {},
    "plugivery": {"now": 1_795_000_000},  # the catalogue's clock: its promotions' states depend on it
}


@contextmanager
def simulators(names: Iterable[str], monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fresh simulators of the small world, with SOURCES__* pointing at them.

    Fresh for each load: a simulator keeps a day's read budget (Plugivery) across loads.
    """
    with ExitStack() as stack:
        for name in names:
            sim = stack.enter_context(SOURCES[name].start_simulator(**WORLD[name]))
            for key, value in SOURCES[name].env(sim).items():
                monkeypatch.setenv(key, value)
        yield


def _same(value: Any) -> Any:
    """`value` as both engines should agree on it: instants in UTC, decimals without trailing zeros."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC)
    if isinstance(value, Decimal):
        return value.normalize()
    if isinstance(value, float):
        return round(value, 9)
    return value


def tables(warehouse: Warehouse, schemas: list[str]) -> dict[str, tuple[list[str], list[tuple[Any, ...]]]]:
    """Every table in `schemas`: its column names and its rows, normalised and sorted."""
    out = {}
    with warehouse.connect(read_only=True) as con:
        for rel in sorted(con.relations(schemas)):
            cursor = con.execute(f"select * from {rel}")
            columns = [d[0] for d in cursor.description]
            rows = [tuple(_same(v) for v in row) for row in cursor.fetchall()]
            out[rel] = (columns, sorted(rows, key=repr))
    return out


def test_the_models_build_the_same_marts_on_duckdb_and_on_postgres(
    db: Path, postgres_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with simulators(SOURCES, monkeypatch):
        results = run(db, list(SOURCES))
    assert [r.status for r in results] == ["succeeded"] * len(SOURCES), [r.error for r in results]
    with simulators(SOURCES, monkeypatch):
        load_sources(postgres_dsn, SOURCES, tmp_path / "pg-pipelines")
    duck, pg = Warehouse(DUCKDB, path=db), Warehouse(POSTGRES, dsn=postgres_dsn)

    on_duckdb, on_postgres = build(duck), build(pg)

    assert on_duckdb.skipped == on_postgres.skipped == {}
    assert on_postgres.built == on_duckdb.built and len(on_duckdb.built) >= 29
    assert on_postgres.tests_failed == on_duckdb.tests_failed == {}
    assert on_postgres.tests_passed == on_duckdb.tests_passed and len(on_duckdb.tests_passed) >= 22
    assert "int_product_matches__key_unique_not_null" in on_postgres.tests_passed  # from its `-- key:`
    expected, got = tables(duck, ["analytics", "intermediate"]), tables(pg, ["analytics", "intermediate"])
    assert sorted(got) == sorted(expected) and len(expected) >= 14
    for rel, (columns, rows) in expected.items():
        pg_columns, pg_rows = got[rel]
        assert pg_columns == columns, rel
        assert len(rows) > 0, rel
        only_duckdb = [r for r in rows if r not in set(pg_rows)][:3]
        only_postgres = [r for r in pg_rows if r not in set(rows)][:3]
        assert pg_rows == rows, f"{rel}: only on DuckDB {only_duckdb}, only on Postgres {only_postgres}"


def test_on_postgres_a_model_whose_source_never_loaded_is_skipped_with_a_note(
    postgres_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with simulators(["pinogy"], monkeypatch):
        load_sources(postgres_dsn, ["pinogy"], tmp_path / "pg-pipelines")
    warehouse = Warehouse(POSTGRES, dsn=postgres_dsn)
    with caplog.at_level(logging.INFO, logger="retail.models"):
        report = build(warehouse)
    assert "analytics.dim_supplier" in report.built
    assert report.skipped["analytics.dim_location"] == "needs staging.stg_pinmeto__locations"
    assert "skipped analytics.dim_location: needs staging.stg_pinmeto__locations" in report.summary()
    assert "models: skipped analytics.dim_location (needs staging.stg_pinmeto__locations)" in caplog.text
    assert report.tests_failed == {}
    with warehouse.connect() as con:
        assert "analytics.dim_location" not in con.relations()
        assert con.fetchone("select count(*) > 1 from analytics.dim_supplier") == (True,)


@pytest.mark.fault("models", "a mart's SQL fails on Postgres (yesterday's marts kept)")
def test_on_postgres_a_failing_mart_leaves_the_previous_marts_intact(
    postgres_dsn: str, tmp_path: Path, fault_record: FaultRecord
) -> None:
    sql_dir = tmp_path / "sql"
    for folder in ("seeds", "staging", "intermediate", "marts", "tests"):
        (sql_dir / folder).mkdir(parents=True)
    header = "-- grain: thing\n-- key: thing_key\n"
    (sql_dir / "marts" / "dim_thing.sql").write_text(header + "select 1 as thing_key, 'yesterday' as version")
    (sql_dir / "marts" / "fct_thing.sql").write_text(header + "select thing_key from analytics.dim_thing")
    warehouse = Warehouse(POSTGRES, dsn=postgres_dsn)
    assert build(warehouse, sql_dir).built == ["analytics.dim_thing", "analytics.fct_thing"]
    # Tonight dim_thing rebuilds fine, then fct_thing's SQL fails: the whole build rolls back.
    (sql_dir / "marts" / "dim_thing.sql").write_text(header + "select 2 as thing_key, 'today' as version")
    (sql_dir / "marts" / "fct_thing.sql").write_text(
        header + "select thing_key, nope from analytics.dim_thing"
    )
    with pytest.raises(ModelError) as failed:
        build(warehouse, sql_dir)
    fault_record.record(error=str(failed.value))
    assert str(failed.value).startswith(
        'models: building analytics.fct_thing from fct_thing.sql failed: column "nope" does not exist'
    )
    with warehouse.connect() as con:
        assert con.fetchall("select thing_key, version from analytics.dim_thing") == [(1, "yesterday")]
        assert con.fetchall("select thing_key from analytics.fct_thing") == [(1,)]
