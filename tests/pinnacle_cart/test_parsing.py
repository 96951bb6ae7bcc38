"""Parsing, checked against the doc's own example XML, its quirks, and hostile or broken pages."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from simulators.pinnacle_cart import BILLION_LAUGHS
from sources.pinnacle_cart.columns import TableBuilder
from sources.pinnacle_cart.payload import PayloadError, from_json, parse_xml
from sources.pinnacle_cart.tables import (
    RecordError,
    customer_tables,
    order_tables,
    product_tables,
)

FIXTURES = Path(__file__).parent / "fixtures"
BUILDER = TableBuilder("America/New_York")


def records(name: str) -> list[dict]:
    body = parse_xml((FIXTURES / name).read_bytes())
    assert isinstance(body, list)
    return [record for _, record in body]


def test_doc_customers_example_parses_field_for_field() -> None:
    customers, addresses = customer_tables(BUILDER, records("doc_get_customers.xml"), tombstones=True)
    assert customers.to_pylist() == [
        {
            "user_id": 1,
            "user_name": "John",
            "billing_full_name": "John Doe",
            "billing_first_name": "John",
            "billing_last_name": "Doe",
            "billing_email": "johndoe@johnsdomain.com",
            "billing_company": None,  # <Company></Company>
            "billing_phone": "6025551212",
            "billing_address_name": None,
            "billing_address_street1": "786876 West test Street",
            "billing_address_street2": None,
            "billing_address_city": "Phoenix",
            "billing_address_state": "AZ",
            "billing_address_zip": "85050",
            "billing_address_country": "US",
        },
        {
            "user_id": 2,
            "user_name": "Jane",
            "billing_full_name": "Jane Doe",
            "billing_first_name": "Jane",
            "billing_last_name": "Doe",
            "billing_email": "janedoe@janesdomain.com",
            "billing_company": None,
            "billing_phone": "6025551212",
            "billing_address_name": None,
            "billing_address_street1": "5452 East test Lane",
            "billing_address_street2": None,
            "billing_address_city": "Phoenix",
            "billing_address_state": "AZ",
            "billing_address_zip": "85050",
            "billing_address_country": "US",
        },
    ]
    assert [
        (r["user_id"], r["address_number"], r["name"], r["street1"], r["street2"], r["zip"], r["_tombstone"])
        for r in addresses.to_pylist()
    ] == [
        (1, 1, "John Doe", "786876 West test Street", None, "85050", None),
        (2, 1, "Jane Doe", "PO Box 5565", None, "85050", None),
    ]
    assert not customers.schema.field("user_id").nullable


def test_doc_product_example_parses_with_the_option_tree_flattened() -> None:
    products, options = product_tables(BUILDER, records("doc_get_products.xml"), tombstones=True)
    [product] = products.to_pylist()
    assert product == {
        "pid": 1,
        "product_id": "Widget1",
        "qoh": 343,
        "price": Decimal("23.0000"),
        "cost": Decimal("12.0000"),
        "taxable": True,
        "weight": Decimal("23.3000"),
        "upc": "12312313",
        "title": "Widget1",
        "url": "http://www.YourSiteName.com/evan/index.php?p=product&id=1",  # &amp; decoded, spaces stripped
        "thumbnail_image_url": "http://www.YourSiteName.com/evanimages/products/thumbs/widget1.jpg",
        "image_url": "http://www.YourSiteName.com/evanimages/products/widget1.jpg",
        "discontinued": False,
    }
    rows = {r["option_key"]: r for r in options.to_pylist()}
    assert list(rows) == ["1", "1.1", "1.2", "1.3", "1.4"]
    top = rows["1"]
    assert (
        top["title"],
        top["caption"],
        top["option_id"],
        top["type"],
        top["parent_option_key"],
        top["depth"],
    ) == (
        "sdfgsdfg",
        "sdfg sdfgsdg",
        "1",
        "select",
        None,
        1,
    )
    assert top["weight"] is None and top["price"] == Decimal(0) and top["priority"] == "5"
    small = rows["1.1"]
    assert (small["option_id"], small["parent_option_key"], small["parent_option_id"], small["depth"]) == (
        "1-Small",
        "1",
        "1",
        2,
    )
    assert (small["price"], small["cost"], small["weight"], small["type"]) == (
        Decimal("-25.00"),
        Decimal("-25.00"),
        Decimal("-0.25"),
        None,
    )
    assert [rows[k]["title"] for k in ("1.2", "1.3", "1.4")] == ["Medium", "Large", "X-Large"]
    assert rows["1.4"]["price"] == Decimal("10.00")


def test_bare_count_and_version_are_text() -> None:
    assert parse_xml(b"<Response>5734</Response>") == "5734"
    assert parse_xml(b"<?xml version='1.0'?>\n<Response>\n  471\n</Response>") == "471"
    assert parse_xml(b"<Response></Response>") == ""


def test_order_quirks_billing_spellings_typo_yes_no_and_dates() -> None:
    order = {
        "OrderId": "7",
        "OrderDate": "2026-07-01 09:30:00",
        "StatusDate": "0000-00-00 00:00:00",
        "ShippingTaxable": "Yes",
        "HandlingSeparated": "No",
        "ShippintTaxAmount": "1.25",
        "Billing": {"FullName": "Typed As Billing", "Address": {"City": "Easton"}},
        "ShippingInfo": {"FullName": "Ship To", "Address": ""},
        "OrderItems": [{"PID": "3", "Quantity": "2", "Price": "9.99", "UpdatedQuanity": "1", "Options": ""}],
        "BrandNewField": "kept",
    }
    orders, items, options = order_tables(BUILDER, [order], tombstones=True)
    [row] = orders.to_pylist()
    assert row["order_date"] == datetime(2026, 7, 1, 13, 30, tzinfo=UTC)  # EDT is UTC-4
    assert row["status_date"] is None
    assert (row["shipping_taxable"], row["handling_separated"]) == (True, False)
    assert row["shipping_tax_amount"] == Decimal("1.25")
    assert (row["billing_full_name"], row["billing_address_city"]) == ("Typed As Billing", "Easton")
    assert row["shipping_full_name"] == "Ship To" and row["brand_new_field"] == "kept"
    [item] = items.to_pylist()
    assert (item["order_id"], item["line_number"], item["quantity"], item["updated_quantity"]) == (7, 1, 2, 1)
    [marker] = options.to_pylist()  # no options: one marker row clears the order's old ones on merge
    assert marker["_tombstone"] is True and marker["order_id"] == 7


def test_bad_values_are_clear_record_errors() -> None:
    with pytest.raises(RecordError, match="Taxable is not bool: 'Maybe'"):
        product_tables(BUILDER, [{"PID": "1", "Taxable": "Maybe"}], tombstones=False)
    with pytest.raises(RecordError, match="Price is not dec"):
        product_tables(BUILDER, [{"PID": "1", "Price": "12,50 EUR"}], tombstones=False)
    with pytest.raises(RecordError, match="no PID"):
        product_tables(BUILDER, [{"Title": "no id"}], tombstones=False)


def test_a_column_arrow_cannot_cast_is_read_value_by_value_with_the_same_meaning() -> None:
    # Each column mixes plain values (Arrow's fast cast) with ones only Python's reading takes.
    products = [
        {"PID": "1", "Price": "12.5", "Cost": "", "Qoh": "05", "UPC": "0001"},
        {"PID": "2", "Price": "1,234.5", "Cost": "3", "Qoh": " 7", "UPC": ""},
        {"PID": "3", "Price": "12.34567", "Cost": "0.1", "Qoh": "8.0", "UPC": {}},
    ]
    table, _ = product_tables(BUILDER, products, tombstones=False)
    rows = {r["pid"]: r for r in table.to_pylist()}
    assert [rows[p]["price"] for p in (1, 2, 3)] == [Decimal("12.5"), Decimal("1234.5"), Decimal("12.3457")]
    assert [rows[p]["cost"] for p in (1, 2, 3)] == [None, Decimal("3"), Decimal("0.1")]
    assert [rows[p]["qoh"] for p in (1, 2, 3)] == [5, 7, 8]
    assert [rows[p]["upc"] for p in (1, 2, 3)] == ["0001", None, None]  # empty text and empty element
    with pytest.raises(RecordError, match="Qoh is not int: '7x'"):
        product_tables(BUILDER, [{"PID": "1", "Qoh": "5"}, {"PID": "2", "Qoh": "7x"}], tombstones=False)


def test_billion_laughs_and_external_entities_are_refused_without_expansion() -> None:
    with pytest.raises(PayloadError, match="DOCTYPE"):
        parse_xml(BILLION_LAUGHS)
    external = b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><Response>&x;</Response>'
    with pytest.raises(PayloadError, match="DOCTYPE"):
        parse_xml(external)
    with pytest.raises(PayloadError, match="undefined entity"):
        parse_xml(b"<Response>&x;</Response>")


def test_malformed_xml_is_a_payload_error() -> None:
    with pytest.raises(PayloadError, match="malformed XML"):
        parse_xml(b"<Response><Customer><UserId>1</UserId>")
    with pytest.raises(PayloadError, match="malformed XML"):
        parse_xml(b"<html>Fatal error: Allowed memory size exhausted")


def test_json_shape_gives_the_same_records_as_xml() -> None:
    xml = records("doc_get_customers.xml")
    as_json = from_json(xml)  # the JSON we assume: an array of the same objects
    assert isinstance(as_json, list) and [r for _, r in as_json] == xml
    assert from_json(5734) == "5734"
    assert from_json({"Error": "Invalid token"}) == [("Error", "Invalid token")]
