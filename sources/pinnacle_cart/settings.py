"""Constants of the Pinnacle Cart API (`pinnacle-cart-api.txt`) and our assumptions where it is silent."""

from __future__ import annotations

SOURCE_NAME = "pinnacle_cart"
API_TYPES = ("xml", "json")
DEFAULT_API_TYPE = "xml"  # the only format the doc gives examples for
# The doc names no maximum batch size; 500 keeps one XML page of orders around a megabyte.
DEFAULT_BATCH_SIZE = 500
DEFAULT_ORDER_LOOKBACK_DAYS = 30
DEFAULT_FULL_REFRESH_EVERY_DAYS = 7
# The API's dates carry no zone; they are in the shop's own time zone (its server's clock).
DEFAULT_SHOP_TIMEZONE = "UTC"
# The doc: "If you would like to get ALL products in ALL categories, you can pass a PrimaryCategory of -1".
ALL_CATEGORIES = -1
# The doc does not say whether BatchPage counts from 0 or 1; we assume 1 (the first page).
FIRST_BATCH_PAGE = 1
# `LastDate` is sent in the same form the API returns dates in.
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"

CREDENTIALS_FIX = (
    "check SOURCES__PINNACLE_CART__USERNAME / PASSWORD / TOKEN against the control panel's "
    "Cart Plugins > Data Export > Cart API page"
)
