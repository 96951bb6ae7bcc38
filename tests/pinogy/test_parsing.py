"""Signing and parsing, checked against a hand-computed vector and the doc's own example payloads."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from simulators.pinogy import sign as simulator_sign
from sources.pinogy.signing import signature, utc_timestamp
from sources.pinogy.sync import open_po_horizon
from sources.pinogy.tables import RecordError, purchase_order_tables

DOC = json.loads((Path(__file__).parent / "fixtures" / "doc_examples.json").read_text())


def test_signature_matches_hand_computed_vector() -> None:
    # printf '/api/purchase_orders2026-11-22T08:00:00Z' \
    #   | openssl dgst -sha256 -hmac TEST-SECRET-KEY-91bc -binary | base64
    expected = "yRWax9568paqBOQESfyosUsJ+2uYaj9IfNqL/0AWmYQ="
    assert signature("TEST-SECRET-KEY-91bc", "/api/purchase_orders", "2026-11-22T08:00:00Z") == expected
    assert simulator_sign("TEST-SECRET-KEY-91bc", "/api/purchase_orders", "2026-11-22T08:00:00Z") == expected


def test_timestamp_format_is_utc_seconds_with_z() -> None:
    assert utc_timestamp(datetime(2026, 11, 22, 8, 0, 5, 123456, tzinfo=UTC)) == "2026-11-22T08:00:05Z"


def test_doc_list_example_parses_with_exact_types() -> None:
    pos, lines = purchase_order_tables(DOC["list"]["objects"])
    assert pos.num_rows == 2 and lines.num_rows == 2  # one tombstone per PO without lines
    rows = {r["id"]: r for r in pos.to_pylist()}
    assert pos.schema.field("grand_total").type == pa.decimal128(18, 4)
    assert rows[6646]["grand_total"] == Decimal("6.75")
    assert rows[6738]["opened_on"] == datetime(2023, 12, 13, 21, 59, 42, 143837, tzinfo=UTC)
    assert rows[6646]["closed_on"] == datetime(2023, 11, 24, 18, 41, 29, 669450, tzinfo=UTC)
    assert rows[6646]["closed_date_tz"].isoformat() == "2023-11-24"
    assert rows[6738]["is_open"] is True and rows[6738]["deleted"] is False
    assert json.loads(rows[6738]["options"])["Safety Stock Max Days"] == 18
    assert json.loads(rows[6646]["options"]) == {}


def test_doc_detail_example_with_lines_keeps_decimals_and_parent_id() -> None:
    pos, lines = purchase_order_tables([DOC["get_with_lines"]])
    assert pos.num_rows == 1 and lines.num_rows == 4
    by_id = {r["id"]: r for r in lines.to_pylist()}
    assert by_id[233479]["expected_cost"] == Decimal("1.3729")
    assert by_id[233479]["qty"] == Decimal("24.00")
    assert {r["transaction_id"] for r in by_id.values()} == {6738}
    assert by_id[232774]["tax_info"] == "[]"
    assert by_id[232774]["posted_on"].tzinfo is not None


def test_unknown_field_becomes_a_column_and_bad_number_is_a_clear_error() -> None:
    po = dict(DOC["get"], brand_new_field="x")
    pos, _ = purchase_order_tables([po])
    assert "brand_new_field" in pos.column_names
    with pytest.raises(RecordError, match="grand_total"):
        purchase_order_tables([dict(DOC["get"], grand_total="12,50 EUR")])
    with pytest.raises(RecordError, match="'id'"):
        purchase_order_tables([dict(DOC["get"], id=None)])


def test_open_po_horizon_prefers_paging_for_many_recent_and_single_reads_for_few_old() -> None:
    edge = datetime(2026, 11, 1, tzinfo=UTC)
    rate = 1000 / 86400  # one page per day of history
    many_recent = [edge - timedelta(hours=h) for h in range(1, 50)]
    assert open_po_horizon(many_recent, edge, rate, 1000) == many_recent[-1]
    few_old = [edge - timedelta(days=300), edge - timedelta(days=400)]
    assert open_po_horizon(few_old, edge, rate, 1000) is None
