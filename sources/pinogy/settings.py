"""Constants of the Pinogy API, from `pinogy-api-overview.txt` / `pinogy-purchase-orders.txt`."""

from __future__ import annotations

SOURCE_NAME = "pinogy"
DEFAULT_APP_ID = 3
# "The max limit is 1000 records (if you put limit=1001 or more, it will still return 1000 records)".
MAX_PAGE_SIZE = 1000
LOGIN_PATH = "/apps/any/sessions"
LOGOUT_PATH = "/apps/any/sessions/mine"
PURCHASE_ORDERS_PATH = "/api/purchase_orders"
# The doc's example orders by `txn_opened_on`; the returned field is `opened_on`.
ORDER_BY_OPENED_ON = "txn_opened_on"
# The overview: `order_by` works on any column. Descending, open POs (true) come first, and the most
# recently closed POs come first (where the server puts POs with no `closed_on` does not matter to us).
ORDER_BY_OPEN = "is_open"
ORDER_BY_CLOSED_ON = "closed_on"
# A 409 means "log in again and resubmit"; more than this many in a row for one request is a fault.
MAX_RELOGINS_PER_REQUEST = 3
# Pages re-read when the list changes under us, per sync (bounded so a busy API cannot loop us forever).
MAX_PAGE_REREADS = 20
DEFAULT_LOOKBACK_HOURS = 48
DEFAULT_FULL_REFRESH_EVERY_DAYS = 7

# The doc's error table, as (problem, fix) for one readable line.
HTTP_ERRORS: dict[int, tuple[str, str]] = {
    400: ("bad request", "check the request parameters; the API rejected them"),
    401: (
        "access key, secret key or signature rejected",
        "check SOURCES__PINOGY__ACCESS_KEY / SECRET_KEY and that this machine's clock is correct",
    ),
    403: ("permission denied", "ask Pinogy to grant this login access to purchase orders"),
    404: ("resource does not exist", "check SOURCES__PINOGY__API_HOST"),
    406: (
        "login is incorrect or the application is not accessible",
        "check SOURCES__PINOGY__PASSWORD and SOURCES__PINOGY__APP_ID",
    ),
    409: ("session expired again right after logging in", "try again later; contact Pinogy if it persists"),
    422: ("validation error in the values passed", "check the request parameters"),
    500: ("internal server error at Pinogy", "try again later"),
}
