"""What every Pinnacle Cart resource does around its reads: close the client at its end, screen each
batch's records into tables (the unreadable ones rejected by name), and check a replacing read's size."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any, ParamSpec, TypeVar, cast

from sources.contract import RecordError, screened
from sources.integrity import Rejects
from sources.pinnacle_cart.batches import record_key
from sources.pinnacle_cart.client import PinnacleCartClient, PinnacleCartError
from sources.pinnacle_cart.columns import TableBuilder
from sources.shrink import ShrinkGuard, held_rows

P = ParamSpec("P")
T = TypeVar("T")


def closing_client(resource: Callable[P, Iterator[T]]) -> Callable[P, Iterator[T]]:
    """Close the client's connections when the resource ends, however it ends.

    The resources share one client and run in turn; a closed session opens a new connection when the
    next resource calls, so the last resource to end leaves nothing open.
    """

    @functools.wraps(resource)
    def closing(*args: P.args, **kwargs: P.kwargs) -> Iterator[T]:
        with cast(PinnacleCartClient, args[0]):  # every resource takes the client first
            yield from resource(*args, **kwargs)

    return closing


def check_shrink(
    shrink: ShrinkGuard | None,
    call: str,
    table: str,
    read: int,
    client: PinnacleCartClient,
    count_call: str | None,
) -> None:
    """Refuse a replacing read that holds clearly fewer records than the API counts or the warehouse."""
    api_count = client.counts.get(count_call) if count_call else None
    (shrink or ShrinkGuard()).check(
        PinnacleCartError, call, table, read, held=held_rows(table), api_count=api_count
    )


def batch_tables(
    build: Any,
    builder: TableBuilder,
    batch: list[dict[str, Any]],
    tombstones: bool,
    call: str,
    rejects: Rejects,
    resource: str,
) -> Any:
    """Return the batch's tables (None when every record was rejected).

    A record with an unreadable value is rejected whole, children included (they are replaced as a set),
    and named in `pinnacle_cart.rejects`; a record whose key is missing or unreadable fails the source.
    """
    try:
        return screened(lambda some: build(builder, some, tombstones), batch, rejects, resource, _record_id)
    except RecordError as exc:
        raise PinnacleCartError(
            call, str(exc), "report the record to the shop; the run stopped before loading it"
        ) from None


def _record_id(record: dict[str, Any]) -> Any:
    return (record_key(record) or "?").split("=", 1)[-1]
