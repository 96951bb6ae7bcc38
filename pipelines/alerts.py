"""Optional alerts: one Slack-compatible message (`{"text": ...}`) to a webhook when a human is needed.

Set `webhook_url` under `[alerts]` in `.dlt/secrets.toml` (an incoming-webhook URL carries its own token,
so it is a secret) or `ALERTS__WEBHOOK_URL`. Slack, Mattermost, Rocket.Chat and Teams' Slack-compatible
connectors all take this payload. Unset: no alerts, nothing else changes.

The nightly run posts when a source failed, deferred or was interrupted, or when the models or SQL tests
failed; `status` posts when a source is stale. Every line goes through `redact`, and a failed post is
one log line: an alert never changes a run's exit status.
"""

from __future__ import annotations

import logging
import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dlt
from dlt.common.exceptions import SignalReceivedException

from pipelines.history import Freshness, RunOutcome
from pipelines.logs import first_line
from pipelines.nightly import SUCCEEDED, SourceResult
from sources.http import (
    ConfigError,
    RetryingSession,
    RetryPolicy,
    SourceError,
    redact,
    register_secret,
    require_secure_url,
)

log = logging.getLogger("retail.alerts")

SOURCE_NAME = "alerts"
CONFIG_KEY = "ALERTS__WEBHOOK_URL"
TIMEOUT_SECONDS = 10.0
# A chat webhook that is down must not hold the run lock for long: three tries within half a minute.
POLICY = RetryPolicy(max_attempts=3, backoff_base=1.0, backoff_max=5.0, total_seconds=30.0)


def webhook_url() -> str | None:
    """Return the configured webhook URL (registered as a secret), or None when alerts are off."""
    url: Any = dlt.config.get("alerts.webhook_url")
    if not url:
        return None
    register_secret(str(url))
    register_secret(urlsplit(str(url)).path)  # the token is in the path, and retry lines name the path
    return require_secure_url(SOURCE_NAME, str(url), CONFIG_KEY)


def notify(text: str) -> bool:
    """Post `text` (redacted) to the webhook; return True when it was delivered or alerts are off."""
    try:
        url = webhook_url()
        if url is None:
            return True
        with RetryingSession(SOURCE_NAME, POLICY, timeout=TIMEOUT_SECONDS, url_key=CONFIG_KEY) as session:
            response = session.post(url, json={"text": redact(text)})
    except ConfigError as exc:
        log.error("%s", exc)
        return False
    except SourceError as exc:  # no answer, or 5xx/429 through every retry
        log.error(
            "alerts: POST to the webhook: %s (fix: check %s and the chat service)", exc.problem, CONFIG_KEY
        )
        return False
    except SignalReceivedException:  # a stopping run does not wait to retry its alert
        log.error("alerts: POST to the webhook: not retried, the run is stopping")
        return False
    except Exception as exc:  # an alert must never turn a run's outcome into a traceback
        log.error("alerts: POST to the webhook: %s: %s", type(exc).__name__, first_line(exc, 200))
        return False
    if response.status_code >= 300:
        log.error("alerts: POST to the webhook: HTTP %d (fix: check %s)", response.status_code, CONFIG_KEY)
        return False
    return True


def run_alert(
    db: Path | str, run_id: str | None, results: list[SourceResult], outcome: RunOutcome
) -> str | None:
    """Return the message for a run that needs a human, or None when every source succeeded and the
    models and tests passed."""
    lines = [f"{r.source} {r.status}: {r.error or 'no detail'}" for r in results if r.status != SUCCEEDED]
    if outcome.tests_failed:
        tests = ", ".join(f"{name} ({rows} rows)" for name, rows in outcome.tests_failed.items())
        lines.append(f"SQL tests failed: {tests}")
    if outcome.error:
        lines.append(outcome.error)
    if run_id is None:
        lines.append("the run history could not be written")
    if not lines and outcome.status == SUCCEEDED:
        return None
    head = f"retail-warehouse on {socket.gethostname()}: run {run_id or '?'} of {db} {outcome.status}"
    return "\n".join([f"{head} (exit {outcome.exit_code})", *lines])


def staleness_alert(db: Path | str, rows: list[Freshness], max_age_hours: float) -> str | None:
    """Return the message for stale sources, or None when every source is fresh."""
    stale = [f for f in rows if f.is_stale]
    if not stale:
        return None
    lines = [
        f"{f.source}: last loaded {_when(f)}"
        + (f"; last attempt {f.last_status}: {f.last_error}" if f.last_error else "")
        for f in stale
    ]
    head = f"retail-warehouse on {socket.gethostname()}: {db} is stale (older than {max_age_hours:.0f} h)"
    return "\n".join([head, *lines])


def _when(f: Freshness) -> str:
    if f.last_loaded_at is None or f.age_hours is None:
        return "never"
    return f"{f.last_loaded_at:%Y-%m-%d %H:%M} UTC ({f.age_hours:.0f} h ago)"
