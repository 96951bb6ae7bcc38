"""What every source does to its records before they load: repeats dropped, cursors kept behind the clock,
unreadable values named and set aside. One rule per class of fault, shared by the four sources.

- Repeats: `drop_repeats` keeps one copy of each key. Within one page the last copy wins (it is what the
  API said last). A key already handed to dlt from an earlier page of the same read is dropped: that copy
  is already on its way to the load, and recalling it would mean holding the whole read in memory.
- Cursors: `CursorClock` holds a cursor (newest date seen) to now + a tolerance (`cursor_tolerance_hours`,
  default 24). A record dated later still loads; the run summary names it. A saved cursor already past
  that point means the nights since it was saved may have missed records: the source reads everything.
- Unreadable values: a builder raises `UnreadableValue` naming the field and the raw value; `Rejects`
  logs one line per record (source, resource, id, field, raw value), keeps the rest loading, and writes
  the rejected records to the `rejects` table of the source's schema in the same load as the data.
- Notes: `report_note` / `take_notes` carry these warnings to the run summary.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, TypeVar

import dlt

from sources.http import redact

log = logging.getLogger("retail")

DEFAULT_CURSOR_TOLERANCE_HOURS = 24.0
REJECTS_TABLE = "rejects"
MAX_NAMED = 5  # records named one by one per source and kind of note; the rest are counted

_notes: dict[str, list[str]] = {}
_notes_lock = threading.Lock()

Record = TypeVar("Record", bound=dict[str, Any])
Row = TypeVar("Row")


def report_note(source: str, text: str) -> None:
    """Add a line to `source`'s notes in the run summary."""
    with _notes_lock:
        _notes.setdefault(source, []).append(text)


def take_notes(source: str) -> list[str]:
    """Return and forget the notes `source` reported in this process."""
    with _notes_lock:
        return _notes.pop(source, [])


# --- repeats --------------------------------------------------------------------------------------------
def drop_repeats(batch: Sequence[Record], seen: set[Any], key: Callable[[Record], Any]) -> list[Record]:
    """Return `batch` with one copy per key: the last within the batch, none for a key in `seen`.

    `seen` holds the keys handed on from earlier batches of the same read and is updated. A record
    without a key passes through (the table builder names what is missing).
    """
    latest: dict[Any, Record] = {}
    keyless: list[Record] = []
    for record in batch:
        value = key(record)
        if value is None or value == "":
            keyless.append(record)
            continue
        latest.pop(value, None)  # the last copy takes the last copy's place
        latest[value] = record
    if len(latest) + len(keyless) == len(batch) and not seen.intersection(latest):
        seen.update(latest)
        return list(batch)  # the usual case: nothing repeated, order kept
    kept = [record for value, record in latest.items() if value not in seen]
    seen.update(latest)
    kept.extend(keyless)
    repeats = len(batch) - len(kept)
    if repeats:
        log.info("dropped %d repeated record(s) of a page (the last copy in a page wins)", repeats)
    return kept


# --- cursors --------------------------------------------------------------------------------------------
@dataclass
class CursorClock:
    """The latest moment a cursor may hold: now + `tolerance_hours`, in `zone` (naive moments are local)."""

    source: str
    tolerance_hours: float = DEFAULT_CURSOR_TOLERANCE_HOURS
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    zone: tzinfo = UTC
    future: int = 0

    @property
    def limit(self) -> datetime:
        return (self.now + timedelta(hours=self.tolerance_hours)).astimezone(self.zone)

    def _aware(self, moment: datetime) -> datetime:
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=self.zone)

    def clamp(self, moment: datetime, record: str, field_name: str) -> datetime:
        """Return `moment`, or the limit when it lies beyond it (and name the record in the summary)."""
        if self._aware(moment) <= self.limit:
            return moment
        self.future += 1
        if self.future <= MAX_NAMED:
            text = (
                f"{record} has {field_name} {moment.isoformat()}, after now + {self.tolerance_hours:g}h: "
                f"loaded, but the cursor stops at {self.limit.isoformat(timespec='seconds')}"
            )
            log.warning("%s: %s", self.source, text)
            report_note(self.source, text)
        limit = self.limit
        return limit if moment.tzinfo is not None else limit.replace(tzinfo=None)

    def saved_in_future(self, moment: datetime | None, what: str) -> bool:
        """Return True (and say so) when a cursor saved by an earlier run lies beyond the limit."""
        if moment is None or self._aware(moment) <= self.limit:
            return False
        text = (
            f"the saved {what} {moment.isoformat()} is after now + {self.tolerance_hours:g}h; "
            "reading everything this run so nothing it hid is missed"
        )
        log.warning("%s: %s", self.source, text)
        report_note(self.source, text)
        return True

    def report_future(self) -> None:
        if self.future > MAX_NAMED:
            report_note(self.source, f"{self.future - MAX_NAMED} more records dated after the cursor limit")


