"""Plugivery as the nightly job sees it: config, dry-run call, simulator and env mapping."""

from __future__ import annotations

import dlt

from sources.plugivery import settings
from sources.spec import SourceSpec, env_mapping, source_builder, source_config

SOURCE = "sources.plugivery:plugivery_source"


def notes(pipeline: dlt.Pipeline) -> list[str]:
    """Say how many products still wait for details and how much of today's budget is spent."""
    resources = pipeline.state.get("sources", {}).get(settings.SOURCE_NAME, {}).get("resources", {})
    last = (resources.get("products") or {}).get("last_run") or {}
    return (
        [
            f"reads this run {last.get('reads', 0)}, today {last.get('reads_today', 0)}; "
            f"{last.get('queue', 0)} products wait for details"
        ]
        if last
        else []
    )


def check() -> str:
    from sources.plugivery.client import PlugiveryClient

    config = source_config(SOURCE, settings.SOURCE_NAME)
    current = PlugiveryClient(config.api_url, config.token).info().get("current") or {}
    today, month = current.get("reads_day", "?"), current.get("reads_month", "?")
    return f"info answered (free); reads today {today}, this month {month}"


SPEC = SourceSpec(
    settings.SOURCE_NAME,
    ("SOURCES__PLUGIVERY__TOKEN",),
    source_builder(SOURCE),
    notes,
    check=check,
    simulator="simulators.plugivery:PlugiverySimulator",
    # A catalogue far larger than a night's 300 reads: the demo shows the queue at work.
    demo_world={"n_extra_products": 1500},
    env_for=env_mapping(settings.SOURCE_NAME, "token", api_url="catalog_url"),
    resources=("products",),
)
