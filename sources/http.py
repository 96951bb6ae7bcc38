"""What all four sources share: one retrying HTTP session factory, one redaction function, one error type.

dlt's own `dlt.sources.helpers.requests.Client` retries too, but without jitter, without a bound on the
total time spent retrying and without telling anyone it retried; a nightly job sharing an API with a
shop's own integrations needs all three, so `RetryingSession` does the loop itself (honouring
`Retry-After` like dlt's) and plugs into dlt's `RESTClient` as its session.
"""

from __future__ import annotations

import ipaddress
import logging
import random
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import dlt
import requests
from dlt.common.runtime import signals

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


_deferred: dict[str, str] = {}


def report_deferred(source: str, reason: str) -> None:
    """Say that `source` stopped early on purpose (e.g. a spent quota): its run is deferred, not failed."""
    with _calls_lock:
        _deferred[source] = reason


def take_deferred(source: str) -> str | None:
    """Return and forget why `source` deferred in this process, or None."""
    with _calls_lock:
        return _deferred.pop(source, None)


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
    credentials ride in query strings. Each attempt counts as one API call in `calls`.
    """

    def __init__(self, source: str, policy: RetryPolicy | None = None, timeout: float | None = None) -> None:
        super().__init__()
        self.source = source
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
            try:
                response = super().send(request, **kwargs)
            except (requests.ConnectionError, requests.Timeout) as exc:
                problem = f"{type(exc).__name__}"
                if attempt >= self.policy.max_attempts:
                    raise SourceError(
                        self.source,
                        describe(request),
                        f"{problem} after {attempt} attempts",
                        "check the API host is reachable, or raise the retry limits",
                    ) from None
            else:
                if response.status_code not in self.policy.statuses:
                    return response
                problem = f"HTTP {response.status_code}"
                if attempt >= self.policy.max_attempts:
                    return response  # the caller maps the final status to its own error
            wait = self.policy.delay(attempt, response)
            if time.monotonic() - started + wait > self.policy.total_seconds:
                if response is not None:
                    return response
                raise SourceError(
                    self.source,
                    describe(request),
                    f"{problem}; gave up after {self.policy.total_seconds:.0f}s of retries",
                    "try again later",
                )
            log.warning(
                "%s: %s: %s; retry %d/%d in %.1fs",
                self.source,
                describe(request),
                problem,
                attempt,
                self.policy.max_attempts - 1,
                wait,
            )
            # The same signed request goes again: signatures stay valid for minutes, retries take seconds.
            pause(wait)


def pause(seconds: float) -> None:
    """Wait `seconds`, or less: a stop signal (SIGTERM/SIGINT during a run) ends the wait and the source."""
    signals.raise_if_signalled()
    signals.sleep(seconds)
    signals.raise_if_signalled()


def describe(request: requests.PreparedRequest | requests.Request) -> str:
    """Return `METHOD /path` of a request: what error lines name as the call (no host, no query)."""
    return f"{request.method} {urlsplit(str(request.url)).path}"


def safe_params(params: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """Return params with secret fields masked, for recording what was asked."""
    return {k: (REDACTED if k.lower() in SECRET_FIELD_NAMES else v) for k, v in params}
