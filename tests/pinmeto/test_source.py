"""The PinMeTo source end to end: token, paging, rate limit and history, over real HTTP into DuckDB."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simulators.pinmeto import PinmetoSimulator
from sources.pinmeto.tables import location_row, opening_hour_rows, special_hour_rows
from tests.conftest import PINMETO_SECRETS, FaultRecord, cli_debug_run, pinmeto_env_for, query, run, set_env

pytestmark = pytest.mark.usefixtures("pinmeto_env")

# The doc's single-location example (its JSON lacks two commas; this is it with them).
DOC_LOCATION = {
    "name": "Name of location",
    "storeId": "1337",
    "shortDescription": "The location marketing platform for chain businesses.",
    "longDescription": "The location marketing platform for chain businesses.",
    "contact": {
        "phone": "+46 739 60 61 40",
        "email": "[email protected]",
        "homepage": "http://www.pinmeto.com/",
    },
    "permanentlyClosed": False,
    "isAlwaysOpen": False,
    "address": {"street": "testgatan 2", "zip": "211 19", "city": "Malmö", "country": "Sweden"},
    "locationDescriptor": "Malmö",
    "location": {"lat": 55.6105169, "lon": 12.9936406},
    "openHours": {
        **{
            d: {"state": "Open", "span": [{"open": "0900", "close": "1700"}]}
            for d in ("mon", "tue", "wed", "fri")
        },
        "thu": {"state": "Open", "span": [{"open": "0900", "close": "1500"}]},
        "sat": {"state": "Closed", "span": []},
        "sun": {"state": "Closed", "span": []},
    },
    "specialOpenHours": [
        {
            "startDate": "2017-05-28T00:00:00.000Z",
            "endDate": "2017-05-28T00:00:00.000Z",
            "openTime": "1000",
            "closeTime": "2000",
            "isClosed": False,
            "label": "Mothers day",
        },
        {
            "startDate": "2017-07-04T00:00:00.000Z",
            "endDate": "2017-07-04T00:00:00.000Z",
            "openTime": "0000",
            "closeTime": "0000",
            "isClosed": True,
            "label": "Independence day",
        },
        {
            "startDate": "2017-11-24T00:00:00.000Z",
            "endDate": "2017-11-24T00:00:00.000Z",
            "openTime": "0000",
            "closeTime": "2400",
            "isClosed": False,
            "label": "Black friday",
        },
    ],
    "network": {
        "facebook": {"pageId": "1605390276379843", "link": "https://www.facebook.com/Pinmeto.Malmo/"},
        "google": {
            "placeId": "ChIJpbpzuV6hU0YRG49xL3Bp8m8",
            "link": "https://maps.google.com/?cid=8066625813127204635",
            "newReviewUrl": "https://search.google.com/local/writereview?placeid=ChIJF9eIJ12dX0YRogcSnTh1G6s",
        },
        "foursquare": {
            "venueId": "5263ffd511d2505034dc70ac",
            "link": "https://foursquare.com/v/5263ffd511d2505034dc70ac",
        },
        "wifiSsid": "pinmeto",
    },
}


def test_doc_example_parses_field_for_field() -> None:
    row = location_row(DOC_LOCATION)
    assert row["store_id"] == "1337" and row["city"] == "Malmö" and row["zip"] == "211 19"
    assert (row["lat"], row["lon"]) == (55.6105169, 12.9936406)
    assert row["google_place_id"] == "ChIJpbpzuV6hU0YRG49xL3Bp8m8"
    assert row["foursquare_venue_id"] == "5263ffd511d2505034dc70ac"
    assert row["wifi_ssid"] == "pinmeto"  # nested under network in this example
    assert row["permanently_closed"] is False and row["email"] == "[email protected]"
    hours = list(opening_hour_rows(DOC_LOCATION))
    assert len(hours) == 7
    thursday = next(h for h in hours if h["weekday"] == "Thursday")
    assert (thursday["opens_at"], thursday["closes_at"], thursday["is_closed"]) == ("09:00", "15:00", False)
    sunday = next(h for h in hours if h["weekday"] == "Sunday")
    assert sunday["is_closed"] and sunday["opens_at"] is None
    specials = {s["label"]: s for s in special_hour_rows(DOC_LOCATION)}
    assert specials["Independence day"]["is_closed"] is True
    assert specials["Black friday"]["closes_at"] == "24:00"
    assert specials["Mothers day"]["start_date"] == "2017-05-28"


def current_stores(db: Path) -> dict[str, tuple]:
    return {
        r[0]: r[1:]
        for r in query(
            db,
            "select store_id, street, permanently_closed from pinmeto.locations where _dlt_valid_to is null",
        )
    }


def test_full_load_equals_the_api_and_token_is_reused_across_pages(
    db: Path, pinmeto_sim: PinmetoSimulator
) -> None:
    [result] = run(db, ["pinmeto"])
    assert result.status == "succeeded", result.error
    truth = pinmeto_sim.truth()
    assert current_stores(db) == {
        s: (r["address"]["street"], r["permanentlyClosed"]) for s, r in truth.items()
    }
    pages = pinmeto_sim.calls_to("/locations")
    assert len(pages) == 3  # six stores, two a page
    assert len(pinmeto_sim.issued_tokens) == 1  # one token for every page
    assert all("access_token" not in c.params for c in pages)  # the token travels in a header
    assert query(db, "select count(*) from pinmeto.opening_hours where _dlt_valid_to is null") == [(42,)]
    [(closed_days,)] = query(
        db, "select count(*) from pinmeto.opening_hours where is_closed and opens_at is null"
    )
    assert closed_days >= 1


def test_token_expiring_mid_run_is_renewed_once(db: Path, pinmeto_sim: PinmetoSimulator) -> None:
    pinmeto_sim.expire_tokens_after = 1
    [result] = run(db, ["pinmeto"])
    assert result.status == "succeeded", result.error
    assert len(pinmeto_sim.issued_tokens) == 3  # one per page: each expired after one use
    assert len(current_stores(db)) == 6


def test_wrong_secret_is_one_clear_line(
    db: Path, pinmeto_sim: PinmetoSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCES__PINMETO__APP_SECRET", "TEST-PINMETO-WRONG-77aa")
    [result] = run(db, ["pinmeto"])
    assert result.status == "failed"
    assert result.error == (
        "pinmeto: POST /oauth/token: token refused "
        f"(HTTP 401 Unauthorized from 127.0.0.1:{pinmeto_sim.port}) (fix: check "
        "SOURCES__PINMETO__APP_ID and SOURCES__PINMETO__APP_SECRET)"
    )


def test_next_url_on_another_host_is_refused(db: Path, pinmeto_sim: PinmetoSimulator) -> None:
    with PinmetoSimulator(account_id="testchain") as elsewhere:
        pinmeto_sim.next_host = elsewhere.url
        [result] = run(db, ["pinmeto"])
        assert result.status == "failed"
        assert "the next-page URL points at" in (result.error or "")
        assert elsewhere.calls == []  # the token never went there


def test_newer_api_next_url_name_is_followed(db: Path, pinmeto_sim: PinmetoSimulator) -> None:
    pinmeto_sim.next_key = "nextUrl"
    [result] = run(db, ["pinmeto"])
    assert result.status == "succeeded" and len(current_stores(db)) == 6


@pytest.mark.fault("pinmeto", "rate limit at zero: wait for the reset")
def test_rate_limit_exhaustion_waits_for_reset_then_completes(
    db: Path, fault_record: FaultRecord, monkeypatch: pytest.MonkeyPatch
) -> None:
    with PinmetoSimulator(account_id="testchain", rate_limit=2, window_seconds=1.0, **PINMETO_SECRETS) as sim:
        set_env(monkeypatch, pinmeto_env_for(sim))
        [result] = run(db, ["pinmeto"])
        found = len(current_stores(db)) if result.status == "succeeded" else 0
        fault_record.record(
            rows_expected=6, rows_found=found, duplicates=0, retries=0, exit_status=result.status
        )
        assert result.status == "succeeded", result.error
        assert found == 6
        assert len(sim.calls_to("/locations")) >= 3


def test_rate_limit_reset_too_far_away_fails_clearly(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with PinmetoSimulator(
        account_id="testchain", rate_limit=2, window_seconds=3600, **PINMETO_SECRETS
    ) as sim:
        set_env(monkeypatch, pinmeto_env_for(sim))
        monkeypatch.setenv("SOURCES__PINMETO__MAX_RATE_LIMIT_WAIT", "5")
        [result] = run(db, ["pinmeto"])
        assert result.status == "failed"
        assert "rate limit spent; it resets in" in (result.error or "")
        assert "max_rate_limit_wait" in (result.error or "")


def test_edits_make_history_and_removed_stores_are_retired(
    db: Path, pinmeto_sim: PinmetoSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One store of six gone is a 17% shrink, past the shrink guard's default 10%
    # (tests/test_faults_short_reads.py).
    monkeypatch.setenv("SOURCES__PINMETO__MAX_SHRINK", "0.2")
    run(db, ["pinmeto"])
    stores = sorted(pinmeto_sim.truth())
    moved, closed, gone = stores[0], stores[1], stores[2]
    pinmeto_sim.edit_store(
        moved, address={"street": "1 New Street", "zip": "18042", "city": "Easton", "country": "US"}
    )
    pinmeto_sim.edit_store(closed, permanentlyClosed=True)
    pinmeto_sim.remove_store(gone)
    record = pinmeto_sim.truth()[stores[3]]
    record["openHours"]["mon"] = {
        "state": "Open",
        "span": [{"open": "0700", "close": "1100"}, {"open": "1200", "close": "1900"}],
    }
    pinmeto_sim.edit_store(stores[3], openHours=record["openHours"])
    [result] = run(db, ["pinmeto"])
    assert result.status == "succeeded", result.error
    versions = query(
        db,
        "select street, _dlt_valid_to is null from pinmeto.locations where store_id = ? "
        "order by _dlt_valid_from",
        [moved],
    )
    assert [v[1] for v in versions] == [False, True] and versions[-1][0] == "1 New Street"
    assert current_stores(db)[closed][1] is True
    assert query(
        db, "select count(*) from pinmeto.locations where store_id = ? and _dlt_valid_to is null", [gone]
    ) == [(0,)]
    assert query(db, "select count(*) from pinmeto.locations where store_id = ?", [gone]) == [
        (1,)
    ]  # kept, retired
    monday = query(
        db,
        "select opens_at, closes_at from pinmeto.opening_hours where store_id = ? and weekday = "
        "'Monday' and _dlt_valid_to is null order by span_number",
        [stores[3]],
    )
    assert monday == [("07:00", "11:00"), ("12:00", "19:00")]


def test_rerun_without_changes_writes_nothing_new(db: Path, pinmeto_sim: PinmetoSimulator) -> None:
    run(db, ["pinmeto"])
    before = query(
        db,
        "select (select count(*) from pinmeto.locations), (select count(*) from pinmeto.opening_hours), "
        "(select count(*) from pinmeto.special_opening_hours)",
    )
    [result] = run(db, ["pinmeto"])
    assert result.status == "succeeded"
    after = query(
        db,
        "select (select count(*) from pinmeto.locations), (select count(*) from pinmeto.opening_hours), "
        "(select count(*) from pinmeto.special_opening_hours)",
    )
    assert after == before
    assert query(db, "select count(distinct _dlt_valid_from) from pinmeto.locations") == [(1,)]


def test_secrets_and_tokens_never_leak(db: Path, pinmeto_sim: PinmetoSimulator) -> None:
    pinmeto_sim.expire_tokens_after = 1
    out = cli_debug_run(db, "pinmeto", pinmeto_env_for(pinmeto_sim))
    assert out.returncode == 0, out.stderr
    secrets = [*PINMETO_SECRETS.values(), *pinmeto_sim.issued_tokens]
    for secret in secrets:
        assert secret not in out.stdout + out.stderr
        assert secret.encode() not in db.read_bytes()
    for table, column in query(
        db,
        "select table_schema || '.' || table_name, column_name from "
        "information_schema.columns where data_type = 'VARCHAR'",
    ):
        for secret in secrets:
            assert query(db, f'select count(*) from {table} where "{column}" like ?', [f"%{secret}%"]) == [
                (0,)
            ]
    assert json.dumps(PINMETO_SECRETS)  # the distinct strings above are what a leak would show


def test_an_empty_read_fails_instead_of_retiring_every_store(db: Path, pinmeto_sim: PinmetoSimulator) -> None:
    run(db, ["pinmeto"])
    for store_id in list(pinmeto_sim.truth()):
        pinmeto_sim.remove_store(store_id)
    [result] = run(db, ["pinmeto"])
    assert result.status == "failed"
    assert "refusing to mark every store as gone" in (result.error or "")
    assert len(current_stores(db)) == 6


def test_a_429_that_keeps_coming_fails_after_a_few_waits(db: Path, pinmeto_sim: PinmetoSimulator) -> None:
    pinmeto_sim.faults.add(
        "status", status=429, times=10, headers={"x-ratelimit-reset": "0"}, path_contains="/locations"
    )
    [result] = run(db, ["pinmeto"])
    assert result.status == "failed"
    assert "still rate limited (HTTP 429)" in (result.error or "")
    assert len(pinmeto_sim.calls_to("/locations")) == 4
