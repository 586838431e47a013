"""Every webshop emulator charges a `Pricing` (VAT per line, a discount, shipping with VAT,
prices with or without tax) in its vendor's own fields, and all three come to the same
money: what a customer of each real shop would pay."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from emulators.demo import demo_catalogue
from emulators.magento_shop import MagentoWebshop
from emulators.shopify_shop import ShopifyWebshop
from emulators.webshops import EmulatedWebshop, Pricing, start_webshop
from emulators.woocommerce_shop import WooCommerceWebshop

CATALOGUE = demo_catalogue(6, seed=11)
A, B, C = [p.variants[0].sku for p in CATALOGUE if p.simple][:3]
PRICES = {A: Decimal("100.00"), B: Decimal("50.00"), C: Decimal("30.00")}
LINES = {A: 2, B: 1, C: 1}


def pricing(include: bool) -> Pricing:
    return Pricing(
        vat={A: Decimal(25), B: Decimal(12)},  # C is zero-rated
        discount_percent=Decimal(10),
        prices_include_tax=include,
        shipping=Decimal("40.00"),
        shipping_vat=Decimal(25),
    )


@pytest.fixture(params=["woocommerce", "shopify", "magento"])
def web(request: pytest.FixtureRequest) -> Iterator[EmulatedWebshop]:
    shop = start_webshop(request.param, CATALOGUE, currency="DKK")
    try:
        for sku, price in PRICES.items():
            shop.set_price(sku, price)
        yield shop
    finally:
        shop.stop()


def charged(web: EmulatedWebshop, order_id: str) -> tuple[Decimal, Decimal, dict[str, Any]]:
    """(total, tax) as the vendor answers them, and the raw order."""
    if isinstance(web, WooCommerceWebshop):
        with web.http() as http:
            order = http.get(f"/orders/{order_id}").raise_for_status().json()
        return Decimal(order["total"]), Decimal(order["total_tax"]), order
    if isinstance(web, ShopifyWebshop):
        query = """query($id: ID!) { order(id: $id) { totalPriceSet { shopMoney { amount } }
          totalTaxSet { shopMoney { amount } } taxesIncluded
          lineItems(first: 5) { nodes { sku originalTotalSet { shopMoney { amount } }
            discountAllocations { allocatedAmountSet { shopMoney { amount } } }
            taxLines { rate priceSet { shopMoney { amount } } } } } } }"""
        order = web.gql(query, {"id": order_id}, "order")
        total = Decimal(order["totalPriceSet"]["shopMoney"]["amount"])
        return total, Decimal(order["totalTaxSet"]["shopMoney"]["amount"]), order
    assert isinstance(web, MagentoWebshop)
    with web.http() as http:
        order = http.get(f"/orders/{int(order_id)}").raise_for_status().json()
    return Decimal(str(order["grand_total"])), Decimal(str(order["tax_amount"])), order


def test_vat_added_on_top_with_a_discount_and_shipping(web: EmulatedWebshop) -> None:
    total, tax, _ = charged(web, web.place_order(LINES, pricing=pricing(False)))
    # A: 2 x 100.00 - 10 % = 180.00 + 25 % = 45.00; B: 45.00 + 12 % = 5.40; C: 27.00;
    # shipping 40.00 + 25 % = 10.00
    assert tax == Decimal("45.00") + Decimal("5.40") + Decimal("10.00")
    assert total == Decimal("180.00") + Decimal("45.00") + Decimal("27.00") + Decimal("40.00") + tax


def test_vat_inside_the_prices(web: EmulatedWebshop) -> None:
    total, tax, _ = charged(web, web.place_order(LINES, pricing=pricing(True)))
    # A: 180.00 holds 36.00 VAT; B: 45.00 holds 4.82 (45 x 12 / 112 = 4.8214...); C 27.00;
    # shipping 40.00 + 10.00
    assert tax == Decimal("36.00") + Decimal("4.82") + Decimal("10.00")
    assert total == Decimal("180.00") + Decimal("45.00") + Decimal("27.00") + Decimal("50.00")


def test_without_pricing_an_order_is_untaxed_at_catalogue_prices(web: EmulatedWebshop) -> None:
    total, tax, _ = charged(web, web.place_order(LINES))
    assert (total, tax) == (Decimal("280.00"), Decimal(0))


def test_each_vendor_names_the_rates_it_charged(web: EmulatedWebshop) -> None:
    _, _, order = charged(web, web.place_order(LINES, pricing=pricing(False)))
    if isinstance(web, WooCommerceWebshop):
        rates = {t["rate_id"]: t["rate_percent"] for t in order["tax_lines"]}
        line = {x["sku"]: x for x in order["line_items"]}[B]
        assert [rates[t["id"]] for t in line["taxes"]] == [12.0]
        assert (line["subtotal"], line["total"], line["total_tax"]) == ("50.00", "45.00", "5.40")
        assert order["prices_include_tax"] is False
        assert sorted(rates.values()) == [12.0, 25.0]
    elif isinstance(web, ShopifyWebshop):
        line = {x["sku"]: x for x in order["lineItems"]["nodes"]}[B]
        assert [t["rate"] for t in line["taxLines"]] == [0.12]
        assert line["discountAllocations"][0]["allocatedAmountSet"]["shopMoney"]["amount"] == "5.00"
        assert order["taxesIncluded"] is False
    else:
        line = {x["sku"]: x for x in order["items"]}[B]
        assert (line["tax_percent"], line["tax_amount"], line["discount_amount"]) == (12, 5.4, 5)
        shipping = [t for t in order["extension_attributes"]["item_applied_taxes"]
                    if t["type"] == "shipping"]  # fmt: skip
        assert shipping[0]["applied_taxes"][0]["percent"] == 25
