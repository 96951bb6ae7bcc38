"""What all four sources share about HTTP, one module a concern:

- `retry`: the retrying session (timeouts, bounded jittered retries, `Retry-After`) and its call counter;
- `failures`: why a request got no answer, in words;
- `errors`: `SourceError`, the words its lines use, and exceptions stripped of secrets;
- `redaction`: secrets out of every text and log line;
- `urls`: API URLs from config (no plain HTTP except to a local simulator).

The names below are the ones sources and pipelines import: `from sources.http import SourceError`.
"""

from __future__ import annotations

from sources.http.errors import (
    ConfigError,
    SourceError,
    answered,
    describe,
    host_of,
    redact_errors,
    redact_exception,
    status_text,
)
from sources.http.failures import NetworkFailure, network_failure
from sources.http.redaction import REDACTED, SECRET_FIELD_NAMES, RedactingFilter, redact, register_secret
from sources.http.retry import CallCounter, RetryingSession, RetryPolicy, pause
from sources.http.urls import is_loopback, require_secure_url

__all__ = [
    "REDACTED",
    "SECRET_FIELD_NAMES",
    "CallCounter",
    "ConfigError",
    "NetworkFailure",
    "RedactingFilter",
    "RetryPolicy",
    "RetryingSession",
    "SourceError",
    "answered",
    "describe",
    "host_of",
    "is_loopback",
    "network_failure",
    "pause",
    "redact",
    "redact_errors",
    "redact_exception",
    "register_secret",
    "require_secure_url",
    "status_text",
]
