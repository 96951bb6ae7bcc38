"""Pinnacle Cart's quirks: credentials in the query string, XML (or JSON) replies, offset/page batches.

Every call is `GET {api_url}?username=..&password=..&token=..&apiType=xml&call=<Call>&<args>`. The
credentials are registered with `redact`, and errors name the call (`GetOrders StartNumber=500`), never
the URL. The doc does not describe an error reply; we accept both an HTTP error status and an HTTP 200
whose `<Response>` holds an `<Error>` element (JSON: `{"Error": ".."}`), which is what the simulator sends.
"""

from __future__ import annotations

import logging
from typing import Any

import requests

from sources.http import (
    CallCounter,
    RetryingSession,
    answered,
    register_secret,
    require_secure_url,
)
from sources.pinnacle_cart import settings
from sources.pinnacle_cart.batches import BatchReads, record_key
from sources.pinnacle_cart.errors import PinnacleCartError, fix_for, fix_for_error
from sources.pinnacle_cart.payload import PayloadError, from_json, parse_xml

__all__ = ["PinnacleCartClient", "PinnacleCartError", "record_key"]

log = logging.getLogger("retail.pinnacle_cart")


class PinnacleCartClient(BatchReads):
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
            raise PinnacleCartError(label, f"the API answered: {message}", fix_for_error(message))
        if response.status_code >= 400:
            raise PinnacleCartError(label, answered(response), fix_for(response))
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
                raise PinnacleCartError(label, answered(response), fix_for(response)) from None
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
