"""The one error type of the sources, the words its lines use, and exceptions stripped of secrets."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from http import HTTPStatus
from typing import Any, ParamSpec, TypeVar
from urllib.parse import parse_qsl, urlsplit

import requests

from sources.http.redaction import redact


class SourceError(Exception):
    """An expected failure of one source: one readable line naming the source, the call and the fix."""

    def __init__(self, source: str, call: str, problem: str, fix: str = "") -> None:
        self.source, self.call, self.problem, self.fix = source, call, problem, fix
        super().__init__(str(self))

    def __str__(self) -> str:
        line = f"{self.source}: {self.call}: {self.problem}"
        if self.fix:
            line += f" (fix: {self.fix})"
        return redact(line)


class ConfigError(SourceError):
    """A missing or invalid configuration value."""


P = ParamSpec("P")
T = TypeVar("T")


def redact_errors(resource: Callable[P, Iterator[T]]) -> Callable[P, Iterator[T]]:
    """Decorate a resource so that no exception leaves it with a secret in it.

    dlt records the whole exception chain of a failed run (`__cause__` and `__context__`, even under
    `raise .. from None`) in its trace, pickled into the working directory; a requests exception there
    carries the full URL, and Pinnacle Cart's and Plugivery's credentials ride in URLs. So whatever
    escapes the resource is redacted in place by `redact_exception` before dlt sees it.
    """

    @functools.wraps(resource)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> Iterator[T]:
        try:
            yield from resource(*args, **kwargs)
        except Exception as exc:
            redact_exception(exc)
            raise

    return guarded


def redact_exception(exc: BaseException) -> BaseException:
    """Redact `exc` in place all the way down its chain: message, args, attributes, cause and context.

    A `SourceError` keeps no chain at all: its one line already says what went wrong. Any other exception
    keeps its chain (a bug needs it), every text in it redacted and every request/response object dropped.
    """
    pending: list[BaseException] = [exc]
    seen: set[int] = set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        current.args = tuple(_redacted(arg, pending) for arg in current.args)
        for name, value in list(vars(current).items()):
            setattr(current, name, _redacted(value, pending))
        if isinstance(current, OSError):
            for name in ("strerror", "filename", "filename2"):
                if isinstance(getattr(current, name), str):
                    setattr(current, name, redact(getattr(current, name)))
        if isinstance(current, SourceError):
            current.__cause__ = current.__context__ = None
        else:
            pending += [e for e in (current.__cause__, current.__context__) if e is not None]
    return exc


def _redacted(value: Any, pending: list[BaseException]) -> Any:
    """Return `value` with secrets masked; queue exceptions for `redact_exception`, drop other objects."""
    if isinstance(value, BaseException):
        pending.append(value)
        return value
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, bytes):
        return redact(value.decode("utf-8", "replace")).encode()
    if isinstance(value, list | tuple):
        items = [_redacted(item, pending) for item in value]
        return tuple(items) if isinstance(value, tuple) else items
    # Requests, responses, connection pools: they hold URLs, bodies and headers; an error needs none.
    return None


def host_of(url: str) -> str:
    """Return `host[:port]` of a URL: what error lines name (never the user:password@ part)."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{host}:{port}" if port else host


def answered(response: requests.Response) -> str:
    """Return `HTTP 401 Unauthorized from host:port`: what an error line says about an HTTP reply."""
    return f"{status_text(response.status_code)} from {host_of(str(response.url))}"


def status_text(status: int) -> str:
    """Return `HTTP 503 Service Unavailable`: the status and what it means."""
    try:
        return f"HTTP {status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP {status}"


def describe(request: requests.PreparedRequest | requests.Request, call_param: str = "") -> str:
    """Return `METHOD /path` of a request: what error lines name as the call (no host, no query).

    APIs with one URL for everything name the call in a query parameter (`call_param`, e.g. Pinnacle
    Cart's `call`): then it is `GET /index.php call=GetOrders`.
    """
    parts = urlsplit(str(request.url))
    named = dict(parse_qsl(parts.query)).get(call_param, "") if call_param else ""
    return f"{request.method} {parts.path}" + (f" {call_param}={redact(named)}" if named else "")
