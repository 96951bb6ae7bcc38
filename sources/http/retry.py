"""The retrying session all four sources send through: timeouts, bounded jittered retries, a call count.

dlt's own `dlt.sources.helpers.requests.Client` retries too, but without jitter, without a bound on the
total time spent retrying and without telling anyone it retried; a nightly job sharing an API with a
shop's own integrations needs all three, so `RetryingSession` does the loop itself (honouring
`Retry-After` like dlt's) and plugs into dlt's `RESTClient` as its session.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import dlt
import requests
from dlt.common.runtime import signals

from sources.http.errors import SourceError, describe, host_of, status_text
from sources.http.failures import NetworkFailure, network_failure, seconds_text

log = logging.getLogger("retail")


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


class CallCounter:
    """How many HTTP requests (retries included) one source's session sent: the run's `api_calls`.

    The run makes one and hands it to the source it builds (`SourceSpec.build(..., calls=counter)`), which
    hands it to its client's session. It lives with the run, not the process, and a failed run, which
    commits no dlt state, still reports what it spent.
    """

    def __init__(self) -> None:
        self._count = 0
        self._lock = threading.Lock()

    def add(self) -> None:
        with self._lock:
            self._count += 1

    @property
    def value(self) -> int:
        with self._lock:
            return self._count


class RetryingSession(requests.Session):
    """A `requests.Session` with timeouts, bounded jittered retries, no redirects and a call counter.

    Redirects are refused rather than followed: a redirect may point at another host, and this API's
    credentials ride in query strings. Each attempt counts as XX
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
        counter: CallCounter | None = None,
    ) -> None:
        super().__init__()
        self.source, self.url_key, self.call_param = source, url_key, call_param
        self.policy = policy or RetryPolicy.from_config()
        self.timeout = timeout if timeout is not None else float(_runtime("request_timeout", 60.0))
        self.counter = counter or CallCounter()

    @property
    def calls(self) -> int:
        """The API calls counted so far (those of other sessions sharing the counter included)."""
        return self.counter.value

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs["allow_redirects"] = False
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            self.counter.add()
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
                "if the API is just slow, raise [runtime] request_timeout "
                f"(now {seconds_text(self.timeout)}) or request_max_attempts (now {self.policy.max_attempts})"
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
