"""The table contract of Pinnacle Cart: each column's name, the XML path it comes from, and its type.

A path names the doc's XML elements (`BillingInfo/Address/City`); `|` separates spellings the API may
use for one field (the doc's type says `Billing`, its XML `<BillingInfo>`; `ShippintTaxAmount` is the
doc's own typo). Kinds: text, integer, DECIMAL(18,4) (money and every other `float`), `Yes`/`No`
boolean, and a shop-local date read as a UTC timestamp.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from sources import contract
from sources.contract import MONEY, UTC_TIMESTAMP

STR, INT, DEC, BOOL, TS = "str", "int", "dec", "bool", "ts"
ARROW = {STR: pa.string(), INT: pa.int64(), DEC: MONEY, BOOL: pa.bool_(), TS: UTC_TIMESTAMP}

# (column, path of XML element names, kind). Alternatives for one column are separated by "|".
ADDRESS = [
    ("name", "Name", STR),
    ("street1", "Street1", STR),
    ("street2", "Street2", STR),
    ("city", "City", STR),
    ("state", "State", STR),
    ("zip", "Zip", STR),
    ("country", "Country", STR),
]
PERSON = [
    ("full_name", "FullName", STR),
    ("first_name", "FirstName", STR),
    ("last_name", "LastName", STR),
    # The doc types Email, Company and Phone as integers; they are text.
    ("email", "Email", STR),
    ("company", "Company", STR),
    ("phone", "Phone", STR),
    *[(f"address_{col}", f"Address/{path}", kind) for col, path, kind in ADDRESS],
]
# The doc's type says `Billing`, its XML example says `<BillingInfo>`: accept both.
BILLING = [(f"billing_{col}", f"BillingInfo/{p}|Billing/{p}", k) for col, p, k in PERSON]
SHIPPING = [
    (f"shipping_{col}", f"ShippingInfo/{p}|Shipping/{p}", k)
    for col, p, k in PERSON
    if col not in ("first_name", "last_name")  # ApiShippingInfo has neither
]

ORDER_FIELDS = [
    ("order_id", "OrderId", INT),
    ("order_number", "OrderNumber", INT),
    ("order_date", "OrderDate", TS),
    ("status", "Status", STR),
    ("status_date", "StatusDate", TS),
    ("payment_method", "PaymentMethod", STR),
    ("payment_status", "PaymentStatus", STR),
    ("shipping_carrier_id", "ShippingCarrierId", STR),
    ("shipping_method_id", "ShippingMethodId", STR),
    ("shipping_method_name", "ShippingMethodName", STR),
    ("shipping_amount", "ShippingAmount", DEC),
    ("shipping_taxable", "ShippingTaxable", BOOL),
    ("shipping_tax_rate", "ShippingTaxRate", DEC),
    # The doc spells it `ShippintTaxAmount`; accept the spelling a fixed shop would send too.
    ("shipping_tax_amount", "ShippintTaxAmount|ShippingTaxAmount", DEC),
    ("shipping_tax_description", "ShippingTaxDescription", STR),
    ("handling_separated", "HandlingSeparated", BOOL),
    ("handling_fee", "HandlingFee", DEC),
    ("handling_fee_type", "HandlingFeeType", STR),
    ("handling_amount", "HandlingAmount", DEC),
    ("handling_taxable", "HandlingTaxable", BOOL),
    ("handling_tax_rate", "HandlingTaxRate", DEC),
    ("handling_tax_amount", "HandlingTaxAmount", DEC),
    ("handling_tax_description", "HandlingTaxDescription", STR),
    ("handling_text", "HandlingText", STR),
    ("subtotal_amount", "SubtotalAmount", DEC),
    ("discount_amount", "DiscountAmount", DEC),
    ("discount_value", "DiscountValue", DEC),
    ("discount_type", "DiscountType", STR),
    ("promo_discount_amount", "PromoDiscountAmount", DEC),
    ("promo_discount_value", "PromoDiscountValue", DEC),
    ("promo_discount_type", "PromoDiscountType", STR),
    ("tax_amount", "TaxAmount", DEC),
    ("total_amount", "TotalAmount", DEC),
    ("gift_message", "GiftMessage", STR),
    *BILLING,
    *SHIPPING,
]
ORDER_ITEM_FIELDS = [
    ("pid", "PID", INT),
    ("quantity", "Quantity", INT),
    ("price", "Price", DEC),
    ("taxable", "Taxable", BOOL),
    ("weight", "Weight", DEC),
    ("free_shipping", "FreeShipping", BOOL),
    ("shipping_price", "ShippingPrice", DEC),
    ("tax_rate", "TaxRate", DEC),
    ("tax_description", "TaxDescription", STR),
    ("digital_product", "DigitalProduct", BOOL),
    # Spelled `UpdatedQuanity` in the doc.
    ("updated_quantity", "UpdatedQuanity|UpdatedQuantity", INT),
    ("updated_price", "UpdatedPrice", DEC),
    ("product_id", "ProductId", STR),
    ("product_sub_id", "ProductSubId", STR),
    ("sku", "SKU", STR),
    ("upc", "UPC", STR),
    ("title", "Title", STR),
    ("line_item_weight", "LineItemWeight", DEC),
    ("product_weight", "ProductWeight", DEC),
]
ORDER_ITEM_OPTION_FIELDS = [
    ("title", "Title", STR),
    ("selected_option", "SelectedOption", STR),
    ("price", "Price", DEC),
    ("weight", "Weight", DEC),
]
CUSTOMER_FIELDS = [("user_id", "UserId", INT), ("user_name", "UserName", STR), *BILLING]
PRODUCT_FIELDS = [
    ("pid", "PID", INT),
    ("product_id", "ProductId", STR),
    ("qoh", "Qoh", INT),
    ("price", "Price", DEC),
    ("cost", "Cost", DEC),
    ("taxable", "Taxable", BOOL),
    ("weight", "Weight", DEC),
    ("upc", "UPC", STR),
    ("title", "Title", STR),
    ("url", "URL", STR),
    ("thumbnail_image_url", "ThumbnailImageUrl", STR),
    ("image_url", "ImageUrl", STR),
    ("discontinued", "Discontinued", BOOL),
]
PRODUCT_OPTION_FIELDS = [
    ("option_id", "OptionId", STR),
    ("title", "Title", STR),
    ("caption", "Caption", STR),
    ("type", "Type", STR),
    ("price", "Price", DEC),
    ("cost", "Cost", DEC),
    ("weight", "Weight", DEC),
    ("priority", "Priority", STR),
]
INVENTORY_FIELDS = [("pid", "PID", INT), ("product_id", "ProductId", STR), ("qoh", "Qoh", INT)]
# Nested parts of a record that are flattened or split off, not kept as extra columns.
NESTED = frozenset(
    {"BillingInfo", "Billing", "ShippingInfo", "Shipping", "AddressBook", "OrderItems", "Options"}
)


Fields = Sequence[tuple[str, str, str]]


def column_hints(*field_lists: Fields) -> dict[str, Any]:
    """Return dlt column hints for the money and timestamp columns of the given field lists."""
    return contract.column_hints((name, ARROW[kind]) for fields in field_lists for name, _, kind in fields)
