"""A local stand-in of the Plugivery Catalog API v1.29: one URL, `act=` actions, a JSON envelope, read quotas.

Follows `plugivery-catalog-api.txt`. Assumptions where it is silent (the source relies on none of them
beyond what the doc says):
- Every reply is the envelope `{request, data, error, error_txt, api_version, cache_since, cache_until,
  now}`; on an error the HTTP status equals the error code (the doc: "the HTTP code and error code
  returned will be one of the followings"), 200 when `error == 0`. `request` echoes the received
  parameters, token included, as such APIs often do: a loader must never store the envelope.
- `list`, `get`, `list_cats`, `list_brands`, `list_promotions` each cost one read, also when they
  answer 462 "No Result"; `info` and `doc` are free. Limits: `day_limit` (300) and `month_limit` (4000)
  reads on the simulator's clock; past them 472 / 473, and 474 once `total_limit` is set and spent.
- `info` answers `data = {"partner", "limits": {"reads_day", "reads_month"}, "current": {"reads_day",
  "reads_month"}}`, the doc page's "Max Reads" and "Current Reads" tables.
- `list since=day|week|month` returns products whose `date` is within 1 / 7 / 30 days of `now`;
  `since=all` (the default) every product; nothing matching is 462 with `data: []`.
- `list_promotions` without `state` lists every state.
- Switches: `allowed_ip = False` → 451, `revoked = True` → 461; a wrong token → 453; a missing `act` or
  `id` → 455; an unknown action → 501.
The catalogue is the shared world's music products (`world.py`) plus `n_extra_products` the retailer does
not stock (the demo uses a catalogue far larger than a night's budget); `now` is a settable clock so tests can
move days, and `change_price` / `change_details` / `add_product` move the data.
Fault switch: `repeats` (ids of products, promotions, brands or categories, which never collide) lists
each such record twice in `list`, `list_promotions`, `list_brands` or `list_cats`, the copy right after
the original. Any field can be set to a value the doc does not
allow (a `date` of "yesterday" or 1e20); it is served as it is.
Fault kind of its own (`faults.add("short", keep=N, ...)`): a read answering only its first `keep`
records with `error` 0, as if that were all there is.
"""

from __future__ import annotations

import json
import time
from copy import deepcopy
from datetime import UTC, datetime
from typing import Any

from simulators.base import Fault, Reply, Request, Simulator
from simulators.plugivery_catalog import (
    DAY,
    catalog_brands,
    catalog_categories,
    catalog_products,
    catalog_promotions,
)
from simulators.world import World, build_world

READ_ACTIONS = {"list", "get", "list_cats", "list_brands", "list_promotions"}
ERRORS = {
    451: "Unauthorized IP Address (127.0.0.1)",
    453: "Invalid Token",
    455: "Missing Required Parameter",
    461: "Access Revoked",
    462: "No Result",
    472: "Over Daily Read Limit",
    473: "Over Monthly Read Limit",
    474: "Over Total Read Limit",
    501: "Not Implemented",
}
WINDOWS = {"day": DAY, "week": 7 * DAY, "month": 30 * DAY}


def _recent(date: Any, since: float) -> bool:
    """A `date` that is not a number ("yesterday") is listed in every window, as if just changed."""
    try:
        return float(date) >= since
    except (TypeError, ValueError):
        return True


