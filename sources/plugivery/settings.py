"""Constants of the Plugivery Catalog API (`plugivery-catalog-api.txt`)."""

from __future__ import annotations

SOURCE_NAME = "plugivery"
DEFAULT_API_URL = "https://api.plugivery.com/catalog/"
DEFAULT_DAY_LIMIT = 300  # "Max Reads / day"
DEFAULT_MONTH_LIMIT = 4000  # "Max Reads / month"
DEFAULT_HEADROOM = 20  # reads left unused each day, for people using the API by hand
READ_ACTIONS = frozenset({"list", "get", "list_cats", "list_brands", "list_promotions"})  # info/doc are free
NO_RESULT = 462
QUOTA_ERRORS = frozenset({472, 473, 474})
# The doc's error table, as (problem, fix) for one readable line.
ERRORS: dict[int, tuple[str, str]] = {
    401: ("unauthorized", "check SOURCES__PLUGIVERY__TOKEN"),
    403: ("forbidden", "ask Plugivery to enable the catalog API for this partner"),
    404: ("not found", "check SOURCES__PLUGIVERY__API_URL"),
    451: (
        "this machine's IP address is not on the partner's allow-list",
        "add this machine's public IP to the authorized IPs in the Plugivery partner page",
    ),
    453: ("invalid token", "check SOURCES__PLUGIVERY__TOKEN"),
    455: ("missing required parameter", "report this: the loader sent an incomplete request"),
    461: ("access revoked", "contact Plugivery: the partner's API access was revoked"),
    463: ("account auto-created", "finish the partner account setup with Plugivery"),
    472: ("over the daily read limit", "wait for tomorrow; the queue resumes then"),
    473: ("over the monthly read limit", "wait for next month, or lower the nightly budget"),
    474: ("over the total read limit", "contact Plugivery about the account's read limit"),
    501: ("not implemented", "report this: the action is not available"),
    503: ("service unavailable", "try again later"),
}
# The smallest `since` window that covers the time since the last successful list.
SINCE_WINDOWS = (("day", 86400), ("week", 7 * 86400), ("month", 30 * 86400))
