"""The table-contract plumbing every source shares: column types and hints, tombstones, record errors, time.

- Money is DECIMAL(18,4) and timestamps are UTC: `MONEY` / `UTC_TIMESTAMP` for Arrow tables, and
  `column_hints` for the dlt hints that must agree with them (fresh dicts per call: dlt writes each
  column's name into its dict).
- A child table replaced as a set per parent marks a row that only clears a parent's old children with
  `TOMBSTONE` (dlt `hard_delete`), declared by `TOMBSTONE_HINT`.
- `RecordError`: a record that does not fit its table (see `integrity.UnreadableValue` for how a named
  field gets the record rejected and a missing key fails the source).
- `parent_hints` / `child_hints`: the hints of a parent table and of a child table replaced as a set
  per parent; `screened`: a batch's tables with each record holding an unreadable value rejected by name.
- `parse_ts`: an ISO timestamp as the APIs send it (`Z` or an offset).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, TypeVar

import dlt
import pyarrow as pa

from sources.integrity import Rejects, UnreadableValue

Record = TypeVar("Record", bound=dict[str, Any])

MONEY = pa.decimal128(18, 4)
UTC_TIMESTAMP = pa.timestamp("us", tz="UTC")

# Column hints for dlt; they must agree with the Arrow types above.
MONEY_HINT = {"data_type": "decimal", "precision": 18, "scale": 4}
TIMESTAMP_HINT = {"data_type": "timestamp", "timezone": True}

# Marks a child row that only clears the children of a parent that now has none (dlt `hard_delete`).
TOMBSTONE = "_tombstone"
TOMBSTONE_HINT: dict[str, Any] = {TOMBSTONE: {"data_type": "bool", "hard_delete": True}}


class RecordError(UnreadableValue):
    """A record that does not fit the contract (a number that is not a number, a missing key)."""


def column_hints(columns: Iterable[tuple[str, pa.DataType]]) -> dict[str, dict[str, Any]]:
    """Return dlt column hints for the money and timestamp columns among (name, Arrow type) pairs, in
    their order, as fresh dicts."""
    hints: dict[str, dict[str, Any]] = {}
    for name, arrow_type in columns:
        if arrow_type == MONEY:
            hints[name] = dict(MONEY_HINT)
        elif arrow_type == UTC_TIMESTAMP:
            hints[name] = dict(TIMESTAMP_HINT)
    return hints


def parent_hints(table: str, disposition: str, primary_key: str, columns: dict[str, Any]) -> Any:
    """Hints of a parent table, keyed by `primary_key`."""
    return dlt.mark.make_hints(
        table_name=table,
        write_disposition=disposition,  # type: ignore[arg-type]
        primary_key=primary_key,
        columns=columns,
    )


def child_hints(table: str, disposition: str, merge_key: str, columns: dict[str, Any]) -> Any:
    """Hints of a child table, replaced as a set per parent through `merge_key`.

    Its rows are unique by construction (each parent is read once per run), and it deliberately has no
    primary key: dlt would delete with `key = .. OR merge_key = ..`, a nested-loop join that made a 1%
    night cost half a full sync on a million lines.
    """
    return dlt.mark.make_hints(
        table_name=table,
        write_disposition=disposition,  # type: ignore[arg-type]
        merge_key=merge_key,
        # hard_delete only means something to a merge (dlt warns about it on replace).
        columns={**columns, **TOMBSTONE_HINT} if disposition == "merge" else columns,
    )


def screened(
    build: Callable[[list[Record]], Any],
    batch: list[Record],
    rejects: Rejects,
    resource: str,
    record_id: Callable[[Record], Any],
) -> Any:
    """Return `build(batch)`; when a record holds an unreadable value, reject it whole (children
    included: they are replaced as a set) and build the rest (None when nothing is left).

    A `RecordError` without a field (a missing or unreadable key) is raised: the source fails on it.
    """
    try:
        return build(batch)
    except RecordError as exc:
        if exc.field is None:
            raise
    good = rejects.screen(resource, batch, build, record_id)
    return build(good) if good else None


def parse_ts(value: str) -> datetime:
    """Return an ISO timestamp (`...Z` or with an offset) as a datetime."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
