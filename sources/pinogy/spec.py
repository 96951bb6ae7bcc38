"""Pinogy as the nightly job sees it: config, dry-run call, simulator and env mapping."""

from __future__ import annotations

import dlt

from sources.pinogy import settings
from sources.spec import SourceSpec, env_mapping, source_builder, source_config

SOURCE = "sources.pinogy:pinogy_source"


def notes(pipeline: dlt.Pipeline) -> list[str]:
    """Say when the night fell back from the ordered walks, or read everything."""
    resources = pipeline.state.get("sources", {}).get(settings.SOURCE_NAME, {}).get("resources", {})
    return list(((resources.get("purchase_orders") or {}).get("last_run") or {}).get("notes") or [])


def check() -> str:
    from sources.pinogy.client import PinogyClient

    config = source_config(SOURCE, settings.SOURCE_NAME)
    with PinogyClient(config.api_host, config.access_key, config.secret_key, config.password, config.app_id):
        pass
    return "logged in and out (POST/DELETE /apps/any/sessions)"


SPEC = SourceSpec(
    settings.SOURCE_NAME,
    (
        "SOURCES__PINOGY__API_HOST",
        "SOURCES__PINOGY__ACCESS_KEY",
        "SOURCES__PINOGY__SECRET_KEY",
        "SOURCES__PINOGY__PASSWORD",
    ),
    source_builder(SOURCE),
    notes,
    check=check,
    simulator="simulators.pinogy:PinogySimulator",
    demo_world={"n_pos": 3000},
    env_for=env_mapping(
        settings.SOURCE_NAME, "access_key", "secret_key", "password", "app_id", api_host="url"
    ),
    resources=("purchase_orders",),
)
