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

The shop sells the shared world's products that have a `cart_sku` (see `world.py`): `ProductId` is that
SKU, `Title` its web title, `UPC` its UPC, price its MSRP. Tests mutate the shop with `add_order`,
`set_order_status`, `replace_order_items`, `edit_customer`, `clear_address_book`, `edit_product`,
`clear_product_options` and `set_qoh`, compare the warehouse with `truth()`, and serve a hostile page
with `serve_once(body, call)` (e.g. `BILLION_LAUGHS`).
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

from simulators.base import Reply, Request, Simulator
from simulators.world import Product, World, build_world

API_PATH = "/content/admin/plugins/openapi/index.php"
HISTORY_END = datetime(2026, 11, 20, 18, 0)  # shop-local (US Eastern), naive as the API prints it
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
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
FIRST_NAMES = [
    "John",
    "Jane",
    "Maria",
    "Wei",
    "Aisha",
    "Carlos",
    "Emma",
    "Liam",
    "Noah",
    "Olivia",
    "Ava",
    "Raj",
]
LAST_NAMES = [
    "Doe",
    "Smith",
    "Garcia",
    "Chen",
    "Khan",
    "Rossi",
    "Miller",
    "Brown",
    "Patel",
    "Nguyen",
    "Kowalski",
]
STREETS = [
    "West Test Street",
    "East Test Lane",
    "Hamilton Street",
    "Main Street",
    "Broad Street",
    "Oak Avenue",
]
CITIES = [
    ("Easton", "PA", "18042"),
    ("Bethlehem", "PA", "18018"),
    ("Phoenix", "AZ", "85050"),
    ("Trenton", "NJ", "08608"),
]


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


def _date(moment: datetime) -> str:
    return moment.strftime(DATE_FORMAT)


