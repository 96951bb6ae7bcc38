"""The paging guard's rules that no simulator world reaches cheaply: pages beyond the total, empty runs."""

from __future__ import annotations

import pytest

from sources.http import SourceError
from sources.paging import MAX_EMPTY_PAGES_IN_A_ROW, PAGE_SLACK, PageGuard


def error(call: str, problem: str, fix: str) -> SourceError:
    return SourceError("demo", call, problem, fix)


def test_more_pages_than_the_total_allows_stop_the_listing() -> None:
    guard = PageGuard(error, "Demo")
    allowed = 3 + PAGE_SLACK  # 250 records, 100 a page
    for n in range(allowed):
        guard.page([f"{n}-{i}" for i in range(100)], "GET /things", total=250)
    with pytest.raises(SourceError) as raised:
        guard.page([f"{allowed}-{i}" for i in range(100)], "GET /things", total=250)
    assert str(raised.value) == (
        f"demo: GET /things: {allowed + 1} pages read, more than the API's total of 250 records allows "
        f"({allowed} pages of up to 100) (fix: report it to Demo; nothing from this run was loaded)"
    )


def test_a_run_of_empty_pages_stops_a_cursor_listing() -> None:
    guard = PageGuard(error, "Demo")
    guard.page(["a"], "GET /things")
    for _ in range(MAX_EMPTY_PAGES_IN_A_ROW):
        guard.page([], "GET /things")
    with pytest.raises(SourceError, match="4 empty pages in a row"):
        guard.page([], "GET /things")


def test_a_page_read_again_on_purpose_may_repeat() -> None:
    guard = PageGuard(error, "Demo")
    guard.page([1, 2], "GET /things offset=0")
    guard.page([1, 2], "GET /things offset=0", reread=True)
    with pytest.raises(SourceError, match="page 3 repeats page 1"):
        guard.page([1, 2], "GET /things offset=2")
