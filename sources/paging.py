"""What keeps every source's paging honest: a short page is retried, and a paging loop always ends.

Two failure modes of a buggy or hostile API, shared by the sources that page:
- a middle page that answers 200 but empty (or short) while the API's own total says more remain.
  Taken as the end of the list, it would make a full read replace a table with part of it, so
  `read_full_page` retries such a page and then fails the source with one line naming the call.
- a loop that never ends: a next link pointing at a page already read, a page identical to one already
  read (a server ignoring the offset), more pages than the API's total allows, or empty pages that
  keep pointing onwards. `PageGuard` stops the source at the first of these, with one line.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Hashable, Sequence
from typing import TypeVar

from sources.http import RetryPolicy, SourceError

log = logging.getLogger("retail")

Page = TypeVar("Page")
# A source's own error type: (call, problem, fix) -> exception (PinogyError, PinmetoError, ...).
ErrorFactory = Callable[[str, str, str], SourceError]

# An empty or short page while the total says more remain: read it again this often before failing.
SHORT_PAGE_RETRIES = 2
# Pages beyond what the API's total allows, for pages re-read when the list moves while we page.
PAGE_SLACK = 3
# Empty pages in a row that still point to a next page (a cursor API that has no total).
MAX_EMPTY_PAGES_IN_A_ROW = 3
NOTHING_LOADED = "nothing from this run was loaded"


def read_full_page(
    fetch: Callable[[], Page],
    shortfall: Callable[[Page], str | None],
    call: str,
    error: ErrorFactory,
    vendor: str,
    policy: RetryPolicy | None = None,
    retries: int = SHORT_PAGE_RETRIES,
) -> Page:
    """Return `fetch()`, read again while `shortfall(page)` names a problem; fail after `retries` more.

    `shortfall` returns None for a good page (a short last page is good) and otherwise says what is
    missing, e.g. "empty page at offset 100 though the API counts 250 purchase orders".
    """
    policy = policy or RetryPolicy.from_config()
    attempt = 0
    while True:
        attempt += 1
        page = fetch()
        problem = shortfall(page)
        if problem is None:
            return page
        if attempt > retries:
            raise error(
                call,
                f"{problem} ({attempt} tries)",
                f"retry later; report it to {vendor} if it persists; {NOTHING_LOADED}",
            )
        wait = policy.delay(attempt, None)
        log.warning("%s; reading the page again in %.1fs", error(call, problem, ""), wait)
        time.sleep(wait)


class PageGuard:
    """Stop a paging loop that would not end, naming the call; one guard per listing."""

    def __init__(self, error: ErrorFactory, vendor: str, slack: int = PAGE_SLACK) -> None:
        self.error, self.vendor, self.slack = error, vendor, slack
        self.pages = 0
        self._followed: set[str] = set()
        self._fingerprints: dict[int, int] = {}  # fingerprint of a page's keys -> its page number
        self._largest = 0
        self._max_total = 0
        self._empty_in_a_row = 0

    def follow(self, url: str, call: str) -> None:
        """Refuse a next-page URL that was already followed in this listing (a link back or to itself)."""
        if url in self._followed:
            raise self.error(
                call,
                f"the next-page link after page {self.pages} points to a page already read",
                self._fix(),
            )
        self._followed.add(url)

    def page(
        self, keys: Sequence[Hashable], call: str, total: int | None = None, reread: bool = False
    ) -> None:
        """Check one page, given its records' keys in order and the API's total if it gives one.

        `reread` marks a page the caller asked for again on purpose (the list moved while paging); it
        may equal one already read.
        """
        self.pages += 1
        if keys:
            self._empty_in_a_row = 0
            fingerprint = hash(tuple(keys))
            earlier = self._fingerprints.get(fingerprint)
            if earlier is not None and not reread:
                raise self.error(
                    call,
                    f"page {self.pages} repeats page {earlier} ({len(keys)} records, same keys in the same "
                    "order): the API is not moving through the list",
                    self._fix(),
                )
            self._fingerprints.setdefault(fingerprint, self.pages)
            self._largest = max(self._largest, len(keys))
        else:
            self._empty_in_a_row += 1
            if self._empty_in_a_row > MAX_EMPTY_PAGES_IN_A_ROW:
                raise self.error(
                    call,
                    f"{self._empty_in_a_row} empty pages in a row, each pointing to a next page",
                    self._fix(),
                )
        if total is not None:
            self._max_total = max(self._max_total, total)
            allowed = math.ceil(self._max_total / max(self._largest, 1)) + self.slack
            if self.pages > allowed:
                raise self.error(
                    call,
                    f"{self.pages} pages read, more than the API's total of {self._max_total} records "
                    f"allows ({allowed} pages of up to {self._largest})",
                    self._fix(),
                )

    def _fix(self) -> str:
        return f"report it to {self.vendor}; {NOTHING_LOADED}"
