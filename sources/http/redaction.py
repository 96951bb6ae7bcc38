"""Secrets out of every text: known secret values, secret query/form/JSON fields and auth headers."""

from __future__ import annotations

import logging
import re
import threading

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
