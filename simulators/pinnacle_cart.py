"""A local stand-in of the Pinnacle Cart API: query-string credentials, XML (or JSON) replies, batches.

Follows `pinnacle-cart-api.txt`. Every call is
`GET /content/admin/plugins/openapi/index.php?username=..&password=..&token=..&apiType=xml&call=<Call>&..`.
Where the doc is silent, these are the assumptions (the source must cope with them):

- Bad or missing credentials, an unknown call or a bad argument get HTTP 200 with
  `<Response><Error>message</Error></Response>` (JSON: `{"Error": "message"}`): a PHP plugin answering
  from inside the shop, not the web server, so no HTTP status to rely on. apiType other than xml/json
  (the doc's `soap` needs a WSDL client) is such an error too.
- Element names of array items the doc shows no example for: `<Order>`, `<OrderItem>`, `<Option>`
  (order item options), `<Category>` (also inside `<Children>`), `<Product>` (inventory rows).
  Orders carry `<BillingInfo>` / `<ShippingInfo>` like the customers example (the type says `Billing`).
- JSON mirrors the XML: a bare number for counts, an array of objects keyed by element names, nested
  arrays as arrays, values as strings (empty elements as "").
- Dates are shop-local `YYYY-MM-DD HH:MM:SS` (the shop runs on US Eastern time).
- `LastOrder` = orders with OrderId greater than it; `LastDate` = orders placed on or after it
  (OrderDate); `Status` exact (case-insensitive); `CustomerId` the customer who placed it. Orders are
  listed by OrderId; `StartNumber` counts from 0, `BatchSize` defaults to 100 (the doc's example).
- `GetProducts` needs `PrimaryCategory` (-1 = all) or `mode` (ExtraArgs); `BatchPage` counts from 1;
  `StartNumber` is ignored, as the doc says.
- An order record has no customer id (the doc lists none); the simulator keeps it internally for the
  `CustomerId` filter.

The seeded shop and its mutations live in `pinnacle_cart_shop.py`. It sells the shared world's
products that have a `cart_sku` (see `world.py`): `ProductId` is that SKU, `Title` its web title,
`UPC` its UPC, price its MSRP. Tests mutate the shop with `add_order`, `set_order_status`,
`replace_order_items`, `edit_customer`, `clear_address_book`, `edit_product`, `clear_product_options`
and `set_qoh`, compare the warehouse with `truth()`, and serve a hostile page with
`serve_once(body, call)` (e.g. `BILLION_LAUGHS`). Fault kind of its own: `short` (a list call answering
only its first `keep` records; 0 is an empty `<Response/>`, while the counts stay true).

Fault switches on the data: `repeats = {("OrderId" | "UserId" | "PID", id): "page" | "next page"}` lists
a record once more, right after itself or one batch further on, in every call that lists it (a product
also in `GetInventory`), and the count calls count the copy, as a shop whose listing holds a record twice
would. `set_order_dates(order_id, StatusDate=...)` sets a date as it is, e.g. 2099 or "yesterday".
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from simulators.base import Fault, Reply, Request, Simulator
from simulators.pinnacle_cart_shop import DATE_FORMAT, PinnacleCartShop
from simulators.world import World

API_PATH = "/content/admin/plugins/openapi/index.php"
DEFAULT_BATCH_SIZE = 100
VERSION = "471"

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<Response><Customer><UserId>1</UserId><UserName>&lol9;</UserName></Customer></Response>"""

# Array containers and the element name of their items.
ITEM_TAGS = {"AddressBook": "Address", "OrderItems": "OrderItem", "Children": "Category"}
RECORD_TAGS = {
    "GetCustomers": "Customer",
    "GetOrders": "Order",
    "GetProducts": "Product",
    "GetInventory": "Product",
    "GetCategories": "Category",
}


