"""The table contract of PinMeTo locations: one API record in, a location row plus hour rows out.

Opening hours come as `openHours.{mon..sun}.span[{open, close}]` with "HHMM" strings and special hours
as a list; both become one row per span so an analyst can filter and join them. Times stay "HH:MM"
text here ("2400" is a valid closing time that Python's `time` cannot hold); staging casts them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from sources.pinmeto.settings import DAY_KEYS


def hhmm(value: Any) -> str | None:
    """Return "0900" as "09:00"; None for a missing value."""
    if value is None or value == "":
        return None
    text = str(value).replace(":", "").zfill(4)
    return f"{text[:2]}:{text[2:4]}"


KNOWN_FIELDS = {
    "name",
    "storeId",
    "text",
    "shortDescription",
    "longDescription",
    "openingDate",
    "contact",
    "address",
    "permanentlyClosed",
    "isAlwaysOpen",
    "locationDescriptor",
    "location",
    "openHours",
    "specialOpenHours",
    "network",
    "wifiSsid",
}


def location_row(record: dict[str, Any]) -> dict[str, Any]:
    contact = record.get("contact") or {}
    address = record.get("address") or {}
    coords = record.get("location") or {}
    network = record.get("network") or {}
    facebook, google = network.get("facebook") or {}, network.get("google") or {}
    foursquare, bing = network.get("foursquare") or {}, network.get("bing") or {}
    return {
        "store_id": str(record["storeId"]),
        "name": record.get("name"),
        "short_description": record.get("shortDescription") or record.get("text"),
        "long_description": record.get("longDescription"),
        "opening_date": record.get("openingDate"),
        "phone": contact.get("phone"),
        "homepage": contact.get("homepage"),
        "email": contact.get("email"),
        "street": address.get("street"),
        "zip": address.get("zip"),
        "city": address.get("city"),
        "country": address.get("country"),
        "location_descriptor": record.get("locationDescriptor"),
        "lat": coords.get("lat"),
        "lon": coords.get("lon"),
        "permanently_closed": bool(record.get("permanentlyClosed", False)),
        "is_always_open": bool(record.get("isAlwaysOpen", False)),
        "facebook_page_id": facebook.get("pageId"),
        "facebook_link": facebook.get("link"),
        "google_place_id": google.get("placeId"),
        "google_link": google.get("link"),
        "google_new_review_url": google.get("newReviewUrl"),
        "foursquare_venue_id": foursquare.get("venueId"),
        "foursquare_link": foursquare.get("link"),
        "bing_link": bing.get("link"),
        # The field list puts wifiSsid at the top level; one of the doc's examples nests it in network.
        "wifi_ssid": record.get("wifiSsid") or network.get("wifiSsid"),
        # Kept whole too, so a change of hours makes a new version of the location row.
        "open_hours": json.dumps(record.get("openHours") or {}, sort_keys=True),
        "special_open_hours": json.dumps(record.get("specialOpenHours") or [], sort_keys=True),
        # A field the doc does not list is kept as a column of its own (nested values as JSON text).
        **{
            key: value if not isinstance(value, dict | list) else json.dumps(value, sort_keys=True)
            for key, value in record.items()
            if key not in KNOWN_FIELDS
        },
    }


def opening_hour_rows(record: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """One row per store, weekday and span; a day without spans (Closed) gets one row with no times."""
    hours = record.get("openHours") or {}
    for number, (key, weekday) in enumerate(DAY_KEYS.items(), start=1):
        day = hours.get(key) or {}
        spans = day.get("span") or []
        state = day.get("state") or ("Open" if spans else "Closed")
        if not spans:
            yield {
                "store_id": str(record["storeId"]),
                "weekday": weekday,
                "weekday_number": number,
                "span_number": 0,
                "state": state,
                "is_closed": True,
                "opens_at": None,
                "closes_at": None,
            }
        for i, span in enumerate(spans, start=1):
            yield {
                "store_id": str(record["storeId"]),
                "weekday": weekday,
                "weekday_number": number,
                "span_number": i,
                "state": state,
                "is_closed": state.lower() == "closed",
                "opens_at": hhmm(span.get("open")),
                "closes_at": hhmm(span.get("close")),
            }


def special_hour_rows(record: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """One row per special-hours entry: date range, label, times, closed flag."""
    for entry in record.get("specialOpenHours") or []:
        yield {
            "store_id": str(record["storeId"]),
            "label": entry.get("label"),
            "start_date": (entry.get("startDate") or "")[:10] or None,
            "end_date": (entry.get("endDate") or "")[:10] or None,
            "opens_at": hhmm(entry.get("openTime")),
            # The field list says endTime, the examples closeTime: accept either.
            "closes_at": hhmm(entry.get("closeTime") or entry.get("endTime")),
            "is_closed": bool(entry.get("isClosed", False)),
        }
