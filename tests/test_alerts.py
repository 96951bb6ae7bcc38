"""Alerts: a Slack-compatible webhook hears about failures, deferrals and staleness, and nothing else.

The webhook is a real HTTP receiver on 127.0.0.1 that records what it was posted.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipelines.history import record_run
from pipelines.nightly import SourceResult
from simulators.base import Reply, Request, Simulator
from simulators.pinogy import PinogySimulator
from simulators.plugivery import PlugiverySimulator
from tests.conftest import cli, pinogy_env_for, plugivery_env_for

HOOK_TOKEN = "TEST-HOOK-TOKEN-2b7c"  # a Slack webhook URL carries its token in the path


class WebhookReceiver(Simulator):
    """A chat webhook: accepts any JSON POST with 200 "ok", as Slack's incoming webhooks answer."""

    name = "webhook"

    def handle(self, request: Request) -> Reply:
        return Reply(200, b"ok", content_type="text/plain")

    def texts(self) -> list[str]:
        return [json.loads(c.body)["text"] for c in self.calls]


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver  # type: ignore[misc]


def hook_env(receiver: WebhookReceiver) -> dict[str, str]:
    return {"ALERTS__WEBHOOK_URL": f"{receiver.url}/services/{HOOK_TOKEN}"}


def test_a_failed_and_a_deferred_source_are_posted_redacted(
    db: Path, pinogy_sim: PinogySimulator, webhook: WebhookReceiver
) -> None:
    with PlugiverySimulator(token="TEST-PLUGIVERY-TOKEN-5f0d", now=1_795_000_000) as plugivery:
        plugivery.day_limit = 8  # the quota runs out mid-run: deferred
        env = {
            **pinogy_env_for(pinogy_sim),
            "SOURCES__PINOGY__PASSWORD": "TEST-ALERT-WRONG-PW-31",
            **plugivery_env_for(plugivery),
            **hook_env(webhook),
        }
        out = cli("run", "--sources", "pinogy,plugivery", "--db", str(db), "--skip-models", env=env)
    assert out.returncode == 1
    [call] = webhook.calls
    assert call.method == "POST" and call.path == f"/services/{HOOK_TOKEN}"
    assert call.headers["Content-Type"] == "application/json"
    [text] = webhook.texts()
    lines = text.splitlines()
    assert "failed (exit 1)" in lines[0] and str(db) in lines[0]
    assert lines[1].startswith("pinogy failed: pinogy: POST /apps/any/sessions")
    assert lines[2].startswith("plugivery deferred: ") and "472" in lines[2]
    for secret in ("TEST-ALERT-WRONG-PW-31", "TEST-PLUGIVERY-TOKEN-5f0d", pinogy_sim.access_key):
        assert secret not in text
    assert HOOK_TOKEN not in out.stdout + out.stderr


def test_a_good_night_posts_nothing(db: Path, pinogy_sim: PinogySimulator, webhook: WebhookReceiver) -> None:
    env = {**pinogy_env_for(pinogy_sim), **hook_env(webhook)}
    out = cli("run", "--sources", "pinogy", "--db", str(db), "--skip-models", env=env)
    assert out.returncode == 0, out.stderr
    assert webhook.calls == []


def test_staleness_is_posted_by_status(db: Path, webhook: WebhookReceiver) -> None:
    now = datetime.now(UTC)
    record_run(db, now - timedelta(hours=1), [SourceResult("pinogy", rows={"purchase_orders": 3})])
    fresh = cli("status", "--db", str(db), "--sources", "pinogy", env=hook_env(webhook))
    assert (fresh.returncode, fresh.stdout) == (0, "")
    assert webhook.calls == []
    stale = cli("status", "--db", str(db), "--sources", "pinogy,pinmeto", env=hook_env(webhook))
    assert stale.returncode == 1
    [text] = webhook.texts()
    assert "is stale (older than 26 h)" in text and "pinmeto: last loaded never" in text
    assert "pinogy" not in text.split("\n", 1)[1]  # only the stale source is named


def test_a_webhook_that_is_down_is_one_line_and_changes_no_exit_status(
    db: Path, pinogy_sim: PinogySimulator, webhook: WebhookReceiver
) -> None:
    webhook.faults.add("status", status=500, times=10)
    env = {**pinogy_env_for(pinogy_sim), "SOURCES__PINOGY__PASSWORD": "TEST-ALERT-WRONG-PW-32"}
    out = cli(
        "run", "--sources", "pinogy", "--db", str(db), "--skip-models", env={**env, **hook_env(webhook)}
    )
    assert out.returncode == 1  # pinogy failed; the alert's own failure does not change that
    [line] = [ln for ln in out.stderr.splitlines() if "ERROR" in ln and "alerts:" in ln]
    assert "HTTP 500" in line and "ALERTS__WEBHOOK_URL" in line
    assert "Traceback" not in out.stderr and HOOK_TOKEN not in out.stderr
    assert len(webhook.calls) == 3  # retried, within bounds


def test_a_plain_http_webhook_to_another_host_is_refused(db: Path, pinogy_sim: PinogySimulator) -> None:
    env = {**pinogy_env_for(pinogy_sim), "SOURCES__PINOGY__PASSWORD": "TEST-ALERT-WRONG-PW-33"}
    env["ALERTS__WEBHOOK_URL"] = f"http://hooks.example.com/services/{HOOK_TOKEN}"
    out = cli("run", "--sources", "pinogy", "--db", str(db), "--skip-models", env=env)
    assert out.returncode == 1
    assert "alerts: config: ALERTS__WEBHOOK_URL uses plain http" in out.stderr
    assert HOOK_TOKEN not in out.stderr
