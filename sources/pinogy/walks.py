"""The ordered walks of a night: the server sorts, and we read only the head of each order.

The API has no "changed since" filter, but `order_by` works on any column (the overview's common
parameters). So a night reads three heads, each as long as the change and not as the history:
- newest first (`txn_opened_on desc`): POs opened since the last run (in `sync.py`, with the fallback);
- open first (`is_open desc`): every PO open now, wherever it sits in two years of history;
- recently closed first (`closed_on desc`): POs that were open at the last run and closed since.

Each walk checks that the server honoured its order: every page sorted by the key and continuing from
the page before. A page out of order means the server ignored `order_by`; the walk stops and says so,
and the night falls back to reaching what is left by the newest-first walk and single reads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sources.contract import parse_ts
from sources.pinogy import settings
from sources.pinogy.client import PinogyClient


@dataclass
class DescendingCheck:
    """Whether pages come sorted by `key`, descending, across pages too; a key of None is skipped."""

    key: Callable[[dict[str, Any]], Any]
    last: Any = None

    def in_order(self, page: list[dict[str, Any]]) -> bool:
        for po in page:
            value = self.key(po)
            if value is None:
                continue
            if self.last is not None and value > self.last:
                return False
            self.last = value
        return True


def opened_key(po: dict[str, Any]) -> datetime:
    return parse_ts(po["opened_on"])


def closed_key(po: dict[str, Any]) -> datetime | None:
    """A PO's `closed_on`; None when unset or unreadable (that PO is rejected by the table contract)."""
    try:
        return parse_ts(po["closed_on"]) if po.get("closed_on") else None
    except (TypeError, ValueError, AttributeError):
        return None


@dataclass
class WalkResult:
    pages: int = 0
    honoured: bool = True


def open_first(
    client: PinogyClient, page_size: int, wanted: Callable[[dict[str, Any]], bool], result: WalkResult
) -> Iterator[list[dict[str, Any]]]:
    """Yield every open PO (and any closed one `wanted` asks for): pages of `is_open desc` until the
    first closed PO. Stops early, with `result.honoured` False, at a page out of order."""
    check = DescendingCheck(lambda po: bool(po.get("is_open")))
    for page in client.purchase_order_pages(
        settings.ORDER_BY_OPEN, "desc", page_size, read_ahead=lambda p: all(po.get("is_open") for po in p)
    ):
        result.pages += 1
        result.honoured = check.in_order(page)
        yield [po for po in page if po.get("is_open") or wanted(po)]
        if not result.honoured or not all(po.get("is_open") for po in page):
            return


def recently_closed_first(
    client: PinogyClient,
    page_size: int,
    since: datetime,
    wanted: Callable[[dict[str, Any]], bool],
    still_missing: Callable[[], bool],
    result: WalkResult,
) -> Iterator[list[dict[str, Any]]]:
    """Yield the POs `wanted` asks for from pages of `closed_on desc`, until closings older than
    `since` or until nothing is missing any more. Stops early, `result.honoured` False, out of order."""
    check = DescendingCheck(closed_key)
    for page in client.purchase_order_pages(settings.ORDER_BY_CLOSED_ON, "desc", page_size):
        result.pages += 1
        result.honoured = check.in_order(page)
        yield [po for po in page if wanted(po)]
        if not result.honoured or (check.last is not None and check.last < since) or not still_missing():
            return
