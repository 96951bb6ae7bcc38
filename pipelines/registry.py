"""The sources the nightly job knows, by the name of the DuckDB schema each loads into."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypedDict

import dlt
from dlt.sources import DltSource


@dataclass(frozen=True)
class SourceSpec:
    name: str  # also the dataset (DuckDB schema) name
    config_keys: tuple[str, ...]  # what a user must set, for --help and error lines
    build: Callable[..., DltSource]  # (full_refresh, allow_shrink=False) -> a configured dlt source
    # After a successful load: notes for the run summary (e.g. the API's counts against the warehouse).
    reconcile: Callable[[dlt.Pipeline], list[str]] | None = None


class ShrinkArgs(TypedDict, total=False):
    allow_shrink: bool


def shrink_args(allow_shrink: bool) -> ShrinkArgs:
    """`--allow-shrink` overrides the config; without it, `allow_shrink` comes from the config."""
    return {"allow_shrink": True} if allow_shrink else {}


def _pinogy(full_refresh: bool, allow_shrink: bool = False) -> DltSource:
    from sources.pinogy import pinogy_source

    return pinogy_source(full_refresh=full_refresh, **shrink_args(allow_shrink))


def _pinogy_notes(pipeline: dlt.Pipeline) -> list[str]:
    """Say when the night fell back from the ordered walks, or read everything."""
    resources = pipeline.state.get("sources", {}).get("pinogy", {}).get("resources", {})
    return list(((resources.get("purchase_orders") or {}).get("last_run") or {}).get("notes") or [])


def _pinnacle_cart(full_refresh: bool, allow_shrink: bool = False) -> DltSource:
    from sources.pinnacle_cart import pinnacle_cart_source

    return pinnacle_cart_source(full_refresh=full_refresh, **shrink_args(allow_shrink))


def _pinnacle_cart_reconcile(pipeline: dlt.Pipeline) -> list[str]:
    from sources.pinnacle_cart.reconcile import reconcile_counts

    return reconcile_counts(pipeline)


def _pinmeto(full_refresh: bool, allow_shrink: bool = False) -> DltSource:
    from sources.pinmeto import pinmeto_source

    # Every run reads every location (the API has no change filter): a full refresh changes nothing.
    return pinmeto_source(**shrink_args(allow_shrink))


def _plugivery(full_refresh: bool, allow_shrink: bool = False) -> DltSource:
    from sources.plugivery import plugivery_source

    return plugivery_source(full_refresh=full_refresh, **shrink_args(allow_shrink))


def _plugivery_notes(pipeline: dlt.Pipeline) -> list[str]:
    """Say how many products still wait for details and how much of today's budget is spent."""
    resources = pipeline.state.get("sources", {}).get("plugivery", {}).get("resources", {})
    last = (resources.get("products") or {}).get("last_run") or {}
    return (
        [
            f"reads this run {last.get('reads', 0)}, today {last.get('reads_today', 0)}; "
            f"{last.get('queue', 0)} products wait for details"
        ]
        if last
        else []
    )


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
        _pinogy_notes,
    ),
    "pinnacle_cart": SourceSpec(
        "pinnacle_cart",
        (
            "SOURCES__PINNACLE_CART__API_URL",
            "SOURCES__PINNACLE_CART__USERNAME",
            "SOURCES__PINNACLE_CART__PASSWORD",
            "SOURCES__PINNACLE_CART__TOKEN",
        ),
        _pinnacle_cart,
        _pinnacle_cart_reconcile,
    ),
    "pinmeto": SourceSpec(
        "pinmeto",
        ("SOURCES__PINMETO__ACCOUNT_ID", "SOURCES__PINMETO__APP_ID", "SOURCES__PINMETO__APP_SECRET"),
        _pinmeto,
    ),
    "plugivery": SourceSpec("plugivery", ("SOURCES__PLUGIVERY__TOKEN",), _plugivery, _plugivery_notes),
}
