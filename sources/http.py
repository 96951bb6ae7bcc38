"""What all four sources share: one retrying HTTP session factory, one redaction function, one error type.

dlt's own `dlt.sources.helpers.requests.Client` retries too, but without jitter, without a bound on the
total time spent retrying and without telling anyone it retried; a nightly job sharing an API with a
shop's own integrations needs all three, so `RetryingSession` does the loop itself (honouring
`Retry-After` like dlt's) and plugs into dlt's `RESTClient` as its session.
"""

from __future__ import annotations

import functools
import http.client
import ipaddress
import logging
import random
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from typing import Any, ParamSpec, TypeVar
from urllib.parse import parse_qsl, urlsplit

import dlt
import requests
from dlt.common.runtime import signals
from urllib3 import exceptions as urllib3_errors

log = logging.getLogger("retail")

# Query/form/JSON field names whose values are secrets wherever they appear.
SECRET_FIELD_NAMES = (
    "password",
    "passwd",
    "token",
    "access_token",
    "accesskey",
    "access_key",
    "secret",
    "secret_key",
    "app_secret",
    "signature",
    "session",
    "api_key",
    "apikey",
    "client_secret",
)
_FIELD_PATTERN = re.compile(
    r"(?i)(?P<name>\b(?:"
    + "|".join(SECRET_FIELD_NAMES)
    # `name=value` (query, form) or a quoted JSON/dict key: `"name": "value"`, `'name': 'value'`.
    + r"))(?P<sep>=|\"\s*:\s*\"?|'\s*:\s*'?)(?P<value>[^&\s\"',}]+)"
)
_AUTH_HEADER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+")
REDACTED = "***"

_secrets: set[str] = set()
_secrets_lock = threading.Lock()
_calls: dict[str, int] = {}
_calls_lock = threading.Lock()


def api_calls(source: str) -> int:
    """Return how many HTTP requests (retries included) sessions of `source` have sent in this process."""
    with _calls_lock:
        return _calls.get(source, 0)


def register_secret(value: str | None) -> None:
    """Remember a secret value so `redact` removes it from any text, however it got there."""
    if value and len(str(value)) >= 4:
        with _secrets_lock:
            _secrets.add(str(value))


def redact(text: object) -> str:
    """Return `text` with every known secret value, secret query/form field and auth header masked."""
    out = str(text)
    with _secrets_lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        if secret in out:
            out = out.replace(secret, REDACTED)
    out = _FIELD_PATTERN.sub(lambda m: f"{m['name']}{m['sep']}{REDACTED}", out)
    return _AUTH_HEADER.sub(lambda m: f"{m.group(1)} {REDACTED}", out)


class RedactingFilter(logging.Filter):
    """Log filter that redacts the fully formatted message (args included) of every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            # Tracebacks carry exception text verbatim; keep the type, drop the (possibly secret) detail.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


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


def require_secure_url(source: str, url: str, config_key: str) -> str:
    """Return `url` without a trailing slash, refusing plain HTTP to anything but a loopback host."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            source,
            "config",
            f"{config_key} is not an http(s) URL: {url!r}",
            f"set {config_key} to the API's https:// address",
        )
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ConfigError(
            source,
            "config",
            f"{config_key} uses plain http for {parts.hostname}",
            "use https:// (plain http is only allowed for 127.0.0.1/localhost simulators)",
        )
    return url.rstrip("/")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass
class RetryPolicy:
    """Exponential backoff with full jitter, bounded in attempts and in total seconds."""

    max_attempts: int = 6
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    total_seconds: float = 300.0
    statuses: frozenset[int] = field(default_factory=lambda: frozenset({429, 500, 502, 503, 504}))

    @classmethod
    def from_config(cls) -> RetryPolicy:
        """Read dlt's `[runtime]` request keys (`request_max_attempts`, `request_backoff_factor`,
        `request_max_retry_delay`) plus our `request_max_total_seconds`, falling back to the defaults."""
        defaults = cls()
        return cls(
            max_attempts=int(_runtime("request_max_attempts", defaults.max_attempts)),
            backoff_base=float(_runtime("request_backoff_factor", defaults.backoff_base)),
            backoff_max=float(_runtime("request_max_retry_delay", defaults.backoff_max)),
            total_seconds=float(_runtime("request_max_total_seconds", defaults.total_seconds)),
        )

    def delay(self, attempt: int, response: requests.Response | None) -> float:
        retry_after = _retry_after_seconds(response) if response is not None else None
        if retry_after is not None:
            return min(retry_after, self.backoff_max)
        return random.uniform(0, min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1)))


def _runtime(key: str, default: Any) -> Any:
    value: Any = dlt.config.get(f"runtime.{key}")
    return default if value is None else value


def _retry_after_seconds(response: requests.Response) -> float | None:
    header = response.headers.get("Retry-After")
    if not header:
        return None
    try:
        return max(0.0, float(header))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(header).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


