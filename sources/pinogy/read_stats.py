"""What a Pinogy run saw, batch by batch: POs read, open ones, cursors held to the clock, rejects.

Every batch a read yields passes `seen_batch`: one copy per PO, none whose `opened_on` cannot be read
(rejected by name: it orders the walks and moves the cursor), and the cursors `max_opened_on` /
`max_closed_on` moved on, never past the clock plus its tolerance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sources.contract import parse_ts
from sources.integrity import CursorClock, Rejects, drop_repeats
from sources.pinogy import settings
from sources.progress import ProgressLog


@dataclass
class ReadStats:
    mode: str = "incremental"
    full: bool = False  # every PO was read: load as a full refresh (replace)
    notes: list[str] = field(default_factory=list)  # for the run summary
    pages: int = 0
    single_reads: int = 0
    pos: int = 0
    vanished_open_pos: int = 0
    seen_open: dict[str, str] = field(default_factory=dict)
    max_opened_on: str | None = None
    max_closed_on: str | None = None
    read_ids: set[int] = field(default_factory=set)
    progress: ProgressLog = field(default_factory=lambda: ProgressLog("pinogy", "purchase orders"))
    clock: CursorClock = field(default_factory=lambda: CursorClock(settings.SOURCE_NAME))
    rejects: Rejects = field(default_factory=lambda: Rejects(settings.SOURCE_NAME))


def readable_ts(value: Any) -> datetime | None:
    """Return an ISO timestamp with a zone, or None when it cannot be read (e.g. a negative year)."""
    try:
        moment = parse_ts(value)
    except (TypeError, ValueError, AttributeError):
        return None
    return moment if moment.tzinfo is not None else None


def readable(page: list[dict[str, Any]], stats: ReadStats) -> list[dict[str, Any]]:
    """Return `page` without POs whose `opened_on` cannot be read, each rejected by name.

    `opened_on` orders the walks and moves the cursor, so it is checked before anything else. The same
    list comes back when nothing was rejected.
    """
    good = [po for po in page if readable_ts(po.get("opened_on")) is not None]
    if len(good) == len(page):
        return page
    for po in page:
        if readable_ts(po.get("opened_on")) is None:
            stats.rejects.add(
                "purchase_orders",
                po.get("id"),
                "opened_on",
                po.get("opened_on"),
                "not an ISO timestamp with a zone",
            )
    return good


def seen_batch(pos: list[dict[str, Any]], stats: ReadStats) -> list[dict[str, Any]]:
    """Record a batch in `stats` and return it with one copy per PO: the last within the batch, none for
    a PO already read this run (offsets can shift), none whose `opened_on` is unreadable (rejected)."""
    stats.progress.page(len(pos))
    pos = drop_repeats(readable(pos, stats), stats.read_ids, _po_id)
    for po in pos:
        stats.pos += 1
        if po.get("is_open"):
            stats.seen_open[str(po["id"])] = po["opened_on"]
        else:
            stats.seen_open.pop(str(po["id"]), None)
        stats.max_opened_on = _later(stats, po, "opened_on", stats.max_opened_on)
        stats.max_closed_on = _later(stats, po, "closed_on", stats.max_closed_on)
    return pos


def _later(stats: ReadStats, po: dict[str, Any], key: str, cursor: str | None) -> str | None:
    """Return the later of `cursor` and the PO's `key`, held to the clock (a PO from 2999 is named).

    An unreadable value leaves the cursor as it is; the table contract rejects that PO.
    """
    moment = readable_ts(po.get(key))
    if moment is None:
        return cursor
    held = stats.clock.clamp(moment, f"purchase order {po['id']}", key)
    if cursor is not None and held <= parse_ts(cursor):
        return cursor
    return po[key] if held == moment else held.isoformat()


def _po_id(po: dict[str, Any]) -> Any:
    return po.get("id")