class PinnacleCartSimulator(Simulator):
    name = "pinnacle_cart"

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
        super().__init__(port)
        self.world = world or build_world(seed)
        self.username, self.password, self.token = username, password, token
        self._rng = random.Random(seed + 5)
        self.clock = HISTORY_END - timedelta(days=history_days)
        self.customers: dict[int, dict[str, Any]] = {}
        self.orders: dict[int, dict[str, Any]] = {}
        self.order_customer: dict[int, int] = {}  # not in the API's order record; drives CustomerId
        self.products: dict[int, dict[str, Any]] = {}
        self.product_category: dict[int, str] = {}
        self.categories: list[dict[str, Any]] = []
        self._next_order_id = 1001
        self._build_catalogue()
        for _ in range(n_customers):
            self.add_customer()
        step = timedelta(days=history_days) / max(n_orders, 1)
        for _ in range(n_orders):
            self.clock += step
            self.add_order(aged=True)
        self.clock = max(self.clock, HISTORY_END)

    # --- seeded shop ------------------------------------------------------------------------------
    def _build_catalogue(self) -> None:
        rng = self._rng
        sold: list[Product] = [p for p in self.world.products if p.cart_sku]
        tree: dict[str, dict[str, Any]] = {}
        next_category = 1
        for pid, product in enumerate(sold, start=1):
            top = "Pet Supplies" if product.kind == "pet" else "Music Software"
            path = [top, product.category, product.subcategory]
            level = tree
            node: dict[str, Any] = {}
            for title in path:
                if title not in level:
                    level[title] = {"Title": title, "CategoryId": str(next_category), "_children": {}}
                    next_category += 1
                node = level[title]
                level = node["_children"]
            self.product_category[pid] = node["CategoryId"]
            self.products[pid] = {
                "Price": f"{product.msrp:.5f}",
                "Cost": f"{product.cost:.5f}",
                "Taxable": "No" if product.kind == "music" else "Yes",
                "Weight": "0.00" if product.kind == "music" else f"{rng.uniform(0.2, 30):.2f}",
                "UPC": product.upc,
                "Title": product.cart_title,
                "URL": f"https://shop.example/index.php?p=product&id={pid}",
                "ThumbnailImageUrl": f"https://shop.example/images/products/thumbs/{pid}.jpg",
                "ImageUrl": "" if rng.random() < 0.1 else f"https://shop.example/images/products/{pid}.jpg",
                "Discontinued": "Yes" if rng.random() < 0.05 else "No",
                "Options": self._options(product, pid) if rng.random() < 0.35 else [],
                "PID": str(pid),
                "ProductId": product.cart_sku,
                "Qoh": str(rng.randrange(0, 400)),
            }

        def render(level: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
            return [
                {"Title": n["Title"], "CategoryId": n["CategoryId"], "Children": render(n["_children"])}
                for n in level.values()
            ]

        self.categories = render(tree)

    def _options(self, product: Product, pid: int) -> list[dict[str, Any]]:
        """A recursive option tree: a select with its values, sometimes a gift wrap nesting two levels."""
        rng = self._rng

        def option(
            title: str, option_id: str, price: str, kind: str = "", children: Any = ()
        ) -> dict[str, Any]:
            return {
                "Title": title,
                "Caption": "",
                "OptionId": option_id,
                "Type": kind,
                "Price": price,
                "Cost": price,
                "Weight": "" if kind else f"{rng.uniform(-0.5, 2):.2f}",
                "Priority": str(rng.randrange(1, 9)),
                "Options": list(children),
            }

        sizes = [("Small", "-2.00"), ("Medium", "0.00"), ("Large", "4.50")]
        if product.kind == "music":
            sizes = [("Single seat", "0.00"), ("Two seats", f"{product.msrp * Decimal('0.8'):.2f}")]
        select = option(
            "License" if product.kind == "music" else "Size",
            "1",
            "0",
            "select",
            [option(title, f"1-{title}", price) for title, price in sizes],
        )
        tree = [select]
        if rng.random() < 0.4:
            card = option(
                "Card", "2-Yes-Card", "0", "select", [option("Birthday", "2-Yes-Card-Birthday", "0.50")]
            )
            tree.append(
                option("Gift wrap", "2", "0", "checkbox", [option("Yes", "2-Yes", "3.99", "", [card])])
            )
        return tree

    def _address(self, name: str) -> dict[str, str]:
        rng = self._rng
        city, state, zipcode = rng.choice(CITIES)
        return {
            "Name": name,
            "Street1": f"{rng.randrange(10, 99999)} {rng.choice(STREETS)}",
            "Street2": "" if rng.random() < 0.8 else f"Apt {rng.randrange(1, 40)}",
            "City": city,
            "State": state,
            "Zip": zipcode,
            "Country": "US",
        }

    def add_customer(self) -> int:
        """Register a new customer; return their UserId."""
        rng = self._rng
        with self._lock:
            user_id = len(self.customers) + 1
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            billing = {
                "FullName": f"{first} {last}",
                "FirstName": first,
                "LastName": last,
                "Email": f"{first.lower()}.{last.lower()}{user_id}@example.com",
                "Company": "" if rng.random() < 0.85 else f"{last} Kennels",
                "Phone": f"610555{rng.randrange(10000):04d}",
                "Address": {**self._address(""), "Name": ""},
            }
            book = [self._address(f"{first} {last}") for _ in range(rng.choice([0, 1, 1, 1, 2, 3]))]
            self.customers[user_id] = {
                "UserId": str(user_id),
                "UserName": f"{first.lower()}{user_id}",
                "BillingInfo": billing,
                "AddressBook": book,
            }
            return user_id

    def _items(self, n_items: int) -> list[dict[str, Any]]:
        rng = self._rng
        items = []
        for pid in rng.sample(sorted(self.products), n_items):
            product = self.products[pid]
            qty = rng.choice([1, 1, 1, 2, 3])
            options = []
            if product["Options"]:
                select = product["Options"][0]
                chosen = rng.choice(select["Options"])
                options.append(
                    {
                        "Title": select["Title"],
                        "SelectedOption": chosen["Title"],
                        "Price": chosen["Price"],
                        "Weight": "0.00",
                    }
                )
            price = Decimal(product["Price"])
            items.append(
                {
                    "PID": product["PID"],
                    "Quantity": str(qty),
                    "Price": _money(price),
                    "Taxable": product["Taxable"],
                    "Weight": product["Weight"],
                    "FreeShipping": "Yes" if product["Taxable"] == "No" else "No",
                    "ShippingPrice": "0.00",
                    "TaxRate": "6.00" if product["Taxable"] == "Yes" else "0.00",
                    "TaxDescription": "PA Sales Tax" if product["Taxable"] == "Yes" else "",
                    "DigitalProduct": "Yes" if product["Taxable"] == "No" else "No",
                    "UpdatedQuanity": str(qty),
                    "UpdatedPrice": _money(price),
                    "ProductId": product["ProductId"],
                    "ProductSubId": "",
                    "SKU": product["ProductId"],
                    "UPC": product["UPC"],
                    "Title": product["Title"],
                    "LineItemWeight": _money(Decimal(product["Weight"]) * qty),
                    "ProductWeight": product["Weight"],
                    "Options": options,
                }
            )
        return items

    def _totals(self, order: dict[str, Any]) -> None:
        subtotal = tax = Decimal(0)
        for item in order["OrderItems"]:
            qty = Decimal(item["Quantity"])
            line = (
                Decimal(item["Price"]) + sum((Decimal(o["Price"]) for o in item["Options"]), Decimal(0))
            ) * qty
            subtotal += line
            tax += line * Decimal(item["TaxRate"]) / 100
        shipping = Decimal("0") if subtotal >= 49 else Decimal("5.99")
        discount = Decimal(order["DiscountAmount"])
        order["SubtotalAmount"] = _money(subtotal)
        order["ShippingAmount"] = _money(shipping)
        order["TaxAmount"] = _money(tax)
        order["TotalAmount"] = _money(subtotal + shipping + tax - discount)

    def add_order(
        self, customer_id: int | None = None, n_items: int | None = None, aged: bool = False
    ) -> int:
        """Place an order now (the shop clock moves on); return its OrderId."""
        rng = self._rng
        with self._lock:
            if not aged:
                self.clock += timedelta(minutes=rng.randrange(5, 90))
            user_id = customer_id or rng.randrange(1, len(self.customers) + 1)
            customer = self.customers[user_id]
            placed = self.clock
            age = HISTORY_END - placed
            if age > timedelta(days=21):
                status = rng.choices(["Completed", "Canceled"], [0.95, 0.05])[0]
            elif aged:
                status = rng.choice(["Process", "Completed", "Backorder", "New"])
            else:
                status = "New"
            status_date = placed + (timedelta(hours=rng.randrange(1, 72)) if status != "New" else timedelta())
            status_date = min(status_date, max(HISTORY_END, self.clock))
            order_id = self._next_order_id
            self._next_order_id += 1
            billing = customer["BillingInfo"]
            ship_to = rng.choice(customer["AddressBook"] or [billing["Address"]])
            order: dict[str, Any] = {
                "OrderId": str(order_id),
                "OrderNumber": str(order_id + 50000),
                "OrderDate": _date(placed),
                "Status": status,
                "StatusDate": _date(status_date),
                "PaymentMethod": rng.choice(["Credit Card", "PayPal"]),
                "PaymentStatus": {"Completed": "Received", "Canceled": "Refunded"}.get(status, "Pending"),
                "ShippingCarrierId": "ups",
                "ShippingMethodId": "03",
                "ShippingMethodName": "UPS Ground",
                "ShippingAmount": "0.00",
                "ShippingTaxable": "No",
                "ShippingTaxRate": "0.00",
                "ShippintTaxAmount": "0.00",  # sic: the doc's spelling
                "ShippingTaxDescription": "",
                "HandlingSeparated": "No",
                "HandlingFee": "0.00",
                "HandlingFeeType": "amount",
                "HandlingAmount": "0.00",
                "HandlingTaxable": "No",
                "HandlingTaxRate": "0.00",
                "HandlingTaxAmount": "0.00",
                "HandlingTaxDescription": "",
                "HandlingText": "",
                "SubtotalAmount": "0.00",
                "DiscountAmount": "0.00" if rng.random() < 0.9 else "5.00",
                "DiscountValue": "0.00",
                "DiscountType": "none",
                "PromoDiscountAmount": "0.00",
                "PromoDiscountValue": "0.00",
                "PromoDiscountType": "",
                "TaxAmount": "0.00",
                "TotalAmount": "0.00",
                "GiftMessage": "" if rng.random() < 0.95 else "Happy birthday!",
                "BillingInfo": billing,
                "ShippingInfo": {
                    "FullName": billing["FullName"],
                    "Email": billing["Email"],
                    "Company": billing["Company"],
                    "Phone": billing["Phone"],
                    "Address": dict(ship_to),
                },
                "OrderItems": self._items(n_items or rng.choice([1, 1, 2, 2, 3, 4])),
            }
            self._totals(order)
            self.orders[order_id] = order
            self.order_customer[order_id] = user_id
            return order_id

    # --- mutations for tests -----------------------------------------------------------------------
    def _tick(self) -> str:
        self.clock += timedelta(minutes=self._rng.randrange(5, 60))
        return _date(self.clock)

    def set_order_status(self, order_id: int, status: str, payment_status: str | None = None) -> None:
        """Change an order's status (and payment status); its StatusDate moves to now."""
        with self._lock:
            order = self.orders[order_id]
            order["Status"] = status
            if payment_status:
                order["PaymentStatus"] = payment_status
            order["StatusDate"] = self._tick()

    def replace_order_items(self, order_id: int, n_items: int) -> None:
        """Give an order a new set of items (0 empties it), as an edit in the admin panel would."""
        with self._lock:
            order = self.orders[order_id]
            order["OrderItems"] = self._items(n_items) if n_items else []
            self._totals(order)
            order["StatusDate"] = self._tick()

    def edit_customer(self, user_id: int, **billing: str) -> None:
        with self._lock:
            self.customers[user_id]["BillingInfo"] = {**self.customers[user_id]["BillingInfo"], **billing}

    def clear_address_book(self, user_id: int) -> None:
        with self._lock:
            self.customers[user_id]["AddressBook"] = []

    def edit_product(self, pid: int, **fields: str) -> None:
        with self._lock:
            self.products[pid].update(fields)

    def clear_product_options(self, pid: int) -> None:
        with self._lock:
            self.products[pid]["Options"] = []

    def set_qoh(self, pid: int, qoh: int) -> None:
        with self._lock:
            self.products[pid]["Qoh"] = str(qoh)

    def serve_once(self, body: bytes, call: str) -> None:
        """Answer the next `call` with `body` (HTTP 200), e.g. a malformed or hostile XML page."""
        self.faults.add("status", status=200, body=body, when=lambda r: r.params.get("call") == call)

    def recent_order_ids(self, n: int) -> list[int]:
        return sorted(self.orders)[-n:]

    def truth(self) -> dict[str, Any]:
        """Return what the API holds now: customers, orders and products by id (API-shaped records)."""
        with self._lock:
            return {
                "customers": {k: json.loads(json.dumps(v)) for k, v in self.customers.items()},
                "orders": {k: json.loads(json.dumps(v)) for k, v in self.orders.items()},
                "products": {k: json.loads(json.dumps(v)) for k, v in self.products.items()},
            }

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
        if isinstance(body, str):
            if as_json:
                return Reply(200, json.dumps(int(body) if body.isdigit() else body).encode())
            return Reply(200, f"<Response>{escape(body)}</Response>".encode(), content_type="text/xml")
        if as_json:
            return Reply(200, json.dumps(body).encode())
        tag = RECORD_TAGS[call]
        return Reply(200, _xml_records(tag, body).encode(), content_type="text/xml")

    def _answer(self, call: str, params: dict[str, str]) -> str | list[dict[str, Any]]:
        if call == "GetVersion":
            return VERSION
        if call == "GetCustomerCount":
            return str(len(self.customers))
        if call == "GetCustomers":
            return _batch([self.customers[k] for k in sorted(self.customers)], params)
        if call == "GetOrderCount":
            return str(len(self._orders_matching(params)))
        if call == "GetOrders":
            return _batch(self._orders_matching(params), params)
        if call == "GetCategories":
            return self.categories
        if call == "GetProductCount":
            return str(len(self.products))
        if call == "GetProducts":
            return self._products(params)
        if call == "GetInventory":
            rows = [
                {"PID": p["PID"], "Qoh": p["Qoh"], "ProductId": p["ProductId"]}
                for _, p in sorted(self.products.items())
            ]
            return _batch(rows, params)
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
        return rows[(page - 1) * size : page * size]


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
