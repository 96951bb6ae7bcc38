"""A local stand-in of the PinMeTo Locations API v1: client-credentials tokens, cursor paging, rate limit.

Follows `pinmeto-locations-api.txt`; where it is silent, the contract stated in the PinMeTo issue:

- `POST /oauth/token` with `Authorization: Basic base64(app_id:app_secret)` and form
  `grant_type=client_credentials` answers `{"access_token", "token_type": "bearer", "expires_in": 3600}`;
  wrong credentials answer 401. `token_lifetime` (seconds) and `expire_tokens_after` (requests) let
  tests expire tokens early.
- `GET /v1/{account_id}/locations` takes the token as `Authorization: Bearer` (or, as the doc shows,
  `access_token=` in the query); a missing, unknown or expired token answers 401
  `{"error": "invalid_token"}`. `pagesize` defaults to 100, caps at 250. Locations come in a stable order
  (by an internal 24-hex id, like the doc's example cursors); `next=<id>` starts a page at that id,
  `before=<id>` ends one before it. `paging.next`/`paging.before` are full URLs (absent at either end).
  `next_key = "nextUrl"` renames the field as newer API versions do; `next_host` makes the next URL point
  at another host (a hostile or broken reply).
- Rate limit: `rate_limit` requests per window of `window_seconds` (3600 by default), reported in
  `x-ratelimit-limit`, `x-ratelimit-remaining`, `x-ratelimit-reset` (epoch seconds) on every reply; past
  it, 429 with the same headers. Token requests count too.
- Data: the shared world's stores (`world.py`), shaped like the doc's example (openHours with spans
  "HHMM", specialOpenHours, network links). Assumption: `wifiSsid` is a top-level field as the field list
  says (one doc example nests it under `network`; the source accepts both).
- Fault switch: `repeats = {storeId: "page" | "next page"}` serves a store once more, right after itself
  or at the top of the next page (a cursor API whose pages overlap).
- Fault kinds of its own (`faults.add(kind, ...)`): `short` (a locations page with only its first `keep`
  records, its next link unchanged) and `self_link` (a page with empty `data` whose next link points to
  the page itself).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets as token_gen
import threading
import time
from copy import deepcopy
from typing import Any
from urllib.parse import parse_qsl, urlencode

from simulators.base import ISSUED_SECRETS, Fault, Reply, Request, Simulator
from simulators.world import WEEKDAYS, Store, World, build_world

DAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 250


def _cursor(store_id: str) -> str:
    return hashlib.sha1(store_id.encode()).hexdigest()[:24]


def location_record(store: Store, extra_specials: bool = True) -> dict[str, Any]:
    """Return the API's JSON for one store of the world."""
    hours: dict[str, Any] = {}
    for key, day in zip(DAY_KEYS, WEEKDAYS, strict=True):
        span = store.hours.get(day)
        hours[key] = (
            {"state": "Open", "span": [{"open": span[0].replace(":", ""), "close": span[1].replace(":", "")}]}
            if span
            else {"state": "Closed", "span": []}
        )
    specials = (
        [
            {
                "startDate": "2026-12-24T00:00:00.000Z",
                "endDate": "2026-12-24T00:00:00.000Z",
                "openTime": "0900",
                "closeTime": "1400",
                "isClosed": False,
                "label": "Christmas Eve",
            },
            {
                "startDate": "2026-12-25T00:00:00.000Z",
                "endDate": "2026-12-25T00:00:00.000Z",
                "openTime": "0000",
                "closeTime": "0000",
                "isClosed": True,
                "label": "Christmas Day",
            },
        ]
        if extra_specials
        else []
    )
    slug = store.name.lower().replace(" ", "-").replace("&", "and")
    return {
        "name": store.name,
        "storeId": store.store_id,
        "text": f"{store.name}: pets and music in {store.city}.",
        "shortDescription": f"{store.name}: pets and music in {store.city}.",
        "longDescription": f"{store.name} carries pet food, supplies and music software in {store.city}, "
        f"{store.region_iso_code}.",
        "openingDate": f"20{10 + store.location_id % 10:02d}-0{1 + store.location_id % 9}-01",
        "contact": {
            "phone": store.phone,
            "homepage": f"https://petsandmusic.example/{slug}",
            "email": store.email,
        },
        "address": {"street": store.street, "zip": store.zipcode, "city": store.city, "country": "US"},
        "permanentlyClosed": store.permanently_closed,
        "isAlwaysOpen": False,
        "locationDescriptor": store.city,
        "location": {"lat": store.lat, "lon": store.lon},
        "openHours": hours,
        "specialOpenHours": specials,
        "network": {
            "facebook": {
                "pageId": f"16053902{store.location_id:06d}",
                "link": f"https://www.facebook.com/{slug}/",
            },
            "google": {
                "placeId": f"ChIJ{_cursor(store.store_id)[:16]}",
                "link": f"https://maps.google.com/?cid={store.location_id}",
                "newReviewUrl": f"https://search.google.com/local/writereview?placeid={store.store_id}",
            },
            "foursquare": {
                "venueId": _cursor(store.name),
                "link": f"https://foursquare.com/v/{_cursor(store.name)}",
            },
            "bing": {"link": f"https://www.bing.com/maps?q={slug}"},
        },
        "wifiSsid": f"pm-{store.location_id}",
    }


