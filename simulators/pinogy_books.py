"""The seeded purchasing history behind the Pinogy simulator, and the mutations tests apply to it.

Suppliers, stores and products come from the shared world (`world.py`); purchase orders have 1-40
lines (about 10 on average), most close within days, a few stay open for months.
"""

from __future__ import annotations

import random
import threading
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from simulators.world import World

EASTERN = timezone(timedelta(hours=-5))
HISTORY_END = datetime(2026, 11, 20, 18, 0, tzinfo=EASTERN)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")


def _money(value: Decimal, places: str = "0.01") -> str:
    return str(value.quantize(Decimal(places)))


class PinogyBooks:
    """Purchase orders by id and their lines by PO id, generated from a seed."""

    world: World
    _lock: threading.RLock

    def _init_books(self, n_pos: int, seed: int, long_open_share: float | None = None) -> None:
        self.pos: dict[int, dict[str, Any]] = {}
        self.lines: dict[int, list[dict[str, Any]]] = {}
        self._rng = random.Random(seed + 1)
        self._products_by_supplier = {
            s.entity_id: [p for p in self.world.products if p.supplier_entity_id == s.entity_id]
            or list(self.world.products)
            for s in self.world.suppliers
        }
        self._next_po_id = 5000
        self._next_line_id = 200000
        self._next_number = 100
        self._clock = HISTORY_END - timedelta(days=730)  # the latest moment anything happened
        self._generate(n_pos, long_open_share)

    def _invalidate(self) -> None:
        """Called after every change; the simulator drops its rendered pages."""

    # --- seeded data ----------------------------------------------------------------------------
    def _generate(self, n_pos: int, long_open_share: float | None) -> None:
        """Generate the history; `long_open_share` (e.g. 0.005) leaves that share of the POs older than
        three weeks open, spread evenly through the two years, instead of a rare few."""
        span = timedelta(days=730)
        every = round(1 / long_open_share) if long_open_share else 0
        for i in range(n_pos):
            opened = (
                HISTORY_END - span + span * (i / max(n_pos, 1)) + timedelta(seconds=self._rng.randrange(600))
            )
            age_days = (HISTORY_END - opened).days
            # Most POs close within days; a few stragglers stay open for months (forgotten back orders).
            is_open = self._rng.random() < (0.4 if age_days < 21 else 0.0005)
            if every and age_days >= 21:
                is_open = i % every == every // 2
            self._add_po(opened, is_open=is_open, deleted=self._rng.random() < 0.01)

    def _add_po(
        self, opened: datetime, is_open: bool, deleted: bool = False, n_lines: int | None = None
    ) -> int:
        rng = self._rng
        supplier = rng.choice(self.world.suppliers)
        store = rng.choice(self.world.stores)
        po_id = self._next_po_id
        self._next_po_id += rng.randrange(1, 3)
        self._next_number += 1
        user = rng.choice([179, 181, 204])
        po: dict[str, Any] = {
            "address_line1": supplier.address_line1,
            "address_line2": supplier.address_line2,
            "city": supplier.city,
            "closed_by_user_id": None,
            "closed_date_tz": None,
            "closed_device_id": None,
            "closed_on": None,
            "deleted": deleted,
            "disclaimer_text": None,
            "discount_total": "0",
            "email": supplier.email,
            "entity_id": supplier.entity_id,
            "entity_name": supplier.name,
            "expires_on": None,
            "fee_total": "0.00",
            "freight_total": "0",
            "grand_total": "0.00",
            "id": po_id,
            "is_open": True,
            "location_id": store.location_id,
            "location_receipt_name": store.name,
            "notes": "",
            "number": self._next_number,
            "opened_by_user_id": user,
            "opened_device_id": rng.choice([3, 293]),
            "opened_on": _iso(opened),
            "options": {
                "Lead Time Days": rng.choice([2, 3, 5]),
                "Location": store.location_id,
                "Min Sale Period": 14,
                "Only Cheapest": False,
                "Order Method": None,
                "Purchase Without Sales": True,
                "Safety Stock Max Days": 18,
                "Safety Stock Min Days": rng.choice([7, 14, 18]),
            }
            if rng.random() < 0.8
            else {},
            "other_total": "0",
            "phone_number": supplier.phone_number,
            "reason": None,
            "receiving_batch": None,
            "region_full_name": supplier.region_full_name,
            "region_iso_code": supplier.region_iso_code,
            "session_id": None,
            "status": "Opened",
            "subtotal": "0",
            "tax_total": "0",
            "timezone": store.timezone,
            "tray_session_id": None,
            "type": "Purchase",
            "zipcode": supplier.zipcode,
        }
        self.pos[po_id] = po
        self.lines[po_id] = []
        self._clock = max(self._clock, opened)
        count = n_lines if n_lines is not None else min(40, 1 + int(rng.expovariate(1 / 9)))
        for _ in range(count):
            self._new_line(po_id)
        if not is_open:
            self._close(po_id, opened + timedelta(days=rng.randrange(1, 9), minutes=rng.randrange(600)))
        self._recompute(po_id)
        self._invalidate()
        return po_id

    def _new_line(self, po_id: int) -> dict[str, Any]:
        rng = self._rng
        po = self.pos[po_id]
        product = rng.choice(self._products_by_supplier[po["entity_id"]])
        qty = Decimal(rng.choice([1, 2, 3, 4, 6, 12, 24]))
        line = {
            "amount": "0",
            "bundle_info": None,
            "deleted": False,
            "device_id": po["opened_device_id"],
            "discount": "0",
            "discount_info": None,
            "expected_cost": _money(product.cost * Decimal(rng.choice(["1", "1", "0.9137"])), "0.0001")
            .rstrip("0")
            .rstrip(".")
            if rng.random() < 0.2
            else _money(product.cost),
            "extended_action_id": None,
            "id": self._next_line_id,
            "is_required_by_parent": False,
            "options": None,
            "parent_id": None,
            "posted_on": po["opened_on"],
            "product_category": product.category,
            "product_description": product.name,
            "product_id": product.product_id,
            "product_subcategory": product.subcategory,
            "product_type": "Regular",
            "qty": f"{qty}.00" if rng.random() < 0.5 else str(qty),
            "receiving_batch": None,
            "sale_cost": "0",
            "tax": "0",
            "tax_info": [],
            "transaction_id": po_id,
            "type": "Purchase",
            "user_id": po["opened_by_user_id"],
            "vertical_app_id": None,
            "vertical_product_id": None,
        }
        self._next_line_id += 1
        self.lines[po_id].append(line)
        return line

    def _recompute(self, po_id: int) -> None:
        po = self.pos[po_id]
        subtotal = sum(
            (Decimal(line["expected_cost"]) * Decimal(line["qty"]) for line in self.lines[po_id]), Decimal(0)
        )
        po["subtotal"] = _money(subtotal)
        po["grand_total"] = _money(subtotal)

    def _close(self, po_id: int, when: datetime) -> None:
        po = self.pos[po_id]
        self._clock = max(self._clock, when)
        po.update(
            is_open=False,
            status="Closed",
            closed_on=_iso(when),
            closed_date_tz=when.date().isoformat(),
            closed_by_user_id=po["opened_by_user_id"],
            closed_device_id=po["opened_device_id"],
            receiving_batch=self._rng.randrange(1, 40),
        )
        for line in self.lines[po_id]:
            line["amount"] = _money(Decimal(line["expected_cost"]) * Decimal(line["qty"]))

    # --- mutations for tests ----------------------------------------------------------------------
    def latest_opened_on(self) -> datetime:
        return max((datetime.fromisoformat(p["opened_on"]) for p in self.pos.values()), default=HISTORY_END)

    def open_po(self, n_lines: int = 3, opened: datetime | None = None) -> int:
        """Open a new purchase order after every existing one; return its id."""
        with self._lock:
            when = opened or self.latest_opened_on() + timedelta(minutes=7)
            return self._add_po(when, is_open=True, n_lines=n_lines)

    def add_line(self, po_id: int) -> int:
        with self._lock:
            line = self._new_line(po_id)
            self._recompute(po_id)
            self._invalidate()
            return int(line["id"])

    def remove_line(self, po_id: int, line_id: int | None = None) -> int:
        with self._lock:
            lines = self.lines[po_id]
            victim = next(ln for ln in lines if line_id is None or ln["id"] == line_id)
            lines.remove(victim)
            self._recompute(po_id)
            self._invalidate()
            return int(victim["id"])

    def close_po(self, po_id: int) -> None:
        """Close a PO now: a minute after the latest thing that happened, however old the PO is."""
        with self._lock:
            opened = datetime.fromisoformat(self.pos[po_id]["opened_on"])
            self._close(po_id, max(opened + timedelta(days=2), self._clock + timedelta(minutes=1)))
            self._invalidate()

    def delete_po(self, po_id: int) -> None:
        """Set the MFD flag, as Pinogy does: the PO stays listed with `deleted: true`."""
        with self._lock:
            self.pos[po_id]["deleted"] = True
            self._invalidate()

    def vanish_po(self, po_id: int) -> None:
        """Remove a PO from the API altogether (only a full refresh can notice)."""
        with self._lock:
            del self.pos[po_id]
            del self.lines[po_id]
            self._invalidate()

    def open_po_ids(self) -> list[int]:
        return sorted(i for i, p in self.pos.items() if p["is_open"])

    def truth(self) -> tuple[dict[int, dict[str, Any]], dict[int, dict[str, Any]]]:
        """Return what the API holds now: POs by id and lines by id."""
        with self._lock:
            lines = {ln["id"]: dict(ln) for po_lines in self.lines.values() for ln in po_lines}
            return {i: dict(p) for i, p in self.pos.items()}, lines
