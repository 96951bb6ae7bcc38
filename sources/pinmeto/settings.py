"""Constants of the PinMeTo Locations API v1 (`pinmeto-locations-api.txt` and the issue's token contract)."""

from __future__ import annotations

SOURCE_NAME = "pinmeto"
DEFAULT_API_URL = "https://api.pinmeto.com"
TOKEN_PATH = "/oauth/token"
LOCATIONS_PATH = "/v1/{account_id}/locations"
MAX_PAGE_SIZE = 250  # "pagesize ... default 100, max 250"
# "A accesstoken is valid for 1 hour so do cache it": renew this long before it runs out.
TOKEN_RENEW_MARGIN_SECONDS = 120
# 3600 requests an hour: when the quota is spent, wait for its reset, but never longer than this.
DEFAULT_MAX_RATE_LIMIT_WAIT_SECONDS = 900
MAX_RATE_LIMITED_ATTEMPTS = 4  # a 429 right after waiting for the reset, this often, is a failure
DAY_KEYS = {
    "mon": "Monday",
    "tue": "Tuesday",
    "wed": "Wednesday",
    "thu": "Thursday",
    "fri": "Friday",
    "sat": "Saturday",
    "sun": "Sunday",
}
