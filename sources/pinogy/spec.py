"""Pinogy as the nightly job sees it: config, dry-run call, simulator and env mapping."""

from __future__ import annotations

from typing import TYPE_CHECKING

import dlt
from dlt.common.configuration import with_config
from dlt.sources import DltSource

from sources.pinogy import settings
from sources.spec import SourceSpec, shrink_args

if TYPE_CHECKING:
    from simulators.pinogy import PinogySimulator


def build(full_refresh: bool, allow_shrink: bool = False) -> DltSource:
    from sources.pinogy import pinogy_source

    return pinogy_source(full_refresh=full_refresh, **shrink_args(allow_shrink))


def notes(pipeline: dlt.Pipeline) -> list[str]:
    """Say when the night fell back from the ordered walks, or read everything."""
    resources = pipeline.state.get("sources", {}).get(settings.SOURCE_NAME, {}).get("resources", {})
    return list(((resources.get("purchase_orders") or {}).get("last_run") or {}).get("notes") or [])


@with_config(sections=("sources", settings.SOURCE_NAME))
def check(
    api_host: str = dlt.config.value,
    access_key: str = dlt.secrets.value,
    secret_key: str = dlt.secrets.value,
    password: str = dlt.secrets.value,
    app_id: int = settings.DEFAULT_APP_ID,
) -> str:
    from sources.pinogy.client import PinogyClient

    with PinogyClient(api_host, access_key, secret_key, password, app_id):
        pass
    return "logged in and out (POST/DELETE /apps/any/sessions)"


def env_for(sim: PinogySimulator) -> dict[str, str]:
    return {
        "SOURCES__PINOGY__API_HOST": sim.url,
        "SOURCES__PINOGY__ACCESS_KEY": sim.access_key,
        "SOURCES__PINOGY__SECRET_KEY": sim.secret_key,
        "SOURCES__PINOGY__PASSWORD": sim.password,
        "SOURCES__PINOGY__APP_ID": str(sim.app_id),
    }


SPEC = SourceSpec(
    settings.SOURCE_NAME,
    (
        "SOURCES__PINOGY__API_HOST",
        "SOURCES__PINOGY__ACCESS_KEY",
        "SOURCES__PINOGY__SECRET_KEY",
        "SOURCES__PINOGY__PASSWORD",
    ),
    build,
    notes,
    check=check,
    simulator="simulators.pinogy:PinogySimulator",
    demo_world={"n_pos": 3000},
    env_for=env_for,
)