class PinnacleCartSimulator(Simulator, PinnacleCartShop):
    name = "pinnacle_cart"
    # The shop's own zone: the API's dates carry none, and the tests read them as this shop's local time.
    shop_timezone = "America/New_York"

    def __init__(
        self,
        n_customers: int = 200,
        n_orders: int = 1000,
        seed: int = 42,
        username: str = "sim-user",
        password: str = "sim-password",
        token: str = "sim-token",
        world: World | None = None,
        history_days: int = 180,
        port: int = 0,
    ) -> None:
        Simulator.__init__(self, port)
        PinnacleCartShop.__init__(self, n_customers, n_orders, seed, world, history_days)
        self.username, self.password, self.token = username, password, token
        self.repeats: dict[tuple[str, int], str] = {}

    def set_order_dates(self, order_id: int, **dates: str) -> None:
        """Set an order's `OrderDate` / `StatusDate` text as given (a typo, a year 2099)."""
        with self._lock:
            self.orders[order_id].update(dates)

    def _with_repeats(self, rows: list[dict[str, Any]], size: int) -> list[dict[str, Any]]:
        """Return the listing as served: each record in `repeats` once more, in its batch or the next."""
        out = list(rows)
        for (key, value), where in self.repeats.items():
            at = next((i for i, row in enumerate(out) if str(row.get(key)) == str(value)), None)
            if at is not None:
                out.insert(min(at + (1 if where == "page" else size), len(out)), out[at])
        return out

    def serve_once(self, body: bytes, call: str) -> None:
        """Answer the next `call` with `body` (HTTP 200), e.g. a malformed or hostile XML page."""
        self.faults.add("status", status=200, body=body, when=lambda r: r.params.get("call") == call)

    # --- HTTP -------------------------------------------------------------------------------------
    @property
    def api_url(self) -> str:
        return self.url + API_PATH

    def handle(self, request: Request) -> Reply:
        params = request.params
        api_type = params.get("apiType", "")
        as_json = api_type == "json"
        if request.path != API_PATH:
            return Reply(404, b"Not Found", content_type="text/html")
        if (
            params.get("username") != self.username
            or params.get("password") != self.password
            or params.get("token") != self.token
        ):
            return _error("Invalid username, password or security token", as_json)
        if api_type not in ("xml", "json"):
            return _error(f"Unsupported apiType {api_type!r}", as_json)
        call = params.get("call", "")
        try:
            with self._lock:
                body = self._answer(call, params)
        except _BadArgument as exc:
            return _error(str(exc), as_json)
        return _render(call, body, as_json)

    def misbehave(self, fault: Fault, request: Request, reply: Reply) -> Reply:
        """`short`: the records of a list call cut to the first `keep` (0: an empty `<Response/>`)."""
        if fault.kind != "short":
            return super().misbehave(fault, request, reply)
        call = request.params.get("call", "")
        with self._lock:
            body = self._answer(call, request.params)
        if isinstance(body, str):
            return reply
        return _render(call, body[: fault.keep], request.params.get("apiType") == "json")

    def _answer(self, call: str, params: dict[str, str]) -> str | list[dict[str, Any]]:
        if call == "GetVersion":
            return VERSION
        size = _int(params, "BatchSize", DEFAULT_BATCH_SIZE) or DEFAULT_BATCH_SIZE
        if call == "GetCustomerCount":
            return str(len(self._with_repeats(list(self.customers.values()), size)))
        if call == "GetCustomers":
            return _batch(
                self._with_repeats([self.customers[k] for k in sorted(self.customers)], size), params
            )
        if call == "GetOrderCount":
            return str(len(self._with_repeats(self._orders_matching(params), size)))
        if call == "GetOrders":
            return _batch(self._with_repeats(self._orders_matching(params), size), params)
        if call == "GetCategories":
            return self.categories
        if call == "GetProductCount":
            return str(len(self._with_repeats(list(self.products.values()), size)))
        if call == "GetProducts":
            return self._products(params)
        if call == "GetInventory":
            rows = [
                {"PID": p["PID"], "Qoh": p["Qoh"], "ProductId": p["ProductId"]}
                for _, p in sorted(self.products.items())
            ]
            return _batch(self._with_repeats(rows, size), params)
        raise _BadArgument(f"Unknown call {call!r}")

    def _orders_matching(self, params: dict[str, str]) -> list[dict[str, Any]]:
        status = params.get("Status", "").lower()
        customer = _int(params, "CustomerId", None)
        last_order = _int(params, "LastOrder", None)
        last_date = params.get("LastDate", "")
        since = None
        if last_date:
            try:
                since = datetime.fromisoformat(last_date.strip())
            except ValueError:
                raise _BadArgument(f"LastDate {last_date!r} is not a date") from None
        out = []
        for order_id in sorted(self.orders):
            order = self.orders[order_id]
            if status and order["Status"].lower() != status:
                continue
            if customer is not None and self.order_customer[order_id] != customer:
                continue
            if last_order is not None and order_id <= last_order:
                continue
            if since is not None and datetime.strptime(order["OrderDate"], DATE_FORMAT) < since:
                continue
            out.append(order)
        return out

    def _products(self, params: dict[str, str]) -> list[dict[str, Any]]:
        category = params.get("PrimaryCategory")
        if category is None and not params.get("mode"):
            raise _BadArgument("You MUST pass either the PrimaryCategory OR ExtraArgs")
        rows = [self.products[k] for k in sorted(self.products)]
        if category is not None and category != "-1":
            rows = [p for p in rows if self.product_category[int(p["PID"])] == category]
        elif category is None and params.get("mode") == "search" and params.get("keywords"):
            words = [w.lower() for w in params["keywords"].split(",") if w and w != "or"]
            rows = [p for p in rows if any(w in p["Title"].lower() for w in words)]
        size = _int(params, "BatchSize", DEFAULT_BATCH_SIZE) or DEFAULT_BATCH_SIZE
        page = _int(params, "BatchPage", 1) or 1
        if size < 1 or page < 1:
            raise _BadArgument("BatchSize and BatchPage must be positive")
        return self._with_repeats(rows, size)[(page - 1) * size : page * size]


