"""The SQL models on a warehouse loaded from all four simulators: every mart has rows, numbers check out."""

from __future__ import annotations

import re
import shutil
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from pipelines.models import SQL_DIR, ModelError, build, discover
from pipelines.report import write_report
from pipelines.warehouse import DUCKDB, Warehouse
from simulators.pinogy import PinogySimulator
from tests.conftest import pinogy_env_for, query, run, set_env, small_world

MARTS = [
    "unmatched_products",
    "dim_product",
    "dim_supplier",
    "dim_location",
    "dim_location_hours",
    "dim_customer",
    "fct_purchase_order_lines",
    "fct_cart_order_lines",
    "supplier_spend_monthly",
    "product_margin",
    "map_compliance",
    "stock_cover",
]


@pytest.fixture
def loaded(db: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, PinogySimulator]:
    with small_world(monkeypatch) as sims:
        results = run(db, ["pinogy", "pinnacle_cart", "pinmeto", "plugivery"])
        assert [r.status for r in results] == ["succeeded"] * 4, [r.error for r in results]
        return db, sims["pinogy"]


def test_every_mart_has_rows_and_every_sql_test_passes(loaded: tuple[Path, PinogySimulator]) -> None:
    db, _ = loaded
    report = build(Warehouse(DUCKDB, path=db))
    assert report.skipped == {} and report.tests_failed == {}
    assert len(report.tests_passed) >= 22
    assert "int_product_matches__key_unique_not_null" in report.tests_passed  # generated from its header
    staging = {f"{m.name}__key_unique_not_null" for m in discover().values() if m.kind == "view"}
    assert len(staging) == 13 and staging <= set(report.tests_passed)  # staging views state keys too
    for mart in MARTS:
        [(rows,)] = query(db, f"select count(*) from analytics.{mart}")
        assert rows > 0, mart


def test_supplier_spend_matches_the_simulators_truth(loaded: tuple[Path, PinogySimulator]) -> None:
    db, pinogy = loaded
    build(Warehouse(DUCKDB, path=db))
    pos, lines = pinogy.truth()
    spend: dict[tuple[int, int, str], Decimal] = defaultdict(Decimal)
    for line in lines.values():
        po = pos[line["transaction_id"]]
        if po["deleted"] or line["deleted"]:
            continue
        month = datetime.fromisoformat(po["opened_on"]).astimezone(UTC).strftime("%Y-%m")
        spend[(po["entity_id"], po["location_id"], month)] += Decimal(line["qty"]) * Decimal(
            line["expected_cost"]
        )
    (supplier, location, month), expected = max(spend.items(), key=lambda kv: kv[1])
    got = query(
        db,
        "select spend from analytics.supplier_spend_monthly where supplier_key = ? and location_key = ? "
        "and strftime(month, '%Y-%m') = ?",
        [f"pinogy:{supplier}", f"pinogy:{location}", month],
    )
    assert got == [(expected,)]


def test_products_match_by_seed_sku_and_name(loaded: tuple[Path, PinogySimulator], tmp_path: Path) -> None:
    db, pinogy = loaded
    pid_of = dict(query(db, "select product_id, pid from pinnacle_cart.products"))
    bought = {r[0] for r in query(db, "select distinct product_id from pinogy.purchase_order_lines")}
    online = [p for p in pinogy.world.products if p.cart_sku in pid_of and p.product_id in bought]
    by_sku = next(p for p in online if p.cart_sku == str(p.product_id))
    by_name = next(
        p for p in online if p.cart_sku and p.cart_sku[0] == "W" and not p.cart_sku.startswith("WEB")
    )
    music = next(p for p in pinogy.world.products if p.plugivery_id)
    # A hand-kept crosswalk row wins over automatic matching.
    sql_dir = tmp_path / "sql"
    shutil.copytree(SQL_DIR, sql_dir)
    with (sql_dir / "seeds" / "product_map.csv").open("a") as fh:
        fh.write(f"plugivery,{music.plugivery_id},hand:{music.plugivery_id},test seed\n")
    report = build(Warehouse(DUCKDB, path=db), sql_dir)
    assert report.tests_failed == {}
    matches = {
        (s, i): (k, m)
        for s, i, k, m in query(
            db, "select source, source_id, product_key, match_method from intermediate.int_product_matches"
        )
    }
    assert matches[("pinnacle_cart", str(pid_of[by_sku.cart_sku]))] == (f"pinogy:{by_sku.product_id}", "sku")
    assert matches[("pinnacle_cart", str(pid_of[by_name.cart_sku]))] == (
        f"pinogy:{by_name.product_id}",
        "name",
    )
    assert matches[("plugivery", str(music.plugivery_id))] == (f"hand:{music.plugivery_id}", "seed")


