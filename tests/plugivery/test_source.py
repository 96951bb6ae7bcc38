"""The Plugivery source end to end: windows, the read budget, the get queue, quotas, error codes."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from simulators.plugivery import PlugiverySimulator
from sources.plugivery.budget import since_window
from tests.conftest import PLUGIVERY_TOKEN, FaultRecord, cli_debug_run, plugivery_env_for, query, run, set_env

pytestmark = pytest.mark.usefixtures("plugivery_env")
HOUR, DAY = 3600, 86400


def acts(sim: PlugiverySimulator) -> list[str]:
    return [f"{c.params.get('act')}:{c.params.get('since') or c.params.get('id') or ''}" for c in sim.calls]


def test_since_window_is_the_smallest_covering_the_gap() -> None:
    now = 1_800_000_000
    assert since_window(None, now) == "all"
    assert since_window(now - 23 * HOUR, now) == "day"
    assert since_window(now - 25 * HOUR, now) == "week"
    assert since_window(now - 8 * DAY, now) == "month"
    assert since_window(now - 31 * DAY, now) == "all"


def test_first_run_reads_everything_within_budget(db: Path, plugivery_sim: PlugiverySimulator) -> None:
    [result] = run(db, ["plugivery"])
    assert result.status == "succeeded", result.error
    n = len(plugivery_sim.products)
    assert acts(plugivery_sim)[:2] == ["info:", "list:all"]
    assert plugivery_sim.reads_today() == n + 4  # list, promotions, brands, categories, one get each
    got = dict(
        query(db, "select p.id, d.name from plugivery.products p join plugivery.product_details d using (id)")
    )
    assert got == {i: p["name"] for i, p in plugivery_sim.products.items()}
    [(msrp,)] = query(
        db, "select msrp from plugivery.products where id = ?", [next(iter(plugivery_sim.products))]
    )
    assert isinstance(msrp, Decimal)
    assert query(db, "select count(distinct state) from plugivery.promotions") == [(4,)]


def test_next_day_asks_for_a_day_and_gets_only_what_changed(
    db: Path, plugivery_sim: PlugiverySimulator
) -> None:
    run(db, ["plugivery"])
    plugivery_sim.advance(0.5)
    changed = sorted(plugivery_sim.products)[3]
    plugivery_sim.change_price(changed, map=1.0, cost=0.5)
    plugivery_sim.add_product(99999, "Brand New Plugin")
    plugivery_sim.reset_calls()
    [result] = run(db, ["plugivery"])
    assert result.status == "succeeded", result.error
    calls = acts(plugivery_sim)
    assert "list:day" in calls
    assert sorted(c for c in calls if c.startswith("get:")) == sorted([f"get:{changed}", "get:99999"])
    assert not any(c.startswith("list_brands") for c in calls)  # already read today
    history = query(db, "select map from plugivery.product_prices where id = ? order by date", [changed])
    assert len(history) == 2 and history[-1][0] == Decimal("1.0")
    assert query(db, "select name from plugivery.product_details where id = 99999") == [("Brand New Plugin",)]


def test_budget_spreads_gets_over_nights_oldest_first(
    db: Path, plugivery_sim: PlugiverySimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCES__PLUGIVERY__DAY_LIMIT", "70")
    monkeypatch.setenv("SOURCES__PLUGIVERY__HEADROOM", "6")
    [first] = run(db, ["plugivery"])
    assert first.status == "succeeded"
    assert plugivery_sim.reads_today() == 64  # never past the limit minus the headroom
    [(fetched,)] = query(db, "select count(*) from plugivery.product_details")
    assert fetched == 60
    oldest = sorted(plugivery_sim.products.values(), key=lambda p: (p["date"], p["id"]))[:60]
    assert {r[0] for r in query(db, "select id from plugivery.product_details")} == {p["id"] for p in oldest}
    assert "products wait for details" in " ".join(first.notes)
    total = len(plugivery_sim.products)
    nights = 0
    while query(db, "select count(*) from plugivery.product_details")[0][0] < total and nights < 20:
        plugivery_sim.advance(1)
        run(db, ["plugivery"])
        nights += 1
    gets = [c for c in plugivery_sim.calls if c.params.get("act") == "get"]
    assert len(gets) == total == len({c.params["id"] for c in gets})  # never re-got an unchanged product


@pytest.mark.fault("plugivery", "quota exhausted mid-run (472)")
def test_quota_error_defers_keeps_data_and_resumes(
    db: Path, plugivery_sim: PlugiverySimulator, fault_record: FaultRecord
) -> None:
    plugivery_sim.day_limit = 10  # another tool of the partner account spent the rest today
    [deferred] = run(db, ["plugivery"])
    assert deferred.status == "deferred"
    assert "over the daily read limit (error 472)" in (deferred.error or "")
    [(partial,)] = query(db, "select count(*) from plugivery.product_details")
    assert 0 < partial < len(plugivery_sim.products)
    plugivery_sim.day_limit = 300
    plugivery_sim.advance(1)
    [resumed] = run(db, ["plugivery"])
    [(found,)] = query(db, "select count(*) from plugivery.product_details")
    fault_record.record(
        rows_expected=len(plugivery_sim.products),
        rows_found=found,
        duplicates=0,
        retries=0,
        exit_status=f"{deferred.status}, then {resumed.status}",
    )
    assert resumed.status == "succeeded"
    assert found == len(plugivery_sim.products)


@pytest.mark.parametrize(
    ("switch", "text"),
    [
        ("allowed_ip", "IP address is not on the partner's allow-list"),
        ("revoked", "access revoked (error 461)"),
        ("token", "invalid token (error 453)"),
    ],
)
def test_error_codes_are_one_clear_line(
    db: Path, plugivery_sim: PlugiverySimulator, switch: str, text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if switch == "allowed_ip":
        plugivery_sim.allowed_ip = False
    elif switch == "revoked":
        plugivery_sim.revoked = True
    else:
        monkeypatch.setenv("SOURCES__PLUGIVERY__TOKEN", "TEST-PLUGIVERY-WRONG-1b2c")
    [result] = run(db, ["plugivery"])
    assert result.status == "failed"
    assert (result.error or "").startswith("plugivery: act=info: ") and text in (result.error or "")


def test_quiet_night_no_result_is_not_an_error(db: Path, plugivery_sim: PlugiverySimulator) -> None:
    run(db, ["plugivery"])
    plugivery_sim.advance(0.3)
    plugivery_sim.reset_calls()
    [result] = run(db, ["plugivery"])
    assert result.status == "succeeded", result.error
    assert acts(plugivery_sim) == ["info:", "list:day", "list_promotions:"]  # 462 on the list: nothing new


def test_token_never_leaks(db: Path, plugivery_sim: PlugiverySimulator) -> None:
    out = cli_debug_run(db, "plugivery", plugivery_env_for(plugivery_sim))
    assert out.returncode == 0, out.stderr
    assert PLUGIVERY_TOKEN not in out.stdout + out.stderr
    assert PLUGIVERY_TOKEN.encode() not in db.read_bytes()


def test_a_night_after_a_day_of_changes_costs_four_reads_plus_the_changed(
    db: Path, plugivery_sim: PlugiverySimulator
) -> None:
    run(db, ["plugivery"])
    plugivery_sim.advance(1)
    for product_id in sorted(plugivery_sim.products)[:3]:
        plugivery_sim.change_price(product_id, cost=1.25)
    plugivery_sim.advance(0.5)
    before = plugivery_sim.reads_today()
    [result] = run(db, ["plugivery"])
    assert result.status == "succeeded", result.error
    assert plugivery_sim.reads_today() - before == 4 + 3  # list, promotions, brands, categories + 3 gets
    assert "list:week" in acts(plugivery_sim)  # 36 h since the last list: a day no longer covers it


def test_a_catalogue_larger_than_the_budget_leaves_a_queue_and_the_world_first(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with PlugiverySimulator(token=PLUGIVERY_TOKEN, now=1_795_000_000, n_extra_products=400) as sim:
        set_env(monkeypatch, plugivery_env_for(sim))
        [result] = run(db, ["plugivery"])
        assert result.status == "succeeded"
        assert sim.reads_today() == 300 - 20  # the budget minus the headroom, not one read more
        world_ids = {p.plugivery_id for p in sim.world.products if p.plugivery_id}
        detailed = {r[0] for r in query(db, "select id from plugivery.product_details")}
        assert world_ids <= detailed  # the oldest changes (the stocked products) came first
        assert f"{len(sim.products) - len(detailed)} products wait for details" in " ".join(result.notes)
