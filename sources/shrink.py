"""The shrink guard: a read that replaces or retires rows may not shrink a table by more than a fraction.

Every step that replaces a table (a full read) or retires rows missing from a read (PinMeTo's scd2)
first compares what it read with the API's own count, where the API gives one, and with what the
warehouse holds. A read short of either by more than `max_shrink` (default 10%) fails the source with
one line naming both numbers, before anything is loaded: the guard runs at the end of extract, so dlt
discards the extracted rows and rolls back the source's state, and the tables stay as they were.

Config: `max_shrink` and `allow_shrink` under `[sources]` in `.dlt/config.toml` (every source) or
under `[sources.<name>]` (one source); `python -m pipelines run --allow-shrink` allows it for one run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import dlt
from dlt.destinations.exceptions import DatabaseUndefinedRelation

from sources.paging import ErrorFactory

log = logging.getLogger("retail")

DEFAULT_MAX_SHRINK = 0.1
FIX = (
    "check the API's data; if the rows really are gone, run again with --allow-shrink "
    "(or set allow_shrink = true under [sources] in .dlt/config.toml)"
)


@dataclass(frozen=True)
class ShrinkGuard:
    """Refuse a replacing read that holds fewer records than the API counts or the warehouse holds."""

    max_shrink: float = DEFAULT_MAX_SHRINK
    allow: bool = False

    def check(
        self,
        error: ErrorFactory,
        call: str,
        table: str,
        read: int,
        held: int | None,
        api_count: int | None = None,
    ) -> None:
        """Raise `error` when `read` records fall short of `api_count` or `held` by more than the limit."""
        floor = 1.0 - self.max_shrink
        if api_count is not None and read < api_count * floor:
            problem = f"read {read} {table}, but the API counts {api_count}"
        elif held and read < held * floor:
            problem = (
                f"read {read} {table}, the warehouse holds {held}: loading this read would shrink "
                f"{table} by {1 - read / held:.0%}"
            )
        else:
            return
        if self.allow:
            log.warning("%s: %s; allowed (allow_shrink)", call, problem)
            return
        raise error(call, f"{problem}, more than max_shrink {self.max_shrink:.0%}; refusing to load", FIX)


def held_rows(table: str, where: str = "") -> int | None:
    """Return the rows the active pipeline's warehouse holds in `table` (None when it has no such table).

    Called from inside a resource, at the end of its read: the warehouse has not changed since the run
    began, as nothing loads before extract ends.
    """
    pipeline = dlt.current.pipeline()
    with pipeline.sql_client() as sql:
        try:
            rows = sql.execute_sql(
                f"select count(*) from {sql.make_qualified_table_name(table)}"
                + (f" where {where}" if where else "")
            )
        except DatabaseUndefinedRelation:
            return None
    return int(rows[0][0]) if rows else 0
