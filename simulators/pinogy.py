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
  Assumption (the doc is silent): a null sorts before every value, so `closed_on desc` lists the open
  POs (no `closed_on`) last.
- Fault switch `ignore_order_by`: field names (or "*" for all) whose `order_by` the server silently
  ignores, answering in its default order (by `id`), as a server that does not support it might.
- `served` counts the purchase orders served (list pages and single reads), for call-economy checks.

Fault kinds of its own (`faults.add(kind, ...)`, see `misbehave`): `short` (a list page with only
`keep` objects, the true total kept) and `ignore_offset` (every list page is the first one, announcing
`total`, as a server that ignores `offset` would).

The data is a seeded pet/music retailer's purchasing history (see `world.py`); tests mutate it with
`open_po`, `add_line`, `remove_line`, `close_po`, `delete_po` and `vanish_po` and compare the warehouse
with `truth()`.

Fault switches on the data (a hostile or buggy API): `repeats = {po_id: "page" | "next page"}` lists a PO
once more, right after itself or one page further on (the same position of the next page), and counts
the copy in `total`, as an API whose list holds a record twice would; `open_po(opened=...)` can open a PO
in the year 2999 (a typing error at the till); a PO field set to an unreadable value is served as it is
(a value `datetime` cannot read sorts first, so ordering by it still answers).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets as token_gen
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from simulators.base import ISSUED_SECRETS, Fault, Reply, Request, Simulator
from simulators.pinogy_books import PinogyBooks
from simulators.world import World, build_world

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
TIMESTAMP_SKEW_SECONDS = 300

# fmt: off
PO_FIELDS = (  # a purchase order's fields, as the doc lists them
    "address_line1", "address_line2", "city", "closed_by_user_id", "closed_date_tz", "closed_device_id",
    "closed_on", "deleted", "disclaimer_text", "discount_total", "email", "entity_id", "entity_name",
    "expires_on", "fee_total", "freight_total", "grand_total", "id", "is_open", "location_id",
    "location_receipt_name", "notes", "number", "opened_by_user_id", "opened_device_id", "opened_on",
    "options", "other_total", "phone_number", "reason", "receiving_batch", "region_full_name",
    "region_iso_code", "session_id", "status", "subtotal", "tax_total", "timezone", "tray_session_id",
    "type", "zipcode",
)
# fmt: on
ORDER_ALIASES = {"txn_opened_on": "opened_on", "txn_closed_on": "closed_on", "txn_id": "id"}


def sign(secret_key: str, path: str, timestamp: str) -> str:
    """Return Pinogy's request signature: base64 HMAC-SHA256 over the quoted path + timestamp."""
    digest = hmac.new(secret_key.encode(), (quote(path) + timestamp).encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class PinogySimulator(Simulator, PinogyBooks):
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
        long_open_share: float | None = None,
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
        self.ignore_order_by: set[str] = set()
        self.served = 0
        self._sorted_cache: dict[str, list[int]] = {}
        self._page_cache: dict[tuple[str, ...], bytes] = {}
        self.repeats: dict[int, str] = {}
        self._init_books(n_pos, seed, long_open_share)

    def _invalidate(self) -> None:
        self._sorted_cache.clear()
        self._page_cache.clear()

    def prerender(
        self, page_size: int, order_by: str = "id", order_type: str = "asc", pages: int | None = None
    ) -> int:
        """Render list pages with lines ahead of time (every page, or the first `pages`), so benchmarks
        measure the client, not us."""
        params = {
            "limit": str(page_size),
            "order_by": order_by,
            "order_type": order_type,
            "fields_include": "lines",
        }
        offsets = range(0, max(len(self.pos), 1), min(page_size, MAX_LIMIT))
        for offset in offsets[:pages]:
            self._list({**params, "offset": str(offset)})
        return len(offsets[:pages])

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

    def misbehave(self, fault: Fault, request: Request, reply: Reply) -> Reply:
        if reply.status != 200 or request.path.rstrip("/") != "/api/purchase_orders":
            return reply
        if fault.kind == "ignore_offset":
            reply = self._list({**request.params, "offset": "0"})
        elif fault.kind != "short":
            return super().misbehave(fault, request, reply)
        body = json.loads(reply.body)
        if fault.kind == "short":
            body["objects"] = body["objects"][: fault.keep]
            body["count"] = len(body["objects"])
        else:
            body["offset"] = int(request.params.get("offset", 0))
            body["total"] = fault.total if fault.total is not None else body["total"]
        return Reply(200, json.dumps(body).encode())

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
        if {"*", order_by, field} & self.ignore_order_by:
            field, order_type = "id", "asc"
        with self._lock:
            ids = self._with_repeats(self._sorted_ids(field, order_type), limit)
            page = ids[offset : offset + limit]
            self.served += len(page)
            objects = [self._render(po_id, params) for po_id in page]
            body = {"count": len(objects), "objects": objects, "offset": offset, "total": len(ids)}
        return Reply(200, json.dumps(body).encode())

    def _get(self, po_id: int, params: dict[str, str]) -> Reply:
        with self._lock:
            if po_id not in self.pos:
                return _error(404, "not_found", "Resource doesn't exist")
            self.served += 1
            return Reply(200, json.dumps(self._render(po_id, params)).encode())

    def _sorted_ids(self, field: str, order_type: str) -> list[int]:
        key = f"{field} {order_type}"
        if key not in self._sorted_cache:
            # sorted(reverse=True) is stable, so equal values keep the id-ascending tie-break.
            ids = sorted(self.pos)
            ids.sort(key=lambda i: self._sort_key(i, field), reverse=order_type == "desc")
            self._sorted_cache[key] = ids
        return self._sorted_cache[key]

    def _with_repeats(self, ids: list[int], limit: int) -> list[int]:
        """Return the list as served: each PO in `repeats` once more, in its page or the next one."""
        if not self.repeats:
            return ids
        out = list(ids)
        for po_id, where in self.repeats.items():
            if po_id in out:
                at = out.index(po_id) + (1 if where == "page" else limit)
                out.insert(min(at, len(out)), po_id)
        return out

    def _sort_key(self, po_id: int, field: str) -> tuple[Any, ...]:
        value = self.pos[po_id][field]
        if value is None:
            return (0, "")
        if field in ("opened_on", "closed_on", "expires_on"):
            try:
                return (1, datetime.fromisoformat(value))
            except (TypeError, ValueError):
                return (0, str(value))
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
