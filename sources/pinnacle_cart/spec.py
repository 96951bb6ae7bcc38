"""Pinnacle Cart as the nightly job sees it: config, dry-run call, simulator and env mapping."""

from __future__ import annotations

from typing import TYPE_CHECKING

import dlt
from dlt.common.configuration import with_config
from dlt.sources import DltSource

from sources.pinnacle_cart import settings
from sources.spec import SourceSpec, shrink_args

if TYPE_CHECKING:
    from simulators.pinnacle_cart import PinnacleCartSimulator


def build(full_refresh: bool, allow_shrink: bool = False) -> DltSource:
    from sources.pinnacle_cart import pinnacle_cart_source

    return pinnacle_cart_source(full_refresh=full_refresh, **shrink_args(allow_shrink))


def reconcile(pipeline: dlt.Pipeline) -> list[str]:
    from sources.pinnacle_cart.reconcile import reconcile_counts

    return reconcile_counts(pipeline)


@with_config(sections=("sources", settings.SOURCE_NAME))
def check(
    api_url: str = dlt.config.value,
    username: str = dlt.secrets.value,
    password: str = dlt.secrets.value,
    token: str = dlt.secrets.value,
    api_type: str = settings.DEFAULT_API_TYPE,
) -> str:
    from sources.pinnacle_cart.client import PinnacleCartClient

    return (
        f"GetVersion answered {PinnacleCartClient(api_url, username, password, token, api_type).version()!r}"
    )


def env_for(sim: PinnacleCartSimulator) -> dict[str, str]:
    return {
        "SOURCES__PINNACLE_CART__API_URL": sim.api_url,
        "SOURCES__PINNACLE_CART__USERNAME": sim.username,
        "SOURCES__PINNACLE_CART__PASSWORD": sim.password,
        "SOURCES__PINNACLE_CART__TOKEN": sim.token,
        "SOURCES__PINNACLE_CART__SHOP_TIMEZONE": "America/New_York",
    }


SPEC = SourceSpec(
    settings.SOURCE_NAME,
    (
        "SOURCES__PINNACLE_CART__API_URL",
        "SOURCES__PINNACLE_CART__USERNAME",
        "SOURCES__PINNACLE_CART__PASSWORD",
        "SOURCES__PINNACLE_CART__TOKEN",
    ),
    build,
    reconcile,
    check=check,
    simulator="simulators.pinnacle_cart:PinnacleCartSimulator",
    demo_world={"n_customers": 2000, "n_orders": 10000},
    env_for=env_for,
)
