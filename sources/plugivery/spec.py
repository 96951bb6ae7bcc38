"""Plugivery as the nightly job sees it: config, dry-run call, simulator and env mapping."""

from __future__ import annotations

from typing import TYPE_CHECKING

import dlt
from dlt.common.configuration import with_config
from dlt.sources import DltSource

from sources.plugivery import settings
from sources.spec import SourceSpec, shrink_args

if TYPE_CHECKING:
    from simulators.plugivery import PlugiverySimulator


def build(full_refresh: bool, allow_shrink: bool = False) -> DltSource:
    from sources.plugivery import plugivery_source

    return plugivery_source(full_refresh=full_refresh, **shrink_args(allow_shrink))


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


@with_config(sections=("sources", settings.SOURCE_NAME))
def check(token: str = dlt.secrets.value, api_url: str = settings.DEFAULT_API_URL) -> str:
    from sources.plugivery.client import PlugiveryClient

    info = PlugiveryClient(api_url, token).info()
    current = info.get("current") or {}
    today, month = current.get("reads_day", "?"), current.get("reads_month", "?")
    return f"info answered (free); reads today {today}, this month {month}"


def env_for(sim: PlugiverySimulator) -> dict[str, str]:
    return {"SOURCES__PLUGIVERY__API_URL": sim.url + "/catalog/", "SOURCES__PLUGIVERY__TOKEN": sim.token}


SPEC = SourceSpec(
    settings.SOURCE_NAME,
    ("SOURCES__PLUGIVERY__TOKEN",),
    build,
    notes,
    check=check,
    simulator="simulators.plugivery:PlugiverySimulator",
    # A catalogue far larger than a night's 300 reads: the demo shows the queue at work.
    demo_world={"n_extra_products": 1500},
    env_for=env_for,
)
