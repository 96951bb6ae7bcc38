"""Why a request got no answer, named from the exceptions requests and urllib3 chain together."""

from __future__ import annotations

import http.client
import socket
import ssl
from dataclasses import dataclass
from typing import Any

import requests
from urllib3 import exceptions as urllib3_errors


@dataclass(frozen=True)
class NetworkFailure:
    """Why a request got no answer, in words, and whether trying again can help."""

    cause: str
    retry: bool = True
    fix: str = ""  # with `{url_key}`; empty: the session's general advice
    timed_out: bool = False


def network_failure(exc: requests.RequestException, timeout: Any) -> NetworkFailure:
    """Name the cause of a failed request from the exceptions chained inside `exc`.

    A host name that does not resolve and a TLS failure are not retried: neither heals in the seconds
    retries take, and both are usually a wrong URL.
    """
    chain = _chain(exc)

    def find(*types: type[BaseException]) -> BaseException | None:
        return next((e for e in chain if isinstance(e, types)), None)

    if find(urllib3_errors.NameResolutionError, socket.gaierror):
        return NetworkFailure(
            "host name not found (DNS)", retry=False, fix="check the host name in {url_key}"
        )
    certificate = find(ssl.SSLCertVerificationError)
    if isinstance(certificate, ssl.SSLCertVerificationError):
        return NetworkFailure(
            f"TLS certificate problem: {certificate.verify_message or 'verification failed'}",
            retry=False,
            fix="check {url_key} names the API's host; a private CA's bundle goes in REQUESTS_CA_BUNDLE",
        )
    if find(requests.exceptions.SSLError, ssl.SSLError):
        return NetworkFailure(
            "TLS handshake failed", retry=False, fix="check {url_key}: https:// to a port that speaks TLS"
        )
    if find(
        requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema, requests.exceptions.MissingSchema
    ):
        return NetworkFailure("not a valid URL", retry=False, fix="check {url_key}")
    if find(ConnectionRefusedError):
        return NetworkFailure("connection refused")
    if find(requests.ConnectTimeout, urllib3_errors.ConnectTimeoutError):
        return NetworkFailure(f"no connection within {seconds_text(timeout)} (timeout)", timed_out=True)
    if find(requests.ReadTimeout, urllib3_errors.ReadTimeoutError, TimeoutError):
        return NetworkFailure(f"no reply within {seconds_text(timeout)} (timeout)", timed_out=True)
    if find(
        urllib3_errors.IncompleteRead, http.client.IncompleteRead, requests.exceptions.ChunkedEncodingError
    ):
        return NetworkFailure("the connection broke off in the middle of the reply")
    if find(http.client.RemoteDisconnected, ConnectionResetError, ConnectionAbortedError, BrokenPipeError):
        return NetworkFailure("the server closed the connection without answering")
    os_error = find(OSError)
    if isinstance(os_error, OSError) and os_error.strerror:
        return NetworkFailure(os_error.strerror.lower())
    return NetworkFailure(type(exc).__name__)


def _chain(exc: BaseException) -> list[BaseException]:
    """Return `exc` and every exception inside it: args, urllib3's `reason`, cause and context."""
    found: list[BaseException] = []
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop(0)
        if any(current is e for e in found):
            continue
        found.append(current)
        inner = [*current.args, getattr(current, "reason", None), current.__cause__, current.__context__]
        pending += [e for e in inner if isinstance(e, BaseException)]
    return found


def seconds_text(timeout: Any) -> str:
    """Return `60s`: a requests timeout (a number, or a (connect, read) pair) in words."""
    value = max(timeout) if isinstance(timeout, tuple) else timeout
    return f"{float(value):g}s"
