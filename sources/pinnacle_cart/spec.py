"""Pinnacle Cart as the nightly job sees it: config, dry-run call, simulator and env mapping."""

from __future__ import annotations

import dlt

from sources.pinnacle_cart import settings
from sources.spec import SourceSpec, env_mapping, source_builder, source_config

SOURCE = "sources.pinnacle_cart:pinnacle_cart_source"


def reconcile(pipeline: dlt.Pipeline) -> list[str]:
    from sources.pinnacle_cart.reconcile import reconcile_counts

    return reconcile_counts(pipeline)


def check() -> str:
    from sources.pinnacle_cart.client import PinnacleCartClient

    c = source_config(SOURCE, settings.SOURCE_NAME)
    version = PinnacleCartClient(c.api_url, c.username, c.password, c.token, c.api_type).version()
    return f"GetVersion answered {version!r}"


SPEC = SourceSpec(
    settings.SOURCE_NAME,
    (
        "SOURCES__PINNACLE_CART__API_URL",
        "SOURCES__PINNACLE_CART__USERNAME",
        "SOURCES__PINNACLE_CART__PASSWORD",
        "SOURCES__PINNACLE_CART__TOKEN",
    ),
    source_builder(SOURCE),
    reconcile,
    check=check,
    simulator="simulators.pinnacle_cart:PinnacleCartSimulator",
    demo_world={"n_customers": 2000, "n_orders": 10000},
    env_for=env_mapping(settings.SOURCE_NAME, "api_url", "username", "password", "token", "shop_timezone"),
    resources=("orders", "customers", "products", "categories", "inventory"),
)
