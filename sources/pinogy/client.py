"""Pinogy's quirks: request signing, one reusable session, 409 → log in again and resubmit, errors."""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import requests
from dlt.sources.helpers.rest_client import RESTClient

from sources.http import (
    CallCounter,
    RetryingSession,
    SourceError,
    answered,
    describe,
    register_secret,
    require_secure_url,
)
from sources.paging import PageGuard, read_full_page
from sources.pinogy import settings
from sources.pinogy.signing import PinogySigner

log = logging.getLogger("retail.pinogy")


class PinogyError(SourceError):
    """Any expected failure talking to Pinogy; `status` is the HTTP status of an error reply (0 when none)."""

    def __init__(self, call: str, problem: str, fix: str = "", status: int = 0) -> None:
        super().__init__(settings.SOURCE_NAME, call, problem, fix)
        self.status = status


class PinogyClient:
    """A logged-in Pinogy API client; use as a context manager so the session is closed at the end."""

    def __init__(
        self,
        api_host: str,
        access_key: str,
        secret_key: str,
        password: str,
        app_id: int = settings.DEFAULT_APP_ID,
        counter: CallCounter | None = None,
    ) -> None:
        for secret in (access_key, secret_key, password):
            register_secret(secret)
        self.base_url = require_secure_url(settings.SOURCE_NAME, api_host, "SOURCES__PINOGY__API_HOST")
        self.password, self.app_id = password, app_id
        self.signer = PinogySigner(access_key, secret_key)
        self.http = RetryingSession(
            settings.SOURCE_NAME, url_key="SOURCES__PINOGY__API_HOST", counter=counter
        )
        self.rest = RESTClient(base_url=self.base_url, auth=self.signer, session=self.http)
        self.last_total: int | None = None  # the list's `total` as the latest page reported it

    @property
    def calls(self) -> int:
        return self.http.calls

    def __enter__(self) -> PinogyClient:
        self.login()
        return self

    def __exit__(self, *exc: object) -> None:
        self.logout()

    def login(self) -> None:
        """Open a session (`POST /apps/any/sessions`) and sign every later request with its token."""
        self.signer.session_token = None
        response = self.rest.post(
            settings.LOGIN_PATH, data={"password": self.password, "app_id": self.app_id}
        )
        body = self._json(response, f"POST {settings.LOGIN_PATH}")
        token = body.get("token") if isinstance(body, dict) else None
        if not token:
            raise PinogyError(
                f"POST {settings.LOGIN_PATH}",
                "login reply carries no session token",
                "check SOURCES__PINOGY__API_HOST points at the Pinogy API",
            )
        register_secret(token)
        self.signer.session_token = token

    def logout(self) -> None:
        """Close the session; a failure here is logged, never raised (the data is already in hand)."""
        if not self.signer.session_token:
            return
        try:
            self.rest.request(settings.LOGOUT_PATH, method="DELETE")
        except (requests.RequestException, SourceError) as exc:
            log.warning("pinogy: DELETE %s failed: %s", settings.LOGOUT_PATH, type(exc).__name__)
        self.signer.session_token = None

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """GET `path`; on 409 log in again and resubmit this same request (not the whole sync)."""
        call = f"GET {path}"
        for _ in range(settings.MAX_RELOGINS_PER_REQUEST + 1):
            response = self.rest.get(path, params=params)
            if response.status_code != 409:
                return self._json(response, call)
            log.info("pinogy: %s: session expired (409); logging in again and resubmitting", call)
            self.login()
        raise PinogyError(call, *settings.HTTP_ERRORS[409])

    def purchase_order_pages(
        self,
        order_by: str,
        order_type: str,
        page_size: int = settings.MAX_PAGE_SIZE,
        offset: int = 0,
        read_ahead: Callable[[list[dict[str, Any]]], bool] | None = None,
    ) -> Generator[list[dict[str, Any]], None, None]:
        """Yield pages of purchase orders with their lines, `page_size` at a time, until the last one.

        Offset paging is done here rather than with dlt's `OffsetPaginator` because a 409 must resubmit
        the very same page after a new login, and callers stop early once pages leave their window.
        `read_ahead(page)` says, before the caller sees `page`, whether it will surely want the next one;
        if so, that page is fetched while the caller works on this one (one request in flight, never
        two). A caller that is unsure says no: a page read ahead and never used would waste a call.
        """
        previous_total: int | None = None
        rereads = 0
        furthest = -1  # the furthest offset read: pages up to it are read again after stepping back
        guard = PageGuard(PinogyError, "Pinogy", slack=settings.MAX_PAGE_REREADS + 2)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="pinogy-read-ahead") as pool:
            pending = pool.submit(self._purchase_order_page, order_by, order_type, page_size, offset)
            while True:
                body, objects = pending.result()
                total = self.last_total = int(body.get("total", 0))
                guard.page(
                    [po["id"] for po in objects],
                    f"GET {settings.PURCHASE_ORDERS_PATH} offset={offset}",
                    total,
                    reread=offset <= furthest,
                )
                furthest = max(furthest, offset)
                if (
                    previous_total is not None
                    and total != previous_total
                    and rereads < settings.MAX_PAGE_REREADS
                ):
                    rereads += 1
                    # The list changed while we paged. Removals before our offset move later records up
                    # past it, and the total cannot tell removals from additions: step back a whole page
                    # and read on from there (the caller drops what it has already seen).
                    log.info(
                        "pinogy: the list changed while paging (%d -> %d POs); re-reading a page",
                        previous_total,
                        total,
                    )
                    offset = max(0, offset - page_size)
                else:
                    offset += len(objects)
                    if not objects or offset >= total:
                        if objects:
                            yield objects
                        return
                previous_total = total
                fetch = partial(self._purchase_order_page, order_by, order_type, page_size, offset)
                if read_ahead is not None and objects and read_ahead(objects):
                    pending = pool.submit(fetch)
                    yield objects
                else:
                    if objects:
                        yield objects
                    pending = pool.submit(fetch)

    def _purchase_order_page(
        self, order_by: str, order_type: str, page_size: int, offset: int
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Return one list page; an empty page before the API's total is read again, then an error."""
        params = {
            "limit": page_size,
            "offset": offset,
            "order_by": order_by,
            "order_type": order_type,
            "fields_include": "lines",
        }
        call = f"GET {settings.PURCHASE_ORDERS_PATH} offset={offset}"

        def fetch() -> tuple[dict[str, Any], list[dict[str, Any]]]:
            body = self.get(settings.PURCHASE_ORDERS_PATH, params)
            return body, _page_objects(body, call)

        def shortfall(page: tuple[dict[str, Any], list[dict[str, Any]]]) -> str | None:
            total = _total(page[0], call)
            if page[1] or offset >= total:
                return None
            return f"empty page though the API's total is {total} purchase orders"

        return read_full_page(fetch, shortfall, call, PinogyError, "Pinogy", self.http.policy)

    def purchase_order(self, po_id: int) -> dict[str, Any] | None:
        """Return one purchase order with its lines, or None if the API no longer has it."""
        path = f"{settings.PURCHASE_ORDERS_PATH}/{int(po_id)}"
        try:
            body = self.get(path, {"fields_include": "lines"})
        except PinogyError as exc:
            if exc.status == 404:
                return None
            raise
        if not isinstance(body, dict) or "id" not in body:
            raise PinogyError(f"GET {path}", "reply is not a purchase order object", "report this to Pinogy")
        return body

    def _json(self, response: requests.Response, call: str) -> Any:
        if response.status_code >= 400:
            code = _error_code(response)
            detail = f"{answered(response)}{', ' + code if code else ''}"
            known = settings.HTTP_ERRORS.get(response.status_code)
            problem, fix = (f"{known[0]} ({detail})", known[1]) if known else (f"unexpected {detail}", "")
            raise PinogyError(call, problem, fix or "report this to Pinogy", response.status_code)
        if 300 <= response.status_code < 400:
            raise PinogyError(
                call,
                f"unexpected redirect (HTTP {response.status_code})",
                "check SOURCES__PINOGY__API_HOST is the API's final address",
            )
        try:
            return response.json()
        except ValueError:
            raise PinogyError(
                describe(response.request) if response.request else call,
                f"malformed JSON in the reply ({len(response.content)} bytes)",
                "retry later; report to Pinogy if it persists",
            ) from None


def _error_code(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("error", ""))[:60] if isinstance(body, dict) else ""


def _page_objects(body: Any, call: str) -> list[dict[str, Any]]:
    if not isinstance(body, dict) or not isinstance(body.get("objects"), list) or "total" not in body:
        raise PinogyError(
            call, "reply is not a {count, objects, offset, total} page", "report this to Pinogy"
        )
    _total(body, call)
    objects: list[dict[str, Any]] = body["objects"]
    for obj in objects:
        if not isinstance(obj, dict) or obj.get("id") is None or not obj.get("opened_on"):
            raise PinogyError(
                call, "a purchase order in the page has no id or opened_on", "report this to Pinogy"
            )
    return objects


def _total(body: dict[str, Any], call: str) -> int:
    try:
        return int(body["total"])
    except (TypeError, ValueError):
        raise PinogyError(
            call, f"the page's total is not a number: {str(body['total'])[:20]!r}", "report this to Pinogy"
        ) from None
