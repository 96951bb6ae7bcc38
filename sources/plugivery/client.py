"""Plugivery's quirks: the token in the query string, an envelope whose `error` is the truth, read quotas."""

from __future__ import annotations

import logging
from typing import Any

from sources.http import (
    CallCounter,
    RetryingSession,
    SourceError,
    answered,
    register_secret,
    require_secure_url,
)
from sources.plugivery import settings

log = logging.getLogger("retail.plugivery")


class PlugiveryError(SourceError):
    """Any expected failure talking to Plugivery; `code` is the envelope's error code (0 when none)."""

    def __init__(self, call: str, problem: str, fix: str = "", code: int = 0) -> None:
        super().__init__(settings.SOURCE_NAME, call, problem, fix)
        self.code = code


class QuotaExhausted(PlugiveryError):
    """472/473/474: stop calling for tonight; what was loaded stays, the queue waits for the next run."""


class PlugiveryClient:
    def __init__(self, api_url: str, token: str, counter: CallCounter | None = None) -> None:
        register_secret(token)
        self.api_url = require_secure_url(settings.SOURCE_NAME, api_url, "SOURCES__PLUGIVERY__API_URL") + "/"
        self.token = token
        self.http = RetryingSession(
            settings.SOURCE_NAME, url_key="SOURCES__PLUGIVERY__API_URL", call_param="act", counter=counter
        )
        self.reads = 0  # reads spent by this client (counted on every answered read action)
        self.server_now: int | None = None

    @property
    def calls(self) -> int:
        return self.http.calls

    def call(self, act: str, **params: Any) -> Any:
        """Return the envelope's `data` for `act`; `[]` for 462 "No Result"; raise on any other error."""
        described = f"act={act}" + "".join(f" {k}={v}" for k, v in params.items())
        response = self.http.get(self.api_url, params={"token": self.token, "act": act, **params})
        if act in settings.READ_ACTIONS:
            self.reads += 1
        try:
            envelope = response.json()
        except ValueError:
            if response.status_code >= 400:  # not the API answering: a proxy or a server in front of it
                problem, fix = settings.ERRORS.get(response.status_code, ("unexpected reply", "report this"))
                raise PlugiveryError(described, f"{problem} ({answered(response)})", fix) from None
            raise PlugiveryError(
                described,
                f"malformed JSON in the reply (HTTP {response.status_code}, {len(response.content)} bytes)",
                "retry later; report to Plugivery if it persists",
            ) from None
        if not isinstance(envelope, dict) or "error" not in envelope or "data" not in envelope:
            raise PlugiveryError(
                described, "reply is not the catalog API's envelope", "check SOURCES__PLUGIVERY__API_URL"
            )
        if isinstance(envelope.get("now"), int | float):
            self.server_now = int(envelope["now"])
        try:
            code = int(envelope["error"])
        except (TypeError, ValueError):
            raise PlugiveryError(
                described, f"unreadable error code {str(envelope['error'])[:20]!r}", "report this"
            ) from None
        if code == 0:
            return envelope["data"]
        if code == settings.NO_RESULT:
            return []
        problem, fix = settings.ERRORS.get(code, (f"unknown error code {code}", "report this to Plugivery"))
        error_cls = QuotaExhausted if code in settings.QUOTA_ERRORS else PlugiveryError
        raise error_cls(described, f"{problem} (error {code})", fix, code)

    def info(self) -> dict[str, Any]:
        data = self.call("info")
        return data if isinstance(data, dict) else {}


def as_records(data: Any, call: str, key: str = "id") -> list[dict[str, Any]]:
    """Return `data` as a list of records that all carry `key`, or raise a clear error."""
    records = data if isinstance(data, list) else [data] if isinstance(data, dict) and data else []
    for record in records:
        if not isinstance(record, dict) or record.get(key) in (None, ""):
            raise PlugiveryError(call, f"a record in the reply has no {key!r}", "report this to Plugivery")
    return records
