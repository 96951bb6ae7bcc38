"""Pinnacle Cart's text values in, typed Arrow columns out: `TableBuilder` and the readers behind it.

Everything the API sends is text (XML) or text-like (JSON): money and other `float` fields become
DECIMAL(18,4), `Yes`/`No` boolean, shop-local dates UTC timestamps, empty elements NULL. A column is cast
in Arrow's C code when it can be, value by value when it cannot; the first unreadable value is named.
Field names the doc does not list are kept as text columns, so drift shows up as a new column rather
than vanishing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc

from sources.contract import RecordError
from sources.pinnacle_cart.fields import ARROW, BOOL, DEC, INT, NESTED, STR, TS, Fields

YES = frozenset({"yes", "y", "true", "1"})
NO = frozenset({"no", "n", "false", "0"})
# MySQL's "no date", which PHP shops print for dates never set.
ZERO_DATES = frozenset({"0000-00-00", "0000-00-00 00:00:00"})


class TableBuilder:
    """Convert text values to typed Arrow columns; dates are read in the shop's time zone."""

    def __init__(self, shop_timezone: str = "UTC") -> None:
        self.zone = ZoneInfo(shop_timezone)
        self._convert: dict[str, Callable[[str], Any]] = {
            STR: str,
            INT: _to_int,
            DEC: _to_decimal,
            BOOL: _to_bool,
            TS: self.to_utc,
        }

    def to_utc(self, text: str) -> datetime | None:
        """Return a shop-local `YYYY-MM-DD HH:MM:SS` (or ISO with offset) as an aware UTC datetime."""
        if text in ZERO_DATES:
            return None
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=self.zone)
        return moment.astimezone(UTC)

    def table(
        self,
        what: str,
        rows: Sequence[dict[str, Any]],
        fields: Fields,
        keys: tuple[str, ...],
        leading: Sequence[tuple[str, pa.DataType, list[Any]]] = (),
        extras: bool = False,
    ) -> pa.Table:
        """Return `rows` (parsed records) typed by `fields`, after `leading` ready-made columns.

        `keys` are declared not-null. With `extras`, top-level text fields not in `fields` become
        string columns named in snake_case.
        """
        names, arrays, arrow_fields = [], [], []
        for name, arrow_type, values in leading:
            names.append(name)
            arrays.append(pa.array(values, arrow_type))
            arrow_fields.append(pa.field(name, arrow_type, nullable=name not in keys))
        for name, path, kind in fields:
            texts = _texts(rows, path)
            if name in keys and None in texts:
                raise RecordError(f"{what}: a record has no {path.split('|')[0]}")
            array = _fast_column(texts, kind)
            if array is None:  # something Arrow's cast does not take: convert value by value, as the doc says
                array = self._slow_column(what, path, kind, texts)
            names.append(name)
            arrays.append(array)
            arrow_fields.append(pa.field(name, ARROW[kind], nullable=name not in keys))
        if extras:
            known = {part.split("/")[0] for _, path, _ in fields for part in path.split("|")} | NESTED
            for tag in sorted(
                {k for row in rows for k, v in row.items() if k not in known and isinstance(v, str)}
            ):
                column = snake(tag)
                if column in names:
                    continue
                names.append(column)
                arrays.append(pa.array([row.get(tag) or None for row in rows], pa.string()))
                arrow_fields.append(pa.field(column, pa.string()))
        return pa.Table.from_arrays(arrays, schema=pa.schema(arrow_fields))

    def _slow_column(self, what: str, path: str, kind: str, texts: list[str | None]) -> pa.Array:
        """Convert value by value; the first value that cannot be read (or does not fit) is named."""
        convert, values = self._convert[kind], []
        for text in texts:
            try:
                values.append(None if text is None else convert(text))
            except (ValueError, InvalidOperation, OverflowError):
                raise _unreadable(what, path, kind, text) from None
        try:
            return pa.array(values, ARROW[kind])
        except (
            pa.ArrowInvalid,
            pa.ArrowTypeError,
            OverflowError,
        ):  # e.g. a number too large for DECIMAL(18,4)
            for text, value in zip(texts, values, strict=True):
                try:
                    pa.array([value], ARROW[kind])
                except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
                    raise _unreadable(what, path, kind, text) from None
            raise


def _unreadable(what: str, path: str, kind: str, text: str | None) -> RecordError:
    field = path.split("|")[0]
    return RecordError(
        f"{what}: field {field} is not {kind}: {str(text)[:40]!r}",
        field if what.startswith("Get") else f"{what}: {field}",
        text,
    )


def _texts(rows: Sequence[dict[str, Any]], path: str) -> list[str | None]:
    """Return each row's text at `path`, None where it is missing or empty."""
    if "|" not in path and "/" not in path:  # most fields: one element, present as text in every record
        values = [row.get(path) for row in rows]
        if all(type(v) is str for v in values):
            return [v or None for v in values]
    return [pick(row, path) or None for row in rows]


def _fast_column(texts: list[str | None], kind: str) -> pa.Array | None:
    """Type a column in Arrow's C code; None when a value needs Python's reading (or is wrong)."""
    try:
        if kind == STR:
            return pa.array(texts, pa.string())
        if kind == INT:
            return pc.cast(pa.array(texts, pa.string()), pa.int64())
        if kind == DEC:  # exact only: anything Arrow would round, or "1,234.5", goes the slow way
            return pc.cast(pa.array(texts, pa.string()), ARROW[DEC])
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None
    return None


def pick(record: dict[str, Any], path: str) -> str | None:
    """Return the text at `path` (`A/B`, alternatives `A|B`); "" for an empty element, None when absent."""
    for alternative in path.split("|"):
        value: Any = record
        for part in alternative.split("/"):
            value = value.get(part) if isinstance(value, dict) else None
            if value is None:
                break
        if value is not None:
            if isinstance(value, dict | list):
                return "" if not value else None  # an empty element parsed as a container
            return str(value)
    return None


def _to_int(text: str) -> int:
    return int(Decimal(text).to_integral_exact()) if "." in text else int(text)


def _to_decimal(text: str) -> Decimal:
    value = Decimal(text.replace(",", ""))
    if not value.is_finite():
        raise ValueError(text)
    return value.quantize(Decimal("0.0001"))


def _to_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in YES:
        return True
    if lowered in NO:
        return False
    raise ValueError(text)


def snake(name: str) -> str:
    """Return `ThumbnailImageUrl` as `thumbnail_image_url`."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()