# --- unreadable values ----------------------------------------------------------------------------------
class UnreadableValue(ValueError):
    """A value that does not fit its column. With `field` set, the record can be named and set aside;
    without (a missing or unreadable key), the record cannot be named and the source fails."""

    def __init__(self, message: str, field: str | None = None, value: Any = None) -> None:
        super().__init__(message)
        self.field, self.value = field, value


def raw_text(value: Any) -> str:
    """Return a raw value as text for the rejects table (JSON for numbers and structures)."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return redact(text[:200])


def _reject_columns() -> dict[str, Any]:
    text = {"data_type": "text", "nullable": True}
    return {
        "source": dict(text),
        "resource": dict(text),
        "record_id": dict(text),
        "field": dict(text),
        "raw_value": dict(text),
        "reason": dict(text),
        "rejected_at": {"data_type": "timestamp", "timezone": True},
    }


@dataclass
class Rejects:
    """Records of one source set aside for an unreadable value, for the `rejects` table."""

    source: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    total: int = 0

    def add(self, resource: str, record_id: Any, field_name: str, raw: Any, reason: str) -> None:
        """Set one record aside, with one log line naming the source, record, field and raw value."""
        self.total += 1
        raw_value = raw_text(raw)
        log.warning(
            "%s: %s %s: field %s has the unreadable value %r (%s); rejected, the rest loads (see %s.%s)",
            self.source,
            resource,
            record_id,
            field_name,
            raw_value,
            reason,
            self.source,
            REJECTS_TABLE,
        )
        self.rows.append(
            {
                "source": self.source,
                "resource": resource,
                "record_id": str(record_id),
                "field": field_name,
                "raw_value": raw_value,
                "reason": redact(reason),
                "rejected_at": datetime.now(UTC),
            }
        )

    def screen(
        self,
        resource: str,
        records: Sequence[Record],
        build: Callable[[list[Record]], Any],
        record_id: Callable[[Record], Any],
    ) -> list[Record]:
        """Return the records `build` accepts one by one; reject each it refuses for a named field.

        Called after `build` refused a whole batch, so the cost is paid only when something is wrong.
        An `UnreadableValue` without a field (a missing key) is raised: such a record cannot be named.
        """
        good = []
        for record in records:
            try:
                build([record])
            except UnreadableValue as exc:
                if exc.field is None:
                    raise
                self.add(resource, record_id(record), exc.field, exc.value, str(exc))
            else:
                good.append(record)
        return good

    def convert(
        self,
        resource: str,
        records: Sequence[Record],
        build_row: Callable[[Record], Row],
        record_id: Callable[[Record], Any],
    ) -> list[tuple[Record, Row]]:
        """Return (record, row) for each record `build_row` converts; reject each it refuses by name."""
        out = []
        for record in records:
            try:
                out.append((record, build_row(record)))
            except UnreadableValue as exc:
                if exc.field is None:
                    raise
                self.add(resource, record_id(record), exc.field, exc.value, str(exc))
        return out

    def flush(self) -> Iterator[Any]:
        """Yield the rejected records for the `rejects` table, once, and put their count in the summary."""
        if not self.rows:
            return
        rows, self.rows = self.rows, []
        report_note(
            self.source,
            f"{len(rows)} record(s) rejected for an unreadable value: "
            f"select * from {self.source}.{REJECTS_TABLE}",
        )
        hints = dlt.mark.make_hints(
            table_name=REJECTS_TABLE,
            write_disposition="append",
            columns=_reject_columns(),
            primary_key=[],  # not the resource's own keys, which a variant would inherit
            merge_key=[],
        )
        yield dlt.mark.with_hints(rows, hints, create_table_variant=True)