class PlugiverySimulator(Simulator):
    name = "plugivery"

    @property
    def catalog_url(self) -> str:
        """The API's one URL, as `SOURCES__PLUGIVERY__API_URL` names it."""
        return self.url + "/catalog/"

    def __init__(
        self,
        token: str = "sim-plugivery-token",
        world: World | None = None,
        seed: int = 42,
        now: float | None = None,
        day_limit: int = 300,
        month_limit: int = 4000,
        n_extra_products: int = 0,
        port: int = 0,
    ) -> None:
        super().__init__(port)
        self.token = token
        self.world = world or build_world(seed)
        self.now = now if now is not None else time.time()
        self.day_limit, self.month_limit = day_limit, month_limit
        self.total_limit: int | None = None
        self.allowed_ip, self.revoked = True, False
        self.reads: dict[str, int] = {}  # "YYYY-MM-DD" -> reads that day
        self.total_reads = 0
        self.repeats: set[int] = set()
        self.brands, self.categories = catalog_brands(self.world), catalog_categories(self.world)
        self.products = catalog_products(self.world, self.now, self.brands, self.categories, n_extra_products)
        self.promotions = catalog_promotions(self.products, self.now)

    # --- clock and mutations ------------------------------------------------------------------------
    def advance(self, days: float) -> None:
        self.now += days * DAY

    def change_price(self, product_id: int, **prices: float) -> None:
        with self._lock:
            self.products[product_id].update(prices, date=int(self.now))

    def change_details(self, product_id: int, **details: Any) -> None:
        with self._lock:
            self.products[product_id].update(details, date=int(self.now))

    def add_product(self, product_id: int, name: str) -> None:
        with self._lock:
            template = deepcopy(next(iter(self.products.values())))
            template.update(id=product_id, name=name, date=int(self.now))
            self.products[product_id] = template

    def reads_today(self) -> int:
        return self.reads.get(self._day(), 0)

    def reads_this_month(self) -> int:
        month = self._day()[:7]
        return sum(n for day, n in self.reads.items() if day.startswith(month))

    def _day(self) -> str:
        return datetime.fromtimestamp(self.now, UTC).strftime("%Y-%m-%d")

    # --- HTTP -----------------------------------------------------------------------------------------
    def handle(self, request: Request) -> Reply:
        params = request.params
        act = params.get("act", "")
        if not self.allowed_ip:
            return self._reply(params, 451)
        if params.get("token") != self.token:
            return self._reply(params, 453)
        if self.revoked:
            return self._reply(params, 461)
        if not act:
            return self._reply(params, 455)
        if act == "info":
            return self._reply(
                params,
                0,
                {
                    "partner": "Bigbarnmusic",
                    "limits": {"reads_day": self.day_limit, "reads_month": self.month_limit},
                    "current": {"reads_day": self.reads_today(), "reads_month": self.reads_this_month()},
                },
            )
        if act == "doc":
            return self._reply(params, 0, {"api": "Catalog", "version": "1.29"})
        if act not in READ_ACTIONS:
            return self._reply(params, 501)
        with self._lock:
            if self.total_limit is not None and self.total_reads >= self.total_limit:
                return self._reply(params, 474)
            if self.reads_today() >= self.day_limit:
                return self._reply(params, 472)
            if self.reads_this_month() >= self.month_limit:
                return self._reply(params, 473)
            self.reads[self._day()] = self.reads_today() + 1
            self.total_reads += 1
            data = self._read(act, params)
        if isinstance(data, int):
            return self._reply(params, data)
        return self._reply(params, 0 if data else 462, data)

    def misbehave(self, fault: Fault, request: Request, reply: Reply) -> Reply:
        if fault.kind != "short":
            return super().misbehave(fault, request, reply)
        body = json.loads(reply.body)
        if isinstance(body.get("data"), list):
            body["data"], body["error"], body["error_txt"] = body["data"][: fault.keep], 0, ""
        return Reply(200, json.dumps(body).encode())

    def _read(self, act: str, params: dict[str, str]) -> Any:
        brand = params.get("brand_id")
        if act == "list":
            since = params.get("since", "all")
            if since != "all" and since not in WINDOWS:
                return 455
            window = WINDOWS.get(since)
            return self._with_repeats(
                [
                    {k: p[k] for k in ("id", "date", "msrp", "map", "cost", "reg_map", "reg_cost")}
                    for p in self.products.values()
                    if (window is None or _recent(p["date"], self.now - window))
                    and (not brand or str(p["brand_id"]) == brand)
                ]
            )
        if act == "get":
            if not params.get("id"):
                return 455
            product = self.products.get(int(params["id"])) if params["id"].isdigit() else None
            return dict(product) if product else []
        if act == "list_cats":
            return self._with_repeats(list(self.categories.values()))
        if act == "list_brands":
            return self._with_repeats(list(self.brands.values()))
        state = params.get("state")
        return self._with_repeats(
            [
                p
                for p in self.promotions
                if (state is None or str(p["state"]) == state)
                and (not brand or str(self.products[p["prod_id"]]["brand_id"]) == brand)
            ]
        )

    def _with_repeats(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for record in records:
            out.extend([record, record] if record["id"] in self.repeats else [record])
        return out

    def _reply(self, params: dict[str, str], error: int, data: Any = None) -> Reply:
        body = {
            "request": dict(params),
            "data": data if data is not None else [],
            "error": error,
            "error_txt": ERRORS.get(error, "") if error else "",
            "api_version": "1.29",
            "cache_since": int(self.now) - 60,
            "cache_until": int(self.now) + 3600,
            "now": int(self.now),
        }
        return Reply(200 if error == 0 else error, json.dumps(body).encode())
