"""PinMeTo as the nightly job sees it: config, dry-run call, simulator and env mapping."""

from __future__ import annotations

from sources.pinmeto import settings
from sources.spec import SourceSpec, env_mapping, source_builder, source_config

SOURCE = "sources.pinmeto:pinmeto_source"


def check() -> str:
    from sources.pinmeto.client import PinmetoClient

    config = source_config(SOURCE, settings.SOURCE_NAME)
    PinmetoClient(config.api_url, config.account_id, config.app_id, config.app_secret).tokens.get()
    return "got an access token (POST /oauth/token)"


SPEC = SourceSpec(
    settings.SOURCE_NAME,
    ("SOURCES__PINMETO__ACCOUNT_ID", "SOURCES__PINMETO__APP_ID", "SOURCES__PINMETO__APP_SECRET"),
    # Every run reads every location (the API has no change filter): a full refresh changes nothing.
    source_builder(SOURCE, reads_incrementally=False),
    check=check,
    simulator="simulators.pinmeto:PinmetoSimulator",
    env_for=env_mapping(settings.SOURCE_NAME, "account_id", "app_id", "app_secret", api_url="url"),
    resources=("locations",),
)
