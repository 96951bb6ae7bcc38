"""Pinogy POS: purchase orders and their lines, incremental, as Arrow tables.

Tables (schema `pinogy`):
- `purchase_orders`: one row per PO, key `id`; `deleted` is Pinogy's MFD flag, kept as a column.
- `purchase_order_lines`: one row per line, key `id`, `transaction_id` = the PO's id; a reloaded PO's
  lines replace its old ones as a set (merge key `transaction_id`).

First run and `--full-refresh` (or every `full_refresh_every_days`) read everything and replace both
tables, so POs that vanished from the API disappear. Other runs read POs opened since the last run
minus `lookback_hours`, plus every PO that was still open at the last run.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import dlt
import pyarrow as pa
from dlt.sources import DltResource

from sources.contract import RecordError, child_hints, parent_hints, parse_ts, screened
from sources.http import CallCounter, redact_errors
from sources.integrity import DEFAULT_CURSOR_TOLERANCE_HOURS, CursorClock, Rejects
from sources.memory import release_freed_memory
from sources.pinogy import settings
from sources.pinogy.client import PinogyClient, PinogyError
from sources.pinogy.read_stats import ReadStats
from sources.pinogy.sync import needs_full_read, read_purchase_orders
from sources.pinogy.tables import LINE_COLUMNS, PO_COLUMNS, purchase_order_tables
from sources.shrink import DEFAULT_MAX_SHRINK, ShrinkGuard, held_rows


@dlt.source(name=settings.SOURCE_NAME, max_table_nesting=0)
def pinogy_source(
    api_host: str = dlt.config.value,
    access_key: str = dlt.secrets.value,
    secret_key: str = dlt.secrets.value,
    password: str = dlt.secrets.value,
    app_id: int = settings.DEFAULT_APP_ID,
    lookback_hours: int = settings.DEFAULT_LOOKBACK_HOURS,
    full_refresh_every_days: int = settings.DEFAULT_FULL_REFRESH_EVERY_DAYS,
    page_size: int = settings.MAX_PAGE_SIZE,
    full_refresh: bool = False,
    cursor_tolerance_hours: float = DEFAULT_CURSOR_TOLERANCE_HOURS,
    max_shrink: float = DEFAULT_MAX_SHRINK,
    allow_shrink: bool = False,
    counter: CallCounter | None = None,
) -> DltResource:
    """Return the Pinogy purchase-order resource, from `[sources.pinogy]`; `counter` counts its calls."""
    client = PinogyClient(api_host, access_key, secret_key, password, app_id, counter)
    return purchase_orders(
        client,
        timedelta(hours=lookback_hours),
        full_refresh_every_days,
        min(page_size, settings.MAX_PAGE_SIZE),
        full_refresh,
        cursor_tolerance_hours,
        ShrinkGuard(max_shrink, allow_shrink),
    )


# Table hints live in `make_hints` below, one variant per table: hints declared here would be inherited by
# the lines table too (a primary key there makes dlt delete with `id = .. OR transaction_id = ..`, a
# nested-loop join that made a 1% night cost half a full sync on a million lines).
@dlt.resource(name="purchase_orders", write_disposition="merge")
@redact_errors
def purchase_orders(
    client: PinogyClient,
    lookback: timedelta,
    full_refresh_every_days: int,
    page_size: int,
    full_refresh: bool = False,
    cursor_tolerance_hours: float = DEFAULT_CURSOR_TOLERANCE_HOURS,
    shrink: ShrinkGuard | None = None,
) -> Iterator[Any]:
    """Purchase orders opened since the last run or still open at it, each with all its lines."""
    state = dlt.current.resource_state()
    now = datetime.now(UTC)
    clock = CursorClock(settings.SOURCE_NAME, cursor_tolerance_hours, now)
    future = [
        clock.saved_in_future(parse_ts(state[key]), f"cursor {key}")
        for key in ("max_opened_on", "max_closed_on")
        if state.get(key)
    ]
    full = needs_full_read(state, now, full_refresh, full_refresh_every_days) or any(future)
    stats = ReadStats(clock=clock, rejects=Rejects(settings.SOURCE_NAME))
    with client:
        for batch in read_purchase_orders(client, state, full, lookback, page_size, stats):
            # A night that ended up reading everything says so before its first batch: load it as a
            # full refresh (replace), which costs less than a merge and drops POs that vanished.
            tables = _tables(batch, not stats.full, stats.rejects) if batch else None
            if tables is None:
                continue
            po_hints, line_hints = _hints("replace" if stats.full else "merge")
            yield dlt.mark.with_hints(tables[0], po_hints, create_table_variant=True)
            yield dlt.mark.with_hints(tables[1], line_hints, create_table_variant=True)
    stats.progress.done()
    if stats.full:  # a full read replaces both tables: it must hold what the API and the warehouse hold
        (shrink or ShrinkGuard()).check(
            PinogyError,
            f"GET {settings.PURCHASE_ORDERS_PATH} (full read)",
            "purchase_orders",
            stats.pos,
            held=held_rows("purchase_orders"),
            api_count=client.last_total,
        )
    clock.report_future()
    yield from stats.rejects.flush()
    release_freed_memory()  # the load step into DuckDB starts from what extract still holds
    # Reached only when every page was read: dlt commits this state with the data it describes.
    # Every PO open at the last run was read again (or has vanished), so the open set is what was seen.
    state["open_pos"] = dict(stats.seen_open)
    if stats.full:
        state["last_full_refresh_at"] = now.isoformat()
    # A read of everything resets both cursors to what it saw (never past the clock: `_seen` held them).
    for key, seen in (("max_opened_on", stats.max_opened_on), ("max_closed_on", stats.max_closed_on)):
        previous = state.get(key)
        if stats.full or (seen and (not previous or parse_ts(seen) > parse_ts(previous))):
            state[key] = seen
    state["last_run"] = {
        "mode": stats.mode,
        "pages": stats.pages,
        "single_reads": stats.single_reads,
        "purchase_orders": stats.pos,
        "api_calls": client.calls,
        "notes": stats.notes,
    }


def _hints(disposition: Literal["replace", "merge"]) -> tuple[Any, Any]:
    # Lines: `id` is unique (each PO is read once per run), `transaction_id` replaces a PO's lines as a set.
    return (
        parent_hints("purchase_orders", disposition, "id", PO_COLUMNS),
        child_hints("purchase_order_lines", disposition, "transaction_id", LINE_COLUMNS),
    )


def _tables(
    batch: list[dict[str, Any]], tombstones: bool, rejects: Rejects
) -> tuple[pa.Table, pa.Table] | None:
    """Return the batch as PO and line tables; a PO with an unreadable value (its own or a line's) is
    rejected whole, since its lines are replaced as a set. A PO without a key fails the source."""
    try:
        return screened(
            lambda some: purchase_order_tables(some, tombstones), batch, rejects, "purchase_orders", _po_id
        )
    except RecordError as exc:
        ids = f"{batch[0].get('id')}..{batch[-1].get('id')}"
        raise PinogyError(
            f"GET {settings.PURCHASE_ORDERS_PATH} (purchase orders {ids})",
            str(exc),
            "report the record to Pinogy; the run stopped before loading it",
        ) from None


def _po_id(po: dict[str, Any]) -> Any:
    return po.get("id")
