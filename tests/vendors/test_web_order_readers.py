"""Each webshop connector reads what an order line really cost from the vendor's own fields
(pure mapping of answers shaped as the vendors send them); what the emulators answer end
to end is in tests/flows/test_orders_flow.py."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from possync.domain.models import LineTax
from possync.vendors.magento import orders as magento_orders
from possync.vendors.shopify import orders as shopify_orders
from possync.vendors.woocommerce import shop as woocommerce


def woo_order(**changes: Any) -> dict[str, Any]:
    order: dict[str, Any] = {
        "id": 4711,
        "status": "processing",
        "currency": "DKK",
        "date_modified_gmt": "2026-03-02T10:00:00",
        "prices_include_tax": False,
        "total": "275.00",
        "line_items": [
            {
                "id": 7,
                "product_id": 31,
                "variation_id": 0,
                "quantity": 2,
                "sku": "MUG",
                "subtotal": "200.00",
                "subtotal_tax": "50.00",
                "total": "180.00",
                "total_tax": "45.00",
                "taxes": [{"id": 1, "total": "45", "subtotal": "50"}],
            },
        ],
        "shipping_lines": [
            {
                "id": 9,
                "method_title": "Flat rate",
                "total": "40.00",
                "total_tax": "10.00",
                "taxes": [{"id": 1, "total": "10"}],
            },
        ],
        "fee_lines": [],
        "tax_lines": [
            {
                "id": 10,
                "rate_id": 1,
                "label": "VAT",
                "compound": False,
                "rate_percent": 25.0,
                "tax_total": "45.00",
                "shipping_tax_total": "10.00",
            },
        ],
    }
    order.update(changes)
    return order


def test_woocommerce_line_total_taxes_and_rate_percent() -> None:
    order = woocommerce._order(woo_order())
    assert order.price_error is None
    paid = order.items[0].paid
    assert paid is not None
    assert (paid.net, paid.gross, paid.discount) == (Decimal("180.00"), Decimal(225), Decimal(20))
    assert paid.taxes == (LineTax(rate=Decimal("25.0"), amount=Decimal(45), name="VAT"),)
    [shipping] = order.charges
    assert (shipping.name, shipping.paid.gross) == ("Flat rate", Decimal("50.00"))


def test_woocommerce_without_rate_percent_or_with_a_compound_rate_says_why() -> None:
    tax = woo_order()["tax_lines"][0]
    missing = woocommerce._order(woo_order(tax_lines=[{**tax, "rate_percent": None}]))
    assert missing.price_error is not None and "rate_percent" in missing.price_error
    assert missing.items[0].paid is None and missing.items[0].sku == "MUG"
    compound = woocommerce._order(woo_order(tax_lines=[{**tax, "compound": True}]))
    assert compound.price_error is not None and "compound" in compound.price_error


def money(amount: str) -> dict[str, dict[str, str]]:
    return {"shopMoney": {"amount": amount}}


def test_shopify_discount_allocations_and_taxes_included() -> None:
    line = {
        "originalTotalSet": money("252.44"),
        "discountAllocations": [{"allocatedAmountSet": money("25.24")}],
        "taxLines": [{"title": "VAT", "rate": 0.25, "priceSet": money("45.44")}],
    }
    paid = shopify_orders._paid(line, included=True)
    assert (paid.gross, paid.net, paid.discount) == (
        Decimal("227.20"),
        Decimal("181.76"),
        Decimal("25.24"),
    )
    assert [t.rate for t in paid.taxes] == [Decimal(25)]
    added = shopify_orders._paid({**line, "taxLines": []}, included=False)
    assert (added.net, added.tax) == (Decimal("227.20"), Decimal(0))


def test_magento_row_totals_with_discount_tax_compensation() -> None:
    item = {
        "item_id": 1, "sku": "MUG", "product_id": 5, "product_type": "simple",
        "qty_ordered": 2.0, "price": 100.98, "row_total": 201.95, "tax_amount": 45.44,
        "tax_percent": 25.0, "discount_amount": 25.24, "discount_tax_compensation_amount": 5.05,
    }  # fmt: skip
    body = {
        "entity_id": 12, "increment_id": "000000012", "status": "processing",
        "updated_at": "2026-03-02 10:00:00", "order_currency_code": "DKK",
        "grand_total": 276.2, "shipping_amount": 39.2, "shipping_tax_amount": 9.8,
        "items": [item],
        "extension_attributes": {"item_applied_taxes": [
            {"type": "shipping", "applied_taxes": [{"percent": 25, "amount": 9.8}]}]},
    }  # fmt: skip
    order = magento_orders.web_order(body, [])
    assert order.price_error is None
    paid = order.items[0].paid
    assert paid is not None and (paid.gross, paid.net) == (Decimal("227.20"), Decimal("181.76"))
    assert paid.taxes == (LineTax(rate=Decimal("25.0"), amount=Decimal("45.44")),)
    assert order.charges[0].paid.gross == Decimal("49.0")
    untold = magento_orders.web_order({**body, "extension_attributes": {}}, [])
    assert untold.price_error is not None and "shipping" in untold.price_error