class RetryingSession(requests.Session):
    """A `requests.Session` with timeouts, bounded jittered retries, no redirects and a call counter.

    Redirects are refused rather than followed: a redirect may point at another host, and this API's
    credentials ride in query strings. Each attempt counts as one API call in `calls`. A request that
    cannot get an answer, or whose answer stays 429/5xx through every retry, ends in one `SourceError`
    naming the host, the cause and the settings to change; `url_key` is the setting holding the API's URL.
    """

    def __init__(
        self,
        source: str,
        policy: RetryPolicy | None = None,
        timeout: float | None = None,
        url_key: str = "the API URL",
        call_param: str = "",
    ) -> None:
        super().__init__()
        self.source, self.url_key, self.call_param = source, url_key, call_param
        self.policy = policy or RetryPolicy.from_config()
        self.timeout = timeout if timeout is not None else float(_runtime("request_timeout", 60.0))
        self.calls = 0

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs["allow_redirects"] = False
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            self.calls += 1
            with _calls_lock:
                _calls[self.source] = _calls.get(self.source, 0) + 1
            response: requests.Response | None = None
            failure: NetworkFailure | None = None
            try:
                response = super().send(request, **kwargs)
            except requests.RequestException as exc:
                failure = network_failure(exc, kwargs["timeout"])
            # Raised out here, not inside `except`: the requests exception (its text holds the whole URL,
            # credentials included) must not ride along as the error's `__context__`.
            if failure is not None:
                if not failure.retry or attempt >= self.policy.max_attempts:
                    raise self._unreachable(request, failure, attempt)
                problem = failure.cause
            else:
                assert response is not None
                if response.status_code not in self.policy.statuses:
                    return response
                problem = status_text(response.status_code)
                retry_after = _retry_after_seconds(response)
                if retry_after is not None and retry_after > self.policy.backoff_max:
                    raise self._refused(
                        request,
                        response,
                        attempt,
                        f"it asks us to wait {retry_after:.0f}s, longer than the "
                        f"{self.policy.backoff_max:.0f}s we may wait",
                    )
                if attempt >= self.policy.max_attempts:
                    raise self._refused(request, response, attempt, f"on all {attempt} attempts")
            wait = self.policy.delay(attempt, response)
            elapsed = time.monotonic() - started
            if elapsed + wait > self.policy.total_seconds:
                budget = self.policy.total_seconds
                spent = f"after {attempt} attempts in {elapsed:.0f}s (the retry budget is {budget:.0f}s)"
                if response is not None:
                    raise self._refused(request, response, attempt, spent)
                raise self._unreachable(request, failure or NetworkFailure(problem, True), attempt, spent)
            log.warning(
                "%s: %s: %s: %s; retry %d/%d in %.1fs",
                self.source,
                describe(request, self.call_param),
                host_of(str(request.url)),
                problem,
                attempt,
                self.policy.max_attempts - 1,
                wait,
            )
            # The same signed request goes again: signatures stay valid for minutes, retries take seconds.
            pause(wait)

    def _unreachable(
        self, request: requests.PreparedRequest, failure: NetworkFailure, attempt: int, spent: str = ""
    ) -> SourceError:
        """Return the error for a request that got no answer: host, cause, attempts and what to change."""
        if not failure.retry:
            tries = "not retried"
        else:
            tries = spent or f"after {attempt} attempt{'s' if attempt > 1 else ''}"
        if failure.fix:
            fix = failure.fix.format(url_key=self.url_key)
        elif failure.timed_out:
            fix = (
                f"if the API is just slow, raise [runtime] request_timeout (now {_seconds(self.timeout)}) "
                f"or request_max_attempts (now {self.policy.max_attempts})"
            )
        else:
            fix = (
                f"check {self.url_key} and that the API is up; [runtime] request_max_attempts "
                f"(now {self.policy.max_attempts}) and request_max_total_seconds "
                f"(now {self.policy.total_seconds:.0f}) set how long we retry"
            )
        return SourceError(
            self.source,
            describe(request, self.call_param),
            f"{host_of(str(request.url))}: {failure.cause} ({tries})",
            fix,
        )

    def _refused(
        self, request: requests.PreparedRequest, response: requests.Response, attempt: int, how: str
    ) -> SourceError:
        """Return the error for a 429/5xx that outlasted the retries: the host, the status, how long."""
        host = host_of(str(request.url))
        if response.status_code == 429:
            return SourceError(
                self.source,
                describe(request, self.call_param),
                f"{host}: rate limited, {status_text(429)} ({how})",
                "run later (another integration may be using the same quota), or raise [runtime] "
                f"request_max_retry_delay (now {self.policy.backoff_max:.0f}), request_max_attempts "
                f"(now {self.policy.max_attempts}) or request_max_total_seconds "
                f"(now {self.policy.total_seconds:.0f})",
            )
        return SourceError(
            self.source,
            describe(request, self.call_param),
            f"{host}: {status_text(response.status_code)} ({how})",
            "the API is having trouble: run later, or raise [runtime] request_max_attempts "
            f"(now {self.policy.max_attempts}) or request_max_total_seconds "
            f"(now {self.policy.total_seconds:.0f})",
        )


def pause(seconds: float) -> None:
    """Wait `seconds`, or less: a stop signal (SIGTERM/SIGINT during a run) ends the wait and the source."""
    signals.raise_if_signalled()
    signals.sleep(seconds)
    signals.raise_if_signalled()


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
        return NetworkFailure(f"no connection within {_seconds(timeout)} (timeout)", timed_out=True)
    if find(requests.ReadTimeout, urllib3_errors.ReadTimeoutError, TimeoutError):
        return NetworkFailure(f"no reply within {_seconds(timeout)} (timeout)", timed_out=True)
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


def _seconds(timeout: Any) -> str:
    value = max(timeout) if isinstance(timeout, tuple) else timeout
    return f"{float(value):g}s"


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
