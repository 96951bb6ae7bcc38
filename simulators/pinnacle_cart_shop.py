"""The seeded web shop behind the Pinnacle Cart simulator: customers, products, orders, and test mutations.

Records are kept exactly as the API shows them (element names as keys, values as text), so the HTTP side
only filters, batches and renders them. Dates are shop-local (US Eastern) `YYYY-MM-DD HH:MM:SS`; the
shop's clock starts `history_days` before `HISTORY_END` and moves on with every mutation.
"""

from __future__ import annotations

import json
import random
import threading
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from simulators.pinnacle_cart_catalogue import build_catalogue
from simulators.world import World, build_world

HISTORY_END = datetime(2026, 11, 20, 18, 0)  # shop-local (US Eastern), naive as the API prints it
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
# fmt: off
FIRST_NAMES = ["John", "Jane", "Maria", "Wei", "Aisha", "Carlos", "Emma", "Liam", "Noah", "Olivia",
               "Ava", "Raj"]
LAST_NAMES = ["Doe", "Smith", "Garcia", "Chen", "Khan", "Rossi", "Miller", "Brown", "Patel", "Nguyen",
              "Kowalski"]
STREETS = ["West Test Street", "East Test Lane", "Hamilton Street", "Main Street", "Broad Street",
           "Oak Avenue"]
CITIES = [("Easton", "PA", "18042"), ("Bethlehem", "PA", "18018"), ("Phoenix", "AZ", "85050"),
          ("Trenton", "NJ", "08608")]
# fmt: on


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


def _date(moment: datetime) -> str:
    return moment.strftime(DATE_FORMAT)


class PinnacleCartShop:
    """A pet and music web shop selling the shared world's products that have a `cart_sku`."""

    def __init__(
        self,
        n_customers: int = 200,
        n_orders: int = 1000,
        seed: int = 42,
        world: World | None = None,
        history_days: int = 180,
    ) -> None:
        self._lock = threading.RLock()
        self.world = world or build_world(seed)
        self._rng = random.Random(seed + 5)
        self.clock = HISTORY_END - timedelta(days=history_days)
        self.customers: dict[int, dict[str, Any]] = {}
        self.orders: dict[int, dict[str, Any]] = {}
        self.order_customer: dict[int, int] = {}  # not in the API's order record; drives CustomerId
        self._next_order_id = 1001
        self.products, self.product_category, self.categories = build_catalogue(self.world, self._rng)
        for _ in range(n_customers):
            self.add_customer()
        step = timedelta(days=history_days) / max(n_orders, 1)
        for _ in range(n_orders):
            self.clock += step
            self.add_order(aged=True)
        self.clock = max(self.clock, HISTORY_END)

    # --- seeded shop ------------------------------------------------------------------------------
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
