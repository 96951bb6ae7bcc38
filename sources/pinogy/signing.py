"""Pinogy's request signing: `accesskey`, `timestamp` and an HMAC `signature` on every request.

The signature is base64(HMAC-SHA256(secret key, percent-quoted URL path + timestamp)); GET requests carry
the fields in the query, POST requests in the form body. A logged-in session adds `session`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime
from urllib.parse import quote, urlencode, urlsplit

import requests
from requests.auth import AuthBase


def signature(secret_key: str, path: str, timestamp: str) -> str:
    """Return base64(HMAC-SHA256(secret_key, percent-quoted URL path + timestamp))."""
    message = (quote(path) + timestamp).encode()
    return base64.b64encode(hmac.new(secret_key.encode(), message, hashlib.sha256).digest()).decode()


def utc_timestamp(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")


class PinogySigner(AuthBase):
    """Sign a request: `accesskey`, `timestamp`, `signature` (and `session`) in the query or POST form."""

    def __init__(self, access_key: str, secret_key: str) -> None:
        self.access_key, self.secret_key = access_key, secret_key
        self.session_token: str | None = None

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        stamp = utc_timestamp()
        fields = {
            "accesskey": self.access_key,
            "timestamp": stamp,
            "signature": signature(self.secret_key, urlsplit(str(request.url)).path, stamp),
        }
        if self.session_token:
            fields["session"] = self.session_token
        if request.method == "POST":
            body = request.body or ""
            body = body.decode() if isinstance(body, bytes) else body
            request.body = "&".join(part for part in (body, urlencode(fields)) if part)
            request.headers["Content-Type"] = "application/x-www-form-urlencoded"
            request.prepare_content_length(request.body)
        else:
            request.prepare_url(str(request.url), fields)
        return request
