"""Plugivery: dates from the future, repeated records, unreadable values (issue 13 §2, §3, §6)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pipelines.nightly import make_pipeline
from simulators.plugivery import PlugiverySimulator
from tests.conftest import FaultRecord, query, run

pytestmark = pytest.mark.usefixtures("plugivery_env")

YEAR_2099 = int(datetime(2099, 1, 1, tzinfo=UTC).timestamp())


def catalog_state(db: Path) -> dict[str, Any]:
    return dict(make_pipeline("plugivery", db).state["sources"]["plugivery"]["resources"]["products"])


def figures(db: Path, sim: PlugiverySimulator) -> dict[str, Any]:
    [(rows, keys)] = query(db, "select count(*), count(distinct id) from plugivery.products")
    dupes = 0
    for table, key in (("product_prices", "id, date"), ("product_details", "id"), ("promotions", "id"),
                       ("brands", "id"), ("categories", "id")):  # fmt: skip
        [(extra,)] = query(
            db,
            f"select count(*) - (select count(*) from (select distinct {key} from plugivery.{table})) "
            f"from plugivery.{table}",
        )
        dupes += extra
    return {"rows_expected": len(sim.products), "rows_found": keys, "duplicates": dupes + rows - keys}


@pytest.mark.fault("plugivery", "cursor: a product dated 2099, the API's clock in 2099")
def test_a_date_from_the_future_loads_is_named_and_hides_no_later_change(
    db: Path, plugivery_sim: PlugiverySimulator, fault_record: FaultRecord
) -> None:
    sim = plugivery_sim
    run(db, ["plugivery"])
    product = sorted(sim.products)[0]
    sim.products[product]["date"] = YEAR_2099
    sim.advance(0.5)
    [night] = run(db, ["plugivery"])
    assert night.status == "succeeded", night.error
    assert any(f"product {product}" in note and "2099-01-01" in note for note in night.notes), night.notes
    assert query(db, "select year(date) from plugivery.products where id = ?", [product]) == [(2099,)]
    sim.advance(0.5)
    sim.change_price(product, msrp=123.0)  # the real change, dated today: it must not hide behind 2099
    [next_night] = run(db, ["plugivery"])
    assert next_night.status == "succeeded", next_night.error
    assert query(db, "select msrp from plugivery.products where id = ?", [product]) == [(123,)]
    # The API's own clock in 2099: the list position stays within ours, so the next night heals.
    sim.now = YEAR_2099
    [odd] = run(db, ["plugivery"])
    assert odd.status == "succeeded", odd.error
    assert any("the API's clock" in note for note in odd.notes), odd.notes
    assert catalog_state(db)["last_list_at"] <= time.time() + 86400
    fault_record.record(**figures(db, sim), retries=0, exit_status=f"{night.status}, {odd.status}")
    assert figures(db, sim)["duplicates"] == 0


@pytest.mark.fault("plugivery", "cursor: saved list position already in 2099 (heals; --full-refresh resets)")
def test_a_saved_future_list_position_heals_with_a_full_list(
    db: Path, plugivery_sim: PlugiverySimulator, fault_record: FaultRecord, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = plugivery_sim
    real_now = sim.now
    sim.now = YEAR_2099
    monkeypatch.setenv("SOURCES__PLUGIVERY__CURSOR_TOLERANCE_HOURS", str(2000 * 365 * 24))
    run(db, ["plugivery"])  # what the loader did before the clamp: the position follows the API to 2099
    assert catalog_state(db)["last_list_at"] >= YEAR_2099
    monkeypatch.delenv("SOURCES__PLUGIVERY__CURSOR_TOLERANCE_HOURS")
    sim.now = real_now + 40 * 86400  # a month on: only since=all still shows the old change below
    old = sorted(sim.products)[1]
    sim.products[old].update(msrp=77.0, date=int(real_now))
    sim.reset_calls()
    [healed] = run(db, ["plugivery"])
    assert healed.status == "succeeded", healed.error
    assert any("saved list position" in note for note in healed.notes), healed.notes
    assert [c.params.get("since") for c in sim.calls if c.params.get("act") == "list"] == ["all"]
    assert query(db, "select msrp from plugivery.products where id = ?", [old]) == [(77,)]
    assert catalog_state(db)["last_list_at"] <= time.time() + 86400
    sim.reset_calls()
    [full] = run(db, ["plugivery"], full_refresh=True)
    fault_record.record(**figures(db, sim), retries=0, exit_status=f"healed, then {full.status}")
    assert full.status == "succeeded", full.error
    assert [c.params.get("act") for c in sim.calls if c.params.get("act", "").startswith("list")] == [
        "list",
        "list_promotions",
        "list_brands",
        "list_cats",
    ]
    assert [c.params.get("since") for c in sim.calls if c.params.get("act") == "list"] == ["all"]


@pytest.mark.fault("plugivery", "repeats: a product, promotion, brand and category listed twice")
def test_repeated_records_load_once(
    db: Path, plugivery_sim: PlugiverySimulator, fault_record: FaultRecord
) -> None:
    sim = plugivery_sim
    products = sorted(sim.products)
    brand, category = next(iter(sim.brands.values())), next(iter(sim.categories.values()))
    sim.repeats = {products[0], products[-1], sim.promotions[0]["id"], brand["id"], category["id"]}
    [first] = run(db, ["plugivery"])
    assert first.status == "succeeded", first.error
    assert figures(db, sim)["duplicates"] == 0
    assert sim.calls_to("/catalog") and sum(c.params.get("act") == "get" for c in sim.calls) == len(products)
    sim.advance(0.5)
    sim.change_price(products[0], msrp=55.0)
    [night] = run(db, ["plugivery"])
    fault_record.record(**figures(db, sim), retries=0, exit_status=f"{first.status}, {night.status}")
    assert night.status == "succeeded", night.error
    assert figures(db, sim)["duplicates"] == 0
    assert query(db, "select count(*) from plugivery.product_prices where id = ?", [products[0]]) == [(2,)]


@pytest.mark.fault("plugivery", "unreadable values: date 'yesterday' and 1e20 (rejected by name)")
def test_unreadable_dates_are_rejected_by_name_and_the_rest_loads(
    db: Path, plugivery_sim: PlugiverySimulator, fault_record: FaultRecord
) -> None:
    sim = plugivery_sim
    products = sorted(sim.products)
    sim.products[products[2]]["date"] = "yesterday"
    sim.products[products[3]]["date"] = 1e20
    sim.promotions[1]["end"] = "soon"
    [result] = run(db, ["plugivery"])
    assert result.status == "succeeded", result.error
    rejected = query(
        db, "select source, resource, record_id, field, raw_value, reason from plugivery.rejects"
    )
    assert {r[1:5] for r in rejected} == {
        ("products", str(products[2]), "date", "yesterday"),
        ("products", str(products[3]), "date", "1e+20"),
        ("promotions", str(sim.promotions[1]["id"]), "end", "soon"),
    }
    assert all(r[0] == "plugivery" and r[5] for r in rejected)
    assert any("3 record(s) rejected" in note for note in result.notes), result.notes
    loaded = {r[0] for r in query(db, "select id from plugivery.products")}
    assert loaded == set(products) - {products[2], products[3]}
    assert len(query(db, "select id from plugivery.promotions")) == len(sim.promotions) - 1
    fault_record.record(**figures(db, sim), retries=0, exit_status=result.status)
    assert figures(db, sim)["duplicates"] == 0
