"""A local stand-in of the Pinogy POS API: signed requests, sessions, purchase orders with lines.

Follows `pinogy-api-overview.txt` and `pinogy-purchase-orders.txt`. Where they are silent, it does what
Pinogy's public sample clients expect (the contract stated in the foundation issue):

- Every request carries `accesskey`, `timestamp` (UTC `YYYY-MM-DDTHH:MM:SSZ`) and `signature` =
  base64(HMAC-SHA256(secret_key, percent-quoted path + timestamp)); GET/DELETE in the query, POST in the
  form. Assumption: a timestamp more than 300 s away from the server clock is refused like a bad
  signature (401), as replay protection usually is.
- `POST /apps/any/sessions` (form: `password`, `app_id`) answers `{"id": .., "token": ..}`; a wrong
  password answers 406 ("Login is incorrect", the doc's table). `DELETE /apps/any/sessions/mine` logs out.
- A request with an unknown, expired or terminated session answers 409 (the doc: "create a new session
  ... and then the request should be resubmitted"). `expire_sessions_after=N` ends every session after N
  authenticated requests, to drive that path.
- Error bodies are JSON `{"error": "<code>", "message": ".."}` with the doc's HTTP codes.
- `GET /api/purchase_orders`: `limit` (default 100; above 1000 still 1000, as the doc says), `offset`,
  `order_by` (any returned field; `txn_opened_on` is the doc's name for `opened_on`; "field desc" form
  accepted as in the overview), `order_type` (asc|desc), `fields`/`columns` (comma list),
  `fields_include=lines`. Reply `{count, objects, offset, total}`. Ties are broken by `id` ascending.
  Assumption: an unknown `order_by` field or a non-integer limit/offset is a 422 validation error.

The data is a seeded pet/music retailer's purchasing history (see `world.py`); tests mutate it with
`open_po`, `add_line`, `remove_line`, `close_po`, `delete_po` and `vanish_po` and compare the warehouse
with `truth()`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import secrets as token_gen
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from simulators.base import ISSUED_SECRETS, Reply, Request, Simulator
from simulators.world import World, build_world

EASTERN = timezone(timedelta(hours=-5))
HISTORY_END = datetime(2026, 11, 20, 18, 0, tzinfo=EASTERN)
MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
TIMESTAMP_SKEW_SECONDS = 300

PO_FIELDS = (
    "address_line1",
    "address_line2",
    "city",
    "closed_by_user_id",
    "closed_date_tz",
    "closed_device_id",
    "closed_on",
    "deleted",
    "disclaimer_text",
    "discount_total",
    "email",
    "entity_id",
    "entity_name",
    "expires_on",
    "fee_total",
    "freight_total",
    "grand_total",
    "id",
    "is_open",
    "location_id",
    "location_receipt_name",
    "notes",
    "number",
    "opened_by_user_id",
    "opened_device_id",
    "opened_on",
    "options",
    "other_total",
    "phone_number",
    "reason",
    "receiving_batch",
    "region_full_name",
    "region_iso_code",
    "session_id",
    "status",
    "subtotal",
    "tax_total",
    "timezone",
    "tray_session_id",
    "type",
    "zipcode",
)
ORDER_ALIASES = {"txn_opened_on": "opened_on", "txn_closed_on": "closed_on", "txn_id": "id"}


def sign(secret_key: str, path: str, timestamp: str) -> str:
    """Return Pinogy's request signature: base64 HMAC-SHA256 over the quoted path + timestamp."""
    digest = hmac.new(secret_key.encode(), (quote(path) + timestamp).encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")


def _money(value: Decimal, places: str = "0.01") -> str:
    return str(value.quantize(Decimal(places)))


class PinogySimulator(Simulator):
    name = "pinogy"

    def __init__(
        self,
        n_pos: int = 300,
        seed: int = 42,
        access_key: str = "sim-access-key",
        secret_key: str = "sim-secret-key",
        password: str = "sim-password",
        app_id: int = 3,
        world: World | None = None,
        port: int = 0,
    ) -> None:
        super().__init__(port)
        self.world = world or build_world(seed)
        self.access_key, self.secret_key, self.password, self.app_id = (
            access_key,
            secret_key,
            password,
            app_id,
        )
        self.expire_sessions_after: int | None = None
        self.sessions: dict[str, int] = {}  # token -> authenticated requests served
        self.issued_tokens: list[str] = []
        self.logins = 0
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
        self._sorted_cache: dict[str, list[int]] = {}
        self._page_cache: dict[tuple[str, ...], bytes] = {}
        self._generate(n_pos)

    # --- seeded data ----------------------------------------------------------------------------
    def _generate(self, n_pos: int) -> None:
        span = timedelta(days=730)
        for i in range(n_pos):
            opened = (
                HISTORY_END - span + span * (i / max(n_pos, 1)) + timedelta(seconds=self._rng.randrange(600))
            )
            age_days = (HISTORY_END - opened).days
            # Most POs close within days; a few stragglers stay open for months (forgotten back orders).
            is_open = self._rng.random() < (0.4 if age_days < 21 else 0.0005)
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

    def _invalidate(self) -> None:
        self._sorted_cache.clear()
        self._page_cache.clear()

    def prerender(self, page_size: int, order_by: str = "id", order_type: str = "asc") -> int:
        """Render every list page with lines ahead of time, so benchmarks measure the client, not us."""
        params = {
            "limit": str(page_size),
            "order_by": order_by,
            "order_type": order_type,
            "fields_include": "lines",
        }
        pages = 0
        for offset in range(0, max(len(self.pos), 1), min(page_size, MAX_LIMIT)):
            self._list({**params, "offset": str(offset)})
            pages += 1
        return pages

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
        with self._lock:
            self._close(po_id, datetime.fromisoformat(self.pos[po_id]["opened_on"]) + timedelta(days=2))
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

    # --- HTTP -------------------------------------------------------------------------------------
    def handle(self, request: Request) -> Reply:
        problem = self._check_signature(request)
        if problem:
            return _error(401, "unauthorized", problem)
        if request.path == "/apps/any/sessions" and request.method == "POST":
            return self._login(request)
        token = request.params.get("session", "")
        with self._lock:
            served = self.sessions.get(token)
            if served is None:
                return _error(409, "session_expired", "The session has expired or was terminated")
            if self.expire_sessions_after is not None and served >= self.expire_sessions_after:
                del self.sessions[token]
                return _error(409, "session_expired", "The session has expired or was terminated")
            self.sessions[token] = served + 1
        if request.path == "/apps/any/sessions/mine" and request.method == "DELETE":
            with self._lock:
                self.sessions.pop(token, None)
            return Reply(200, b"{}")
        if request.method != "GET":
            return _error(404, "not_found", "Resource doesn't exist")
        if request.path.rstrip("/") == "/api/purchase_orders":
            return self._list(request.params)
        prefix = "/api/purchase_orders/"
        if request.path.startswith(prefix) and request.path[len(prefix) :].isdigit():
            return self._get(int(request.path[len(prefix) :]), request.params)
        return _error(404, "not_found", "Resource doesn't exist")

    def _check_signature(self, request: Request) -> str | None:
        params = request.params
        if params.get("accesskey") != self.access_key:
            return "Access key is missing or incorrect"
        stamp = params.get("timestamp", "")
        try:
            moment = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError:
            return "Timestamp is missing or malformed"
        if abs((datetime.now(UTC) - moment).total_seconds()) > TIMESTAMP_SKEW_SECONDS:
            return "Timestamp is too far from the server clock"
        expected = sign(self.secret_key, request.path, stamp)
        if not hmac.compare_digest(expected, params.get("signature", "")):
            return "Signature does not match"
        return None

    def _login(self, request: Request) -> Reply:
        if request.params.get("password") != self.password or request.params.get("app_id") != str(
            self.app_id
        ):
            return _error(406, "login_incorrect", "Login is incorrect or the application is not accessible")
        token = token_gen.token_hex(16)
        with self._lock:
            self.logins += 1
            self.sessions[token] = 0
            self.issued_tokens.append(token)
            ISSUED_SECRETS.add(token)
            return Reply(200, json.dumps({"id": self.logins, "token": token}).encode())

    def _list(self, params: dict[str, str]) -> Reply:
        try:
            limit = min(int(params.get("limit", DEFAULT_LIMIT)), MAX_LIMIT)
            offset = int(params.get("offset", 0))
        except ValueError:
            return _error(422, "validation_error", "limit and offset must be integers")
        if limit < 0 or offset < 0:
            return _error(422, "validation_error", "limit and offset must not be negative")
        order_by, _, inline_type = params.get("order_by", "id").strip().partition(" ")
        order_type = (params.get("order_type") or inline_type or "asc").lower()
        field = ORDER_ALIASES.get(order_by, order_by)
        if field not in PO_FIELDS or order_type not in ("asc", "desc"):
            return _error(422, "validation_error", f"Cannot order by {order_by!r} {order_type!r}")
        with self._lock:
            ids = self._sorted_ids(field, order_type)
            page = ids[offset : offset + limit]
            objects = [self._render(po_id, params) for po_id in page]
            body = {"count": len(objects), "objects": objects, "offset": offset, "total": len(ids)}
        return Reply(200, json.dumps(body).encode())

    def _get(self, po_id: int, params: dict[str, str]) -> Reply:
        with self._lock:
            if po_id not in self.pos:
                return _error(404, "not_found", "Resource doesn't exist")
            return Reply(200, json.dumps(self._render(po_id, params)).encode())

    def _sorted_ids(self, field: str, order_type: str) -> list[int]:
        key = f"{field} {order_type}"
        if key not in self._sorted_cache:
            # sorted(reverse=True) is stable, so equal values keep the id-ascending tie-break.
            ids = sorted(self.pos)
            ids.sort(key=lambda i: self._sort_key(i, field), reverse=order_type == "desc")
            self._sorted_cache[key] = ids
        return self._sorted_cache[key]

    def _sort_key(self, po_id: int, field: str) -> tuple[Any, ...]:
        value = self.pos[po_id][field]
        if value is None:
            return (0, "")
        if field in ("opened_on", "closed_on", "expires_on"):
            return (1, datetime.fromisoformat(value))
        if isinstance(value, dict):
            return (1, json.dumps(value, sort_keys=True))
        return (1, value)

    def _render(self, po_id: int, params: dict[str, str]) -> dict[str, Any]:
        po = dict(self.pos[po_id])
        if params.get("fields_include") == "lines":
            po["lines"] = [dict(line) for line in self.lines[po_id]]
        wanted = params.get("fields") or params.get("columns")
        if wanted:
            keep = {f.strip() for f in wanted.split(",") if f.strip()} | {"id"}
            if "lines" in po:
                keep.add("lines")
            po = {k: v for k, v in po.items() if k in keep}
        return po


def _error(status: int, code: str, message: str) -> Reply:
    return Reply(status, json.dumps({"error": code, "message": message}).encode())
