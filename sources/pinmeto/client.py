"""PinMeTo's quirks: a client-credentials token cached for its hour, cursor pages, a rate limit to wait out.

dlt's `OAuth2ClientCredentials` refreshes on its own clock but not on a 401, and would need its token
request rebuilt for HTTP Basic; the token logic here is a dozen lines, so it lives in `TokenCache`.
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import requests

from sources.http import (
    CallCounter,
    RetryingSession,
    RetryPolicy,
    SourceError,
    answered,
    host_of,
    pause,
    register_secret,
    require_secure_url,
)
from sources.paging import PageGuard
from sources.pinmeto import settings

log = logging.getLogger("retail.pinmeto")


class PinmetoError(SourceError):
    """Any expected failure talking to PinMeTo."""

    def __init__(self, call: str, problem: str, fix: str = "") -> None:
        super().__init__(settings.SOURCE_NAME, call, problem, fix)


class TokenCache:
    """One bearer token, reused until shortly before it expires or until the API rejects it."""

    def __init__(
        self, fetch: Callable[[], tuple[str, float]], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._fetch, self._clock = fetch, clock
        self._token: str | None = None
        self._expires_at = 0.0

    def get(self) -> str:
        if self._token is None or self._clock() >= self._expires_at - settings.TOKEN_RENEW_MARGIN_SECONDS:
            self._token, lifetime = self._fetch()
            self._expires_at = self._clock() + lifetime
        return self._token

    def invalidate(self) -> None:
        self._token = None


class PinmetoClient:
    def __init__(
        self,
        api_url: str,
        account_id: str,
        app_id: str,
        app_secret: str,
        max_rate_limit_wait: float = settings.DEFAULT_MAX_RATE_LIMIT_WAIT_SECONDS,
        sleep: Callable[[float], None] = pause,
        counter: CallCounter | None = None,
    ) -> None:
        for secret in (app_id, app_secret):
            register_secret(secret)
        self.api_url = require_secure_url(settings.SOURCE_NAME, api_url, "SOURCES__PINMETO__API_URL")
        self.account_id = account_id
        self._basic = "Basic " + base64.b64encode(f"{app_id}:{app_secret}".encode()).decode()
        register_secret(self._basic.split(" ", 1)[1])
        policy = RetryPolicy.from_config()
        # 429 is not retried blindly here: PinMeTo says when its quota resets, and we wait for that.
        policy.statuses = frozenset(policy.statuses - {429})
        self.http = RetryingSession(
            settings.SOURCE_NAME, policy, url_key="SOURCES__PINMETO__API_URL", counter=counter
        )
        self.tokens = TokenCache(self._fetch_token)
        self.max_rate_limit_wait = max_rate_limit_wait
        self._sleep = sleep
        self._reset_at: float | None = None

    @property
    def calls(self) -> int:
        return self.http.calls

    def _fetch_token(self) -> tuple[str, float]:
        call = f"POST {settings.TOKEN_PATH}"
        response = self._send(
            "POST",
            f"{self.api_url}{settings.TOKEN_PATH}",
            call,
            headers={"Authorization": self._basic, "Content-Type": "application/x-www-form-urlencoded"},
            data="grant_type=client_credentials",
        )
        if response.status_code in (400, 401, 403):
            raise PinmetoError(
                call,
                f"token refused ({answered(response)})",
                "check SOURCES__PINMETO__APP_ID and SOURCES__PINMETO__APP_SECRET",
            )
        body = _json(response, call)
        token = body.get("access_token") if isinstance(body, dict) else None
        if not token:
            raise PinmetoError(call, "token reply carries no access_token", "check SOURCES__PINMETO__API_URL")
        register_secret(token)
        return str(token), float(body.get("expires_in") or 3600)

    def location_pages(self, page_size: int = settings.MAX_PAGE_SIZE) -> Iterator[list[dict[str, Any]]]:
        """Yield every page of locations, following `paging.next` (or `nextUrl`) on our host only."""
        path = settings.LOCATIONS_PATH.format(account_id=self.account_id)
        size = min(page_size, settings.MAX_PAGE_SIZE)
        url: str | None = f"{self.api_url}{path}?pagesize={size}"
        call = f"GET {path}"
        seen: set[str] = set()
        # No total to count against: a next link already followed, a repeated page or a run of empty
        # pages is what tells a loop (one self-linking empty page once made 17,531 calls in 20 s).
        guard = PageGuard(PinmetoError, "PinMeTo")
        while url:
            guard.follow(url, call)
            body = self._get_json(url, call)
            data = body.get("data") if isinstance(body, dict) else None
            if not isinstance(data, list):
                raise PinmetoError(call, "reply has no data list", "report this to PinMeTo")
            guard.page([r.get("storeId") if isinstance(r, dict) else None for r in data], call)
            for record in data:
                if not isinstance(record, dict) or not record.get("storeId"):
                    raise PinmetoError(call, "a location in the page has no storeId", "report it to PinMeTo")
                seen.add(str(record["storeId"]))  # a store listed twice is kept once by the resource
            if data:
                yield data
            paging = body.get("paging") or {}
            url = paging.get("next") or paging.get("nextUrl")
            if url:
                self._check_same_origin(url, call)
                if "pagesize=" not in url:  # the doc's next URLs carry only the cursor
                    url += f"&pagesize={size}"
        if not seen:
            # A full read that finds nothing would retire every store: more likely a wrong account id.
            raise PinmetoError(
                call,
                "the API returned no locations; refusing to mark every store as gone",
                "check SOURCES__PINMETO__ACCOUNT_ID",
            )

    def _check_same_origin(self, url: str, call: str) -> None:
        ours, theirs = urlsplit(self.api_url), urlsplit(url)
        if (theirs.scheme, theirs.netloc) != (ours.scheme, ours.netloc):
            raise PinmetoError(
                call,
                f"the next-page URL points at {theirs.scheme}://{theirs.netloc}, not the API",
                "refusing to send the token elsewhere; report this to PinMeTo",
            )

    def _get_json(self, url: str, call: str) -> Any:
        for attempt in range(2):
            response = self._send("GET", url, call, headers={"Authorization": f"Bearer {self.tokens.get()}"})
            if response.status_code == 401 and attempt == 0:
                log.info("pinmeto: %s: token rejected (401); fetching a new one and retrying once", call)
                self.tokens.invalidate()
                continue
            if response.status_code == 401:
                raise PinmetoError(
                    call,
                    f"a fresh token was rejected too ({answered(response)})",
                    "check SOURCES__PINMETO__ACCOUNT_ID and the app's access to it",
                )
            if response.status_code == 403:
                raise PinmetoError(
                    call,
                    f"access denied ({answered(response)})",
                    "check SOURCES__PINMETO__ACCOUNT_ID and that the app may read its locations",
                )
            return _json(response, call)
        raise AssertionError("unreachable")

    def _send(self, method: str, url: str, call: str, **kwargs: Any) -> requests.Response:
        """Send, waiting out the rate limit: once the quota is spent (remaining 0) or after a 429."""
        for _ in range(settings.MAX_RATE_LIMITED_ATTEMPTS):
            if self._reset_at is not None:
                self._wait_until(self._reset_at, call)
                self._reset_at = None
            response = self.http.request(method, url, **kwargs)
            if response.status_code == 429 or response.headers.get("x-ratelimit-remaining") == "0":
                # At least a second: a reset already past (clock skew) must not make us hammer the API.
                self._reset_at = max(_reset_time(response), time.time() + 1)
            if response.status_code != 429:
                return response
        raise PinmetoError(
            call,
            f"still rate limited (HTTP 429) by {host_of(url)} "
            f"after {settings.MAX_RATE_LIMITED_ATTEMPTS} waits",
            "run later; another integration may be using this account's quota",
        )

    def _wait_until(self, moment: float, call: str) -> None:
        wait = max(0.0, moment - time.time())
        if wait > self.max_rate_limit_wait:
            raise PinmetoError(
                call,
                f"rate limit spent; it resets in {wait:.0f}s, more than the "
                f"{self.max_rate_limit_wait:.0f}s we may wait",
                "run later, or raise max_rate_limit_wait in [sources.pinmeto]",
            )
        log.warning("pinmeto: %s: rate limit spent; waiting %.0fs for it to reset", call, wait)
        self._sleep(wait)


def _reset_time(response: requests.Response) -> float:
    """Return when the quota resets (epoch seconds): `x-ratelimit-reset`, else `Retry-After`."""
    try:
        return float(response.headers["x-ratelimit-reset"])
    except (KeyError, ValueError):
        try:
            return time.time() + float(response.headers.get("Retry-After") or 60)
        except ValueError:
            return time.time() + 60


def _json(response: requests.Response, call: str) -> Any:
    if response.status_code >= 300:
        raise PinmetoError(call, f"unexpected {answered(response)}", "report this to PinMeTo if it persists")
    try:
        return response.json()
    except ValueError:
        raise PinmetoError(
            call,
            f"malformed JSON in the reply ({len(response.content)} bytes)",
            "retry later; report to PinMeTo if it persists",
        ) from None
