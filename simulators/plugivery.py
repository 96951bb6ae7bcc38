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
from decimal import Decimal
from typing import Any

from simulators.base import Fault, Reply, Request, Simulator
from simulators.world import World, build_world

DAY = 86400
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


def _f(value: Decimal) -> float:
    return float(value)


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
        self.brands = {
            b: {
                "id": 10 + i,
                "name": b,
                "url": f"https://www.plugivery.com/brands/{b.lower().replace(' ', '-')}",
                "img": f"https://cdn.plugivery.example/brands/{10 + i}.png",
            }
            for i, b in enumerate(sorted({p.brand for p in self.world.products if p.kind == "music"}))
        }
        self.categories = {
            c: {"id": 100 + i, "name": c}
            for i, c in enumerate(sorted({p.subcategory for p in self.world.products if p.kind == "music"}))
        }
        self.products: dict[int, dict[str, Any]] = {}
        for i, p in enumerate(p for p in self.world.products if p.plugivery_id is not None):
            assert p.plugivery_id is not None
            brand, cat = self.brands[p.brand], self.categories[p.subcategory]
            msrp = p.msrp
            # MAP sits a little under MSRP; for every fifth product it is above MSRP, the web shop's price,
            # so the warehouse has MAP violations to find.
            map_price = (msrp * (Decimal("1.02") if i % 5 == 0 else Decimal("0.9"))).quantize(Decimal("0.01"))
            self.products[p.plugivery_id] = {
                "id": p.plugivery_id,
                "date": int(self.now - (i % 90) * DAY - 3600),
                "msrp": _f(msrp),
                "map": _f(map_price),
                "cost": _f(p.cost),
                "reg_map": _f(map_price),
                "reg_cost": _f(p.cost),
                "name": p.name,
                "desc": f"{p.name} by {p.brand}.",
                "url": f"https://www.plugivery.com/products/p{p.plugivery_id}/",
                "img": f"https://cdn.plugivery.example/products/{p.plugivery_id}.jpg",
                "brand_id": brand["id"],
                "brand_name": brand["name"],
                "cat_id": cat["id"],
                "cat_name": cat["name"],
            }
        # The rest of the catalogue: products the retailer does not stock, so the catalogue can be far
        # larger than a night's read budget. Changed within the last hour, they queue behind the world's.
        brands, cats = list(self.brands.values()), list(self.categories.values())
        for j in range(n_extra_products):
            pid, brand, cat = 20000 + j, brands[j % len(brands)], cats[j % len(cats)]
            price = 19.0 + (j * 37) % 480
            self.products[pid] = {
                "id": pid,
                "date": int(self.now - 3000 + j % 2400),
                "msrp": price,
                "map": round(price * 0.9, 2),
                "cost": round(price * 0.55, 2),
                "reg_map": round(price * 0.9, 2),
                "reg_cost": round(price * 0.55, 2),
                "name": f"{brand['name']} Catalogue Item {j:05d}",
                "desc": "Not stocked.",
                "url": f"https://www.plugivery.com/products/p{pid}/",
                "img": f"https://cdn.plugivery.example/{pid}.jpg",
                "brand_id": brand["id"],
                "brand_name": brand["name"],
                "cat_id": cat["id"],
                "cat_name": cat["name"],
            }
        first = sorted(self.products)[:6]
        self.promotions = [
            {
                "id": 900 + n,
                "state": state,
                "start": int(self.now + offset * DAY),
                "end": int(self.now + (offset + 14) * DAY),
                "prod_id": pid,
                "msrp": self.products[pid]["msrp"],
                "promo_map": round(self.products[pid]["map"] * 0.8, 2),
                "promo_cost": round(self.products[pid]["cost"] * 0.85, 2),
                "reg_map": self.products[pid]["reg_map"],
                "reg_cost": self.products[pid]["reg_cost"],
            }
            for n, (pid, state, offset) in enumerate(
                zip(first, (0, 1, 1, 2, 3, 3), (7, -3, -1, -15, -40, -60), strict=True)
            )
        ]

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
