"""Pinnacle Cart's quirks: credentials in the query string, XML (or JSON) replies, offset/page batches.

Every call is `GET {api_url}?username=..&password=..&token=..&apiType=xml&call=<Call>&<args>`. The
credentials are registered with `redact`, and errors name the call (`GetOrders StartNumber=500`), never
the URL. The doc does not describe an error reply; we accept both an HTTP error status and an HTTP 200
whose `<Response>` holds an `<Error>` element (JSON: `{"Error": ".."}`), which is what the simulator sends.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from functools import partial
from typing import Any

import requests

from sources.http import (
    CallCounter,
    RetryingSession,
    SourceError,
    answered,
    register_secret,
    require_secure_url,
)
from sources.integrity import drop_repeats
from sources.paging import PageGuard, read_full_page
from sources.pinnacle_cart import settings
from sources.pinnacle_cart.payload import PayloadError, from_json, parse_xml

log = logging.getLogger("retail.pinnacle_cart")


class PinnacleCartError(SourceError):
    """Any expected failure talking to Pinnacle Cart."""

    def __init__(self, call: str, problem: str, fix: str = "") -> None:
        super().__init__(settings.SOURCE_NAME, call, problem, fix)


class PinnacleCartClient:
    """One session to a shop's Pinnacle Cart API; use as a context manager to close it."""

    def __init__(
        self,
        api_url: str,
        username: str,
        password: str,
        token: str,
        api_type: str = settings.DEFAULT_API_TYPE,
        counter: CallCounter | None = None,
    ) -> None:
        for secret in (username, password, token):
            register_secret(secret)
        self.api_url = require_secure_url(settings.SOURCE_NAME, api_url, "SOURCES__PINNACLE_CART__API_URL")
        if api_type not in settings.API_TYPES:
            raise PinnacleCartError(
                "config",
                f"api_type {api_type!r} is not supported",
                "set SOURCES__PINNACLE_CART__API_TYPE to xml or json",
            )
        self.api_type = api_type
        self._credentials = {"username": username, "password": password, "token": token}
        self.http = RetryingSession(
            settings.SOURCE_NAME,
            url_key="SOURCES__PINNACLE_CART__API_URL",
            call_param="call",
            counter=counter,
        )
        self.counts: dict[str, int] = {}  # the latest unfiltered count per count call

    @property
    def calls(self) -> int:
        return self.http.calls

    def __enter__(self) -> PinnacleCartClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    # --- one call ----------------------------------------------------------------------------------
    def call(self, name: str, **args: Any) -> str | list[tuple[str, Any]]:
        """Send one API call; return its `<Response>` as text or a list of (tag, record) pairs."""
        label = " ".join([name, *(f"{k}={v}" for k, v in args.items())])
        params = {**self._credentials, "apiType": self.api_type, "call": name, **args}
        try:
            response = self.http.get(self.api_url, params=params)
        except requests.RequestException as exc:
            raise PinnacleCartError(
                label, type(exc).__name__, "check SOURCES__PINNACLE_CART__API_URL is reachable"
            ) from None
        if 300 <= response.status_code < 400:
            raise PinnacleCartError(
                label,
                f"unexpected redirect (HTTP {response.status_code})",
                "set SOURCES__PINNACLE_CART__API_URL to the final https:// address of index.php",
            )
        body = self._decode(response, label)
        if isinstance(body, list) and body and body[0][0] == "Error":
            message = str(body[0][1])[:200]
            raise PinnacleCartError(label, f"the API answered: {message}", _fix_for_error(message))
        if response.status_code >= 400:
            raise PinnacleCartError(label, answered(response), _fix_for(response))
        return body

    def _decode(self, response: requests.Response, label: str) -> str | list[tuple[str, Any]]:
        try:
            if self.api_type == "json":
                try:
                    return from_json(response.json())
                except ValueError as exc:
                    if isinstance(exc, PayloadError):
                        raise
                    raise PayloadError(f"malformed JSON ({len(response.content)} bytes)") from None
            return parse_xml(response.content)
        except PayloadError as exc:
            if response.status_code >= 400:
                raise PinnacleCartError(label, answered(response), _fix_for(response)) from None
            raise PinnacleCartError(
                label,
                f"{exc} ({len(response.content)} bytes)",
                "retry later; report to the shop if it persists",
            ) from None

    # --- typed calls -------------------------------------------------------------------------------
    def version(self) -> str:
        """Return the shop's version (`GetVersion`): the cheap check that URL and credentials work."""
        return self.scalar("GetVersion")

    def count(self, name: str, **filters: Any) -> int:
        """Return a bare-number count reply (`GetOrderCount`, `GetCustomerCount`, `GetProductCount`)."""
        text = self.scalar(name, **filters)
        try:
            value = int(text)
        except ValueError:
            raise PinnacleCartError(
                name, f"the count is not a number: {text[:40]!r}", "report this to the shop"
            ) from None
        if not filters:
            self.counts[name] = value
        return value

    def scalar(self, name: str, **args: Any) -> str:
        body = self.call(name, **args)
        if not isinstance(body, str):
            raise PinnacleCartError(name, "expected a bare value, got records", "report this to the shop")
        return body

    def records(self, name: str, **args: Any) -> list[dict[str, Any]]:
        """Return the records of one call's reply (an empty `<Response/>` is no records)."""
        body = self.call(name, **args)
        if isinstance(body, str):
            if body:
                raise PinnacleCartError(
                    name, f"expected records, got the text {body[:40]!r}", "report this to the shop"
                )
            return []
        for tag, record in body:
            if not isinstance(record, dict):
                raise PinnacleCartError(name, f"a <{tag}> record has no fields", "report this to the shop")
        return [record for _, record in body]

    def offset_batches(
        self, name: str, count_call: str, batch_size: int, **filters: Any
    ) -> Iterator[list[dict[str, Any]]]:
        """Yield batches read with `StartNumber`/`BatchSize` until the API's own count is reached.

        The count is read first, so a shop that caps BatchSize below ours is still read to the end.
        An empty batch before the count is read again (with the count) and then fails the source,
        unless the count, read again, says the list ended there (records removed while paging).
        Records added while paging sort after the count and arrive next run.
        """
        total = self.count(count_call, **filters)
        start = 0
        seen: set[str] = set()
        guard = PageGuard(PinnacleCartError, VENDOR)
        while start < total:
            label = _label(name, filters, StartNumber=start)
            batch = read_full_page(
                partial(self.records, name, **filters, StartNumber=start, BatchSize=batch_size),
                partial(self._empty_before_count, start, count_call, filters),
                label,
                PinnacleCartError,
                VENDOR,
                self.http.policy,
            )
            if not batch:
                break
            guard.page(_keys(batch), label, total)
            fresh = _unseen(batch, seen)
            if fresh:
                yield fresh
            start += len(batch)

    def _empty_before_count(
        self, start: int, count_call: str, filters: dict[str, Any], batch: list[dict[str, Any]]
    ) -> str | None:
        """Say what is missing when a batch at `start` is empty though the count, read again, is higher."""
        if batch:
            return None
        total = self.count(count_call, **filters)
        return None if start >= total else f"empty batch though {count_call} says {total}"

    def filtered_batches(self, name: str, batch_size: int, **filters: Any) -> Iterator[list[dict[str, Any]]]:
        """Yield batches of a filtered read (`GetOrders LastDate=..`) until a batch shorter than asked.

        No count call first: a night makes only the calls the API forces. The doc names no maximum
        BatchSize, so a short batch is the last one (a shop that capped it below ours would end the read
        early; the periodic full read, which pages to the API's own count, brings the rest).
        """
        start = 0
        seen: set[str] = set()
        guard = PageGuard(PinnacleCartError, VENDOR)
        while True:
            batch = self.records(name, **filters, StartNumber=start, BatchSize=batch_size)
            guard.page(_keys(batch), _label(name, filters, StartNumber=start))
            fresh = _unseen(batch, seen)
            if fresh:
                yield fresh
            if len(batch) < batch_size:
                return
            start += len(batch)

    def batches_until_empty(
        self, name: str, batch_size: int, known_total: int | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """Yield batches read with `StartNumber`/`BatchSize` for a call that has no count of its own.

        The read ends with an empty batch or, when a related count read this run is given as
        `known_total` (`GetInventory` lists the products `GetProductCount` counted), once that many are
        read: one call fewer a night. Records added after that count arrive next run, as with counts.
        """
        start = 0
        guard = PageGuard(PinnacleCartError, VENDOR)
        while known_total is None or start < known_total:
            batch = self.records(name, StartNumber=start, BatchSize=batch_size)
            if not batch:
                return
            guard.page(_keys(batch), _label(name, {}, StartNumber=start), known_total)
            yield batch
            start += len(batch)

    def product_batches(self, batch_size: int) -> Iterator[list[dict[str, Any]]]:
        """Yield every product, `BatchSize`/`BatchPage` at a time (StartNumber is deprecated).

        Pages are numbered, not offset, so a short page before the count would skip the products after
        it: it is read again (with the count) and then fails the source.
        """
        total = self.count("GetProductCount")
        page, read = settings.FIRST_BATCH_PAGE, 0
        seen: set[str] = set()
        guard = PageGuard(PinnacleCartError, VENDOR)
        while read < total:
            label = _label("GetProducts", {}, BatchPage=page)
            batch = read_full_page(
                partial(
                    self.records,
                    "GetProducts",
                    PrimaryCategory=settings.ALL_CATEGORIES,
                    BatchSize=batch_size,
                    BatchPage=page,
                ),
                partial(self._short_product_page, read, batch_size),
                label,
                PinnacleCartError,
                VENDOR,
                self.http.policy,
            )
            if not batch:
                break
            guard.page(_keys(batch), label, total)
            fresh = _unseen(batch, seen)
            if fresh:
                yield fresh
            read += len(batch)
            page += 1

    def _short_product_page(self, read: int, batch_size: int, batch: list[dict[str, Any]]) -> str | None:
        if len(batch) >= batch_size:
            return None
        total = self.count("GetProductCount")
        if read + len(batch) >= total:
            return None
        return (
            f"{len(batch)} products in a page of {batch_size} though GetProductCount says {total} and "
            f"{read} were read before it (if the shop caps BatchSize, set batch_size to that cap)"
        )


VENDOR = "the shop"
KEY_FIELDS = ("OrderId", "UserId", "PID")


def _keys(batch: list[dict[str, Any]]) -> list[str | None]:
    """Return each record's key (`OrderId`, `UserId` or `PID`), for telling a repeated page."""
    return [record_key(r) for r in batch]


def _label(name: str, filters: dict[str, Any], **position: Any) -> str:
    """Return how errors name a call: `GetOrders LastOrder=1234 StartNumber=500` (never the URL)."""
    return " ".join([name, *(f"{k}={v}" for k, v in {**filters, **position}.items())])


def _unseen(batch: list[dict[str, Any]], seen: set[str]) -> list[dict[str, Any]]:
    """Keep one copy per record (the last in a batch) and drop records already read in this pass: when
    the list shifts while we page, or the shop lists a record twice, its child rows must load once."""
    return drop_repeats(batch, seen, record_key)


def record_key(record: dict[str, Any]) -> str | None:
    """Return `OrderId=..`, `UserId=..` or `PID=..`: the key of any record this API lists."""
    return next((f"{f}={record[f]}" for f in KEY_FIELDS if record.get(f) not in (None, "")), None)


def _fix_for_error(message: str) -> str:
    """Return the fix for an error reply: the doc lists no error codes, so go by the words in it."""
    if any(word in message.lower() for word in ("user", "password", "token", "credential", "login", "auth")):
        return settings.CREDENTIALS_FIX
    return "check the call's arguments against the API doc; report to the shop if they are right"


def _fix_for(response: requests.Response) -> str:
    if response.status_code in (401, 403) or response.status_code < 400:
        return settings.CREDENTIALS_FIX
    if response.status_code == 404:
        return "check SOURCES__PINNACLE_CART__API_URL ends in /content/admin/plugins/openapi/index.php"
    return "retry later; report to the shop if it persists"
