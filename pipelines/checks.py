"""`run --dry-run`: configuration and connectivity of each source, one cheap call each, nothing loaded.

Each check takes its settings the way its source does (`[sources.<name>]`, env vars), so a missing key
fails here exactly as it would in the nightly run.
"""

from __future__ import annotations

from collections.abc import Callable

import dlt
from dlt.common.configuration import with_config

from sources.pinmeto import settings as pinmeto_settings
from sources.plugivery import settings as plugivery_settings


@with_config(sections=("sources", "pinogy"))
def check_pinogy(
    api_host: str = dlt.config.value,
    access_key: str = dlt.secrets.value,
    secret_key: str = dlt.secrets.value,
    password: str = dlt.secrets.value,
    app_id: int = 3,
) -> str:
    from sources.pinogy.client import PinogyClient

    with PinogyClient(api_host, access_key, secret_key, password, app_id):
        pass
    return "logged in and out (POST/DELETE /apps/any/sessions)"


@with_config(sections=("sources", "pinnacle_cart"))
def check_pinnacle_cart(
    api_url: str = dlt.config.value,
    username: str = dlt.secrets.value,
    password: str = dlt.secrets.value,
    token: str = dlt.secrets.value,
    api_type: str = "xml",
) -> str:
    from sources.pinnacle_cart.client import PinnacleCartClient

    return (
        f"GetVersion answered {PinnacleCartClient(api_url, username, password, token, api_type).version()!r}"
    )


@with_config(sections=("sources", "pinmeto"))
def check_pinmeto(
    account_id: str = dlt.config.value,
    app_id: str = dlt.secrets.value,
    app_secret: str = dlt.secrets.value,
    api_url: str = pinmeto_settings.DEFAULT_API_URL,
) -> str:
    from sources.pinmeto.client import PinmetoClient

    PinmetoClient(api_url, account_id, app_id, app_secret).tokens.get()
    return "got an access token (POST /oauth/token)"


@with_config(sections=("sources", "plugivery"))
def check_plugivery(token: str = dlt.secrets.value, api_url: str = plugivery_settings.DEFAULT_API_URL) -> str:
    from sources.plugivery.client import PlugiveryClient

    info = PlugiveryClient(api_url, token).info()
    current = info.get("current") or {}
    today, month = current.get("reads_day", "?"), current.get("reads_month", "?")
    return f"info answered (free); reads today {today}, this month {month}"


CHECKS: dict[str, Callable[[], str]] = {
    "pinogy": check_pinogy,
    "pinnacle_cart": check_pinnacle_cart,
    "pinmeto": check_pinmeto,
    "plugivery": check_plugivery,
}