def test_a_warehouse_with_one_source_builds_what_it_can(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with PinogySimulator(n_pos=60) as pinogy:
        set_env(monkeypatch, pinogy_env_for(pinogy))
        run(db, ["pinogy"])
    report = build(Warehouse(DUCKDB, path=db))
    assert "analytics.dim_supplier" in report.built
    assert "staging.stg_pinogy__purchase_orders" in report.built
    assert report.skipped["analytics.dim_location"] == "needs staging.stg_pinmeto__locations"
    assert report.tests_failed == {}
    assert query(db, "select count(*) > 1 from analytics.dim_supplier") == [(True,)]


def test_report_builds_from_the_warehouse_with_every_section_and_no_network(
    loaded: tuple[Path, PinogySimulator], tmp_path: Path
) -> None:
    db, _ = loaded
    build(Warehouse(DUCKDB, path=db))
    page = write_report(db, tmp_path / "report.html").read_text()
    for section in ("spend", "margin", "map", "stock", "hours"):
        assert f"<section id='{section}'>" in page
    assert page.count("<svg") >= 3 and "no data yet" not in page
    assert "<script" not in page and "<link" not in page and "src=" not in page  # nothing fetched


def test_report_says_no_data_yet_for_missing_marts(db: Path, tmp_path: Path) -> None:
    import duckdb

    duckdb.connect(str(db)).close()
    page = write_report(db, tmp_path / "report.html").read_text()
    assert page.count("no data yet") == 5


def _sql_dir_with_mart(tmp_path: Path, name: str, sql: str, folder: str = "marts") -> Path:
    sql_dir = tmp_path / "sql"
    for each in ("seeds", "staging", "intermediate", "marts", "tests"):
        (sql_dir / each).mkdir(parents=True, exist_ok=True)
    (sql_dir / folder / f"{name}.sql").write_text(sql)
    return sql_dir


def test_a_models_stated_key_becomes_a_test_that_catches_repeats_and_nulls(db: Path, tmp_path: Path) -> None:
    sql_dir = _sql_dir_with_mart(
        tmp_path,
        "fct_visit",
        "-- grain: a visit to a store\n-- key: store_id, visit_id\n"
        "select * from (values (1, 1), (1, 1), (1, 2), (2, null)) as t(store_id, visit_id)",
    )
    report = build(Warehouse(DUCKDB, path=db), sql_dir)
    assert report.built == ["analytics.fct_visit"]
    # (1, 1) repeats, (2, null) has a null part: two offending rows, named like a file test.
    assert report.tests_failed == {"fct_visit__key_unique_not_null": 2}
    assert "FAILED test fct_visit__key_unique_not_null: 2 offending rows" in report.summary()
    (sql_dir / "marts" / "fct_visit.sql").write_text(
        "-- grain: a visit to a store\n-- key: store_id, visit_id\n"
        "select * from (values (1, 1), (1, 2), (2, 1)) as t(store_id, visit_id)"
    )
    again = build(Warehouse(DUCKDB, path=db), sql_dir)
    assert again.tests_failed == {} and again.tests_passed == ["fct_visit__key_unique_not_null"]


def test_a_mart_that_states_no_key_is_refused_in_one_line(db: Path, tmp_path: Path) -> None:
    sql_dir = _sql_dir_with_mart(tmp_path, "dim_thing", "-- One row per thing.\nselect 1 as thing_key")
    with pytest.raises(ModelError, match=r"^models: sql/marts/dim_thing.sql must state its key once"):
        build(Warehouse(DUCKDB, path=db), sql_dir)


def test_a_staging_view_states_its_key_and_gets_its_test_like_a_mart(db: Path, tmp_path: Path) -> None:
    sql_dir = _sql_dir_with_mart(
        tmp_path,
        "stg_shop__visits",
        "-- grain: a visit\n-- key: visit_id\nselect * from (values (1), (1), (2)) as t(visit_id)",
        "staging",
    )
    report = build(Warehouse(DUCKDB, path=db), sql_dir)
    assert report.built == ["staging.stg_shop__visits"]
    assert report.tests_failed == {"stg_shop__visits__key_unique_not_null": 1}
    (sql_dir / "staging" / "stg_shop__visits.sql").write_text("select 1 as visit_id")
    with pytest.raises(
        ModelError, match=r"^models: sql/staging/stg_shop__visits.sql must state its key once"
    ):
        build(Warehouse(DUCKDB, path=db), sql_dir)


def test_a_mart_moved_to_intermediate_is_no_longer_served(db: Path, tmp_path: Path) -> None:
    import duckdb

    with duckdb.connect(str(db)) as con:
        con.execute("create schema analytics; create table analytics.product_matches as select 1 as x")
    build(
        Warehouse(DUCKDB, path=db),
        _sql_dir_with_mart(
            tmp_path, "dim_thing", "-- grain: thing\n-- key: thing_key\nselect 1 as thing_key"
        ),
    )
    tables = query(db, "select table_schema, table_name from information_schema.tables order by all")
    assert tables == [("analytics", "dim_thing")]


def test_the_sql_readme_names_each_models_key_as_its_header_states_it() -> None:
    models = discover()
    rows = re.findall(r"(?m)^\| `(\w+)` \| [^|]+ \| ([^|]+) \|", (SQL_DIR / "README.md").read_text())
    documented = {name: tuple(re.findall(r"`(\w+)`", key)) for name, key in rows}
    stated = {m.name: m.key for m in models.values() if m.kind == "table"}
    assert documented == stated
