"""The read budget: a ledger of reads per day and month in pipeline state, and the `since` window to ask for.

Reads are the scarce resource (300 a day, 4000 a month). The ledger counts every read action we send,
on the API's own clock (`now` in each envelope); `info` (free) reports the API's counters, and the
larger of the two wins, so reads made by other tools of the partner account count too.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sources.plugivery import settings


@dataclass
class Budget:
    day_limit: int
    month_limit: int
    headroom: int

    def left(self, ledger: MutableMapping[str, Any]) -> int:
        """Reads we may still spend now: the tighter of day and month, minus the headroom."""
        return (
            min(self.day_limit - int(ledger["day_reads"]), self.month_limit - int(ledger["month_reads"]))
            - self.headroom
        )


def current_ledger(state: MutableMapping[str, Any], now: float) -> MutableMapping[str, Any]:
    """Return the ledger in `state`, its counters reset when the API's day or month has turned."""
    moment = datetime.fromtimestamp(now, UTC)
    day, month = moment.strftime("%Y-%m-%d"), moment.strftime("%Y-%m")
    ledger = state.setdefault("ledger", {"day": day, "day_reads": 0, "month": month, "month_reads": 0})
    if ledger["month"] != month:
        ledger.update(month=month, month_reads=0)
    if ledger["day"] != day:
        ledger.update(day=day, day_reads=0)
    return ledger


def sync_with_info(ledger: MutableMapping[str, Any], info: dict[str, Any]) -> None:
    """Take the API's own counters when they are higher than ours (another tool spent reads too)."""
    current = info.get("current") if isinstance(info, dict) else None
    if isinstance(current, dict):
        ledger["day_reads"] = max(int(ledger["day_reads"]), int(current.get("reads_day") or 0))
        ledger["month_reads"] = max(int(ledger["month_reads"]), int(current.get("reads_month") or 0))


def since_window(last_list_at: float | None, now: float) -> str:
    """Return the smallest `since` window covering the time since the last successful list, else `all`."""
    if last_list_at is None:
        return "all"
    elapsed = now - last_list_at
    for name, seconds in settings.SINCE_WINDOWS:
        if elapsed < seconds:
            return name
    return "all"
