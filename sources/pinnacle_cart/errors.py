"""Pinnacle Cart's one error type, and the fix an error line suggests (the doc lists no error codes)."""

from __future__ import annotations

import requests

from sources.http import SourceError
from sources.pinnacle_cart import settings


class PinnacleCartError(SourceError):
    """Any expected failure talking to Pinnacle Cart."""

    def __init__(self, call: str, problem: str, fix: str = "") -> None:
        super().__init__(settings.SOURCE_NAME, call, problem, fix)


def fix_for_error(message: str) -> str:
    """Return the fix for an error reply: the doc lists no error codes, so go by the words in it."""
    if any(word in message.lower() for word in ("user", "password", "token", "credential", "login", "auth")):
        return settings.CREDENTIALS_FIX
    return "check the call's arguments against the API doc; report to the shop if they are right"


def fix_for(response: requests.Response) -> str:
    if response.status_code in (401, 403) or response.status_code < 400:
        return settings.CREDENTIALS_FIX
    if response.status_code == 404:
        return "check SOURCES__PINNACLE_CART__API_URL ends in /content/admin/plugins/openapi/index.php"
    return "retry later; report to the shop if it persists"
