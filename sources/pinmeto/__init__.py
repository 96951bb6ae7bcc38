"""PinMeTo: store locations with their opening hours, special hours and networks, with history.

Tables (schema `pinmeto`), all kept with dlt's `scd2` strategy so an old address, old hours or an old
closure flag stays queryable with `_dlt_valid_from` / `_dlt_valid_to`, and a store that disappears from
the API has its rows retired (valid_to set) rather than kept as current:
- `locations`: one version per store (`store_id`) and change.
- `opening_hours`: one row per store, weekday and span (Closed days with no span).
- `special_opening_hours`: one row per store and special date range.
The API has no change filter, so every run reads every page (small data); scd2 writes only what changed.
A store listed twice (in one page or across pages) is kept once, as its last copy: the read is held until
its end (a chain's stores fit in memory), so a repeat cannot give a store two current versions.
Current rows: `where _dlt_valid_to is null` (the staging views in sql/staging do this).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dlt
from dlt.sources import DltResource

from sources.http import CallCounter, redact_errors
from sources.integrity import drop_repeats
from sources.pinmeto import settings
from sources.pinmeto.client import PinmetoClient, PinmetoError
from sources.pinmeto.tables import location_row, opening_hour_rows, special_hour_rows
from sources.progress import ProgressLog
from sources.shrink import DEFAULT_MAX_SHRINK, ShrinkGuard, held_rows

SCD2: Any = {"disposition": "merge", "strategy": "scd2"}


@dlt.source(name=settings.SOURCE_NAME, max_table_nesting=0)
def pinmeto_source(
    account_id: str = dlt.config.value,
    app_id: str = dlt.secrets.value,
    app_secret: str = dlt.secrets.value,
    api_url: str = settings.DEFAULT_API_URL,
    page_size: int = settings.MAX_PAGE_SIZE,
    max_rate_limit_wait: float = settings.DEFAULT_MAX_RATE_LIMIT_WAIT_SECONDS,
    max_shrink: float = DEFAULT_MAX_SHRINK,
    allow_shrink: bool = False,
    counter: CallCounter | None = None,
) -> DltResource:
    """Return the PinMeTo locations resource, configured from `[sources.pinmeto]`; `counter` counts calls."""
    client = PinmetoClient(api_url, account_id, app_id, app_secret, max_rate_limit_wait, counter=counter)
    return locations(client, page_size, ShrinkGuard(max_shrink, allow_shrink))


@dlt.resource(name="locations", write_disposition=SCD2)
@redact_errors
def locations(client: PinmetoClient, page_size: int, shrink: ShrinkGuard | None = None) -> Iterator[Any]:
    """Every location, read whole each run; its hours and special hours go to their own tables."""
    hours_hints = dlt.mark.make_hints(table_name="opening_hours", write_disposition=SCD2)
    special_hints = dlt.mark.make_hints(table_name="special_opening_hours", write_disposition=SCD2)
    progress = ProgressLog(settings.SOURCE_NAME, "locations")
    stores: list[dict[str, Any]] = []
    for page in client.location_pages(page_size):
        progress.page(len(page))
        stores.extend(page)
    progress.done()
    stores = drop_repeats(stores, set(), _store_id)
    # scd2 retires every current store missing from this read: a short read must not retire stores.
    (shrink or ShrinkGuard()).check(
        PinmetoError,
        f"GET {settings.LOCATIONS_PATH.format(account_id=client.account_id)}",
        "locations",
        len(stores),
        held=held_rows("locations", "_dlt_valid_to is null"),
    )
    yield [location_row(record) for record in stores]
    hours = [row for record in stores for row in opening_hour_rows(record)]
    if hours:
        yield dlt.mark.with_hints(hours, hours_hints, create_table_variant=True)
    specials = [row for record in stores for row in special_hour_rows(record)]
    if specials:
        yield dlt.mark.with_hints(specials, special_hints, create_table_variant=True)


def _store_id(record: dict[str, Any]) -> str:
    return str(record["storeId"])
