"""The table-contract plumbing every source shares: column types and hints, tombstones, record errors, time.

- Money is DECIMAL(18,4) and timestamps are UTC: `MONEY` / `UTC_TIMESTAMP` for Arrow tables, and
  `column_hints` for the dlt hints that must agree with them (fresh dicts per call: dlt writes each
  column's name into its dict).
- A child table replaced as a set per parent marks a row that only clears a parent's old children with
  `TOMBSTONE` (dlt `hard_delete`), declared by `TOMBSTONE_HINT`.
- `RecordError`: a record that does not fit its table (see `integrity.UnreadableValue` for how a named
  field gets the record rejected and a missing key fails the source).
- `parse_ts`: an ISO timestamp as the APIs send it (`Z` or an offset).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import pyarrow as pa

from sources.integrity import UnreadableValue

MONEY = pa.decimal128(18, 4)
UTC_TIMESTAMP = pa.timestamp("us", tz="UTC")

# Column hints for dlt; they must agree with the Arrow types above.
MONEY_HINT = {"data_type": "decimal", "precision": 18, "scale": 4}
TIMESTAMP_HINT = {"data_type": "timestamp", "timezone": True}

# Marks a child row that only clears the children of a parent that now has none (dlt `hard_delete`).
TOMBSTONE = "_tombstone"
TOMBSTONE_HINT = {TOMBSTONE: {"data_type": "bool", "hard_delete": True}}


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


class RecordError(UnreadableValue):
    """A record that does not fit the contract (a number that is not a number, a missing key)."""


def parse_ts(value: str) -> datetime:
    """Return an ISO timestamp (`...Z` or with an offset) as a datetime."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
