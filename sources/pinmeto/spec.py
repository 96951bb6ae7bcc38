"""PinMeTo as the nightly job sees it: config, dry-run call, simulator and env mapping."""

from __future__ import annotations

from typing import TYPE_CHECKING

import dlt
from dlt.common.configuration import with_config
from dlt.sources import DltSource

from sources.pinmeto import settings
from sources.spec import SourceSpec, shrink_args

if TYPE_CHECKING:
    from simulators.pinmeto import PinmetoSimulator


def build(full_refresh: bool, allow_shrink: bool = False) -> DltSource:
    from sources.pinmeto import pinmeto_source

    # Every run reads every location (the API has no change filter): a full refresh changes nothing.
    return pinmeto_source(**shrink_args(allow_shrink))


@with_config(sections=("sources", settings.SOURCE_NAME))
def check(
    account_id: str = dlt.config.value,
    app_id: str = dlt.secrets.value,
    app_secret: str = dlt.secrets.value,
    api_url: str = settings.DEFAULT_API_URL,
) -> str:
    from sources.pinmeto.client import PinmetoClient

    PinmetoClient(api_url, account_id, app_id, app_secret).tokens.get()
    return "got an access token (POST /oauth/token)"


def env_for(sim: PinmetoSimulator) -> dict[str, str]:
    return {
        "SOURCES__PINMETO__API_URL": sim.url,
        "SOURCES__PINMETO__ACCOUNT_ID": sim.account_id,
        "SOURCES__PINMETO__APP_ID": sim.app_id,
        "SOURCES__PINMETO__APP_SECRET": sim.app_secret,
    }


SPEC = SourceSpec(
    settings.SOURCE_NAME,
    ("SOURCES__PINMETO__ACCOUNT_ID", "SOURCES__PINMETO__APP_ID", "SOURCES__PINMETO__APP_SECRET"),
    build,
    check=check,
    simulator="simulators.pinmeto:PinmetoSimulator",
    env_for=env_for,
)