class PinmetoSimulator(Simulator):
    name = "pinmeto"

    def __init__(
        self,
        account_id: str = "petsandmusic",
        app_id: str = "sim-app-id",
        app_secret: str = "sim-app-secret",
        world: World | None = None,
        seed: int = 42,
        rate_limit: int = 3600,
        window_seconds: float = 3600.0,
        port: int = 0,
    ) -> None:
        super().__init__(port)
        self.account_id, self.app_id, self.app_secret = account_id, app_id, app_secret
        self.world = world or build_world(seed)
        self.locations: dict[str, dict[str, Any]] = {
            _cursor(s.store_id): location_record(s) for s in self.world.stores
        }
        self.tokens: dict[str, float] = {}  # token -> expiry (epoch seconds)
        self.token_uses: dict[str, int] = {}
        self.issued_tokens: list[str] = []
        self.token_lifetime = 3600.0
        self.expire_tokens_after: int | None = None
        self.next_key = "next"
        self.repeats: dict[str, str] = {}
        self.next_host: str | None = None
        self.rate_limit, self.window_seconds = rate_limit, window_seconds
        self._window_start = time.time()
        self._used = 0
        self._rate_lock = threading.Lock()

    # --- mutations for tests --------------------------------------------------------------------
    def add_store(self, record: dict[str, Any]) -> None:
        with self._lock:
            self.locations[_cursor(record["storeId"])] = deepcopy(record)

    def edit_store(self, store_id: str, **changes: Any) -> None:
        with self._lock:
            self.locations[_cursor(store_id)].update(deepcopy(changes))

    def remove_store(self, store_id: str) -> None:
        with self._lock:
            del self.locations[_cursor(store_id)]

    def truth(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {loc["storeId"]: deepcopy(loc) for loc in self.locations.values()}

    # --- HTTP -------------------------------------------------------------------------------------
    def handle(self, request: Request) -> Reply:
        limited, headers = self._count_request()
        if limited:
            return Reply(429, json.dumps({"error": "rate_limit_exceeded"}).encode(), headers)
        if request.method == "POST" and request.path == "/oauth/token":
            reply = self._token(request)
        elif request.method == "GET" and request.path == f"/v1/{self.account_id}/locations":
            reply = self._locations(request)
        else:
            reply = Reply(404, json.dumps({"error": "not_found"}).encode())
        reply.headers.update(headers)
        return reply

    def misbehave(self, fault: Fault, request: Request, reply: Reply) -> Reply:
        if fault.kind not in ("short", "self_link"):
            return super().misbehave(fault, request, reply)
        if reply.status != 200 or not request.path.endswith("/locations"):
            return reply
        body = json.loads(reply.body)
        body["data"] = body["data"][: fault.keep] if fault.kind == "short" else []
        if fault.kind == "self_link":
            body["paging"]["next"] = f"{self.url}{request.path}?{urlencode(request.params)}"
        return Reply(200, json.dumps(body).encode(), reply.headers)

    def _count_request(self) -> tuple[bool, dict[str, str]]:
        with self._rate_lock:
            now = time.time()
            if now - self._window_start >= self.window_seconds:
                self._window_start, self._used = now, 0
            limited = self._used >= self.rate_limit
            if not limited:
                self._used += 1
            headers = {
                "x-ratelimit-limit": str(self.rate_limit),
                "x-ratelimit-remaining": str(max(0, self.rate_limit - self._used)),
                "x-ratelimit-reset": str(int(self._window_start + self.window_seconds + 0.999)),
            }
            return limited, headers

    def _token(self, request: Request) -> Reply:
        expected = "Basic " + base64.b64encode(f"{self.app_id}:{self.app_secret}".encode()).decode()
        form = dict(parse_qsl(request.body.decode()))
        if request.headers.get("Authorization") != expected:
            return Reply(401, json.dumps({"error": "invalid_client"}).encode())
        if form.get("grant_type") != "client_credentials":
            return Reply(400, json.dumps({"error": "unsupported_grant_type"}).encode())
        token = token_gen.token_hex(20)
        with self._lock:
            self.tokens[token] = time.time() + self.token_lifetime
            self.token_uses[token] = 0
            self.issued_tokens.append(token)
            ISSUED_SECRETS.add(token)
        return Reply(
            200,
            json.dumps(
                {"access_token": token, "token_type": "bearer", "expires_in": int(self.token_lifetime)}
            ).encode(),
        )

    def _valid_token(self, request: Request) -> bool:
        auth = request.headers.get("Authorization", "")
        token = (
            auth[len("Bearer ") :] if auth.startswith("Bearer ") else request.params.get("access_token", "")
        )
        with self._lock:
            expiry = self.tokens.get(token)
            if expiry is None or expiry < time.time():
                return False
            if self.expire_tokens_after is not None and self.token_uses[token] >= self.expire_tokens_after:
                del self.tokens[token]
                return False
            self.token_uses[token] += 1
            return True

    def _locations(self, request: Request) -> Reply:
        if not self._valid_token(request):
            return Reply(
                401, json.dumps({"error": "invalid_token", "message": "Token missing or expired"}).encode()
            )
        params = request.params
        try:
            size = min(int(params.get("pagesize", DEFAULT_PAGE_SIZE)), MAX_PAGE_SIZE)
        except ValueError:
            return Reply(400, json.dumps({"error": "invalid_pagesize"}).encode())
        with self._lock:
            ids = sorted(self.locations)
            if "next" in params:
                start = next((i for i, c in enumerate(ids) if c >= params["next"]), len(ids))
            elif "before" in params:
                end = next((i for i, c in enumerate(ids) if c >= params["before"]), len(ids))
                start = max(0, end - size)
            else:
                start = 0
            page_ids = ids[start : start + size]
            data = []
            for c in page_ids:
                data.append(deepcopy(self.locations[c]))
                if self.repeats.get(self.locations[c]["storeId"]) == "page":
                    data.append(deepcopy(self.locations[c]))
            if start > 0 and self.repeats.get(self.locations[ids[start - 1]]["storeId"]) == "next page":
                data.insert(0, deepcopy(self.locations[ids[start - 1]]))
            paging: dict[str, str] = {}
            base = f"{self.next_host or self.url}/v1/{self.account_id}/locations?pagesize={size}"
            if start + size < len(ids):
                paging[self.next_key] = f"{base}&next={ids[start + size]}"
            if start > 0:
                paging["before"] = (
                    f"{self.url}/v1/{self.account_id}/locations?pagesize={size}&before={ids[start]}"
                )
        return Reply(200, json.dumps({"data": data, "paging": paging}).encode())
