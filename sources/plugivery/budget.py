"""The read budget: a ledger of reads per day and month in pipeline state, the reader that keeps it, and
the `since` window to ask for.

Reads are the scarce resource (300 a day, 4000 a month). The ledger counts every read action we send,
on the API's own clock (`now` in each envelope); `info` (free) reports the API's counters, and the
larger of the two wins, so reads made by other tools of the partner account count too. Every read goes
through `BudgetedReader.read`, the one place that checks the budget (`Budget.left`).
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sources.integrity import drop_repeats
from sources.plugivery import settings
from sources.plugivery.client import PlugiveryClient, QuotaExhausted, as_records


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


class ReadsStopped(Exception):
    """No more reads tonight: our budget is spent, or the API said its quota is (then `deferred`)."""

    def __init__(self, reason: str, deferred: bool) -> None:
        super().__init__(reason)
        self.reason, self.deferred = reason, deferred


class BudgetedReader:
    """Every read action of a night: counted in the ledger (on the API's day and month), refused when spent.

    The ledger lives in `state`; `info` (free) is read first and its counters win when higher.
    """

    def __init__(self, client: PlugiveryClient, budget: Budget, state: MutableMapping[str, Any]) -> None:
        self.client, self.budget = client, budget
        info = client.info()
        self.now = client.server_now or int(datetime.now(UTC).timestamp())
        self.ledger = current_ledger(state, self.now)
        sync_with_info(self.ledger, info)

    @property
    def day(self) -> str:
        return str(self.ledger["day"])

    @property
    def left(self) -> int:
        return self.budget.left(self.ledger)

    def read(self, act: str, **params: Any) -> Any:
        """Return `act`'s data; raise `ReadsStopped` when the budget is spent or the API's quota is."""
        if self.left <= 0:
            raise ReadsStopped("tonight's read budget is spent", deferred=False)
        self.ledger["day_reads"] += 1
        self.ledger["month_reads"] += 1
        try:
            return self.client.call(act, **params)
        except QuotaExhausted as exc:
            raise ReadsStopped(str(exc), deferred=True) from None

    def records(self, act: str, **params: Any) -> list[dict[str, Any]]:
        """`act`'s records, each carrying an `id`, a record listed twice kept once (the last copy)."""
        described = f"act={act}" + "".join(f" {k}={v}" for k, v in params.items())
        return drop_repeats(as_records(self.read(act, **params), described), set(), record_id)


def record_id(record: dict[str, Any]) -> Any:
    return record.get("id")