class _BadArgument(ValueError):
    pass


def _int(params: dict[str, str], name: str, default: int | None) -> int | None:
    if name not in params or params[name] == "":
        return default
    try:
        return int(params[name])
    except ValueError:
        raise _BadArgument(f"{name} must be an integer") from None


def _batch(rows: list[dict[str, Any]], params: dict[str, str]) -> list[dict[str, Any]]:
    start = _int(params, "StartNumber", 0) or 0
    size = _int(params, "BatchSize", DEFAULT_BATCH_SIZE) or DEFAULT_BATCH_SIZE
    if start < 0 or size < 1:
        raise _BadArgument("StartNumber must not be negative and BatchSize must be positive")
    return rows[start : start + size]


def _render(call: str, body: str | list[dict[str, Any]], as_json: bool) -> Reply:
    if isinstance(body, str):
        if as_json:
            return Reply(200, json.dumps(int(body) if body.isdigit() else body).encode())
        return Reply(200, f"<Response>{escape(body)}</Response>".encode(), content_type="text/xml")
    if as_json:
        return Reply(200, json.dumps(body).encode())
    return Reply(200, _xml_records(RECORD_TAGS[call], body).encode(), content_type="text/xml")


def _error(message: str, as_json: bool) -> Reply:
    if as_json:
        return Reply(200, json.dumps({"Error": message}).encode())
    return Reply(
        200, f"<Response>\n  <Error>{escape(message)}</Error>\n</Response>".encode(), content_type="text/xml"
    )


def _xml_records(tag: str, records: list[dict[str, Any]]) -> str:
    parts = ["<Response>\n"]
    for record in records:
        _xml_element(parts, tag, record, 1)
    parts.append("</Response>")
    return "".join(parts)


def _xml_element(parts: list[str], tag: str, value: Any, depth: int) -> None:
    pad = "  " * depth
    if isinstance(value, dict):
        parts.append(f"{pad}<{tag}>\n")
        for key, inner in value.items():
            _xml_element(parts, key, inner, depth + 1)
        parts.append(f"{pad}</{tag}>\n")
    elif isinstance(value, list):
        if not value:
            parts.append(f"{pad}<{tag}></{tag}>\n")
            return
        item_tag = ITEM_TAGS.get(tag) or ("ProductOption" if "OptionId" in value[0] else "Option")
        parts.append(f"{pad}<{tag}>\n")
        for item in value:
            _xml_element(parts, item_tag, item, depth + 1)
        parts.append(f"{pad}</{tag}>\n")
    else:
        parts.append(f"{pad}<{tag}>{escape(str(value))}</{tag}>\n")
