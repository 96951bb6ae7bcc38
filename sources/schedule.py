"""When a source re-reads everything instead of only what changed: one rule for every source."""

from __future__ import annotations

from datetime import datetime, timedelta

from sources.contract import parse_ts


def full_read_due(
    first_run: bool, last_full_at: str | None, now: datetime, full_refresh: bool, every_days: int
) -> bool:
    """Return True on the first run, on `--full-refresh`, and when the periodic full read is due.

    `every_days` = 0 turns the periodic full read off; `last_full_at` is an ISO timestamp from state.
    """
    if full_refresh or first_run:
        return True
    if not every_days or not last_full_at:
        return False
    elapsed = now - parse_ts(last_full_at)
    # A last full read more than a day in the future (the clock was wrong then) would never fall due.
    return elapsed >= timedelta(days=every_days) or elapsed < -timedelta(days=1)
