"""The sources the nightly job knows, by the name of the DuckDB schema each loads into."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from dlt.sources import DltSource


@dataclass(frozen=True)
class SourceSpec:
    name: str  # also the dataset (DuckDB schema) name
    config_keys: tuple[str, ...]  # what a user must set, for --help and error lines
    build: Callable[[bool], DltSource]  # full_refresh -> a configured dlt source


def _pinogy(full_refresh: bool) -> DltSource:
    from sources.pinogy import pinogy_source

    return pinogy_source(full_refresh=full_refresh)


SOURCES: dict[str, SourceSpec] = {
    "pinogy": SourceSpec(
        "pinogy",
        (
            "SOURCES__PINOGY__API_HOST",
            "SOURCES__PINOGY__ACCESS_KEY",
            "SOURCES__PINOGY__SECRET_KEY",
            "SOURCES__PINOGY__PASSWORD",
        ),
        _pinogy,
    ),
}
