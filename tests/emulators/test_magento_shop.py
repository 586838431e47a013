"""The Magento emulator as an EmulatedWebshop: what the flow tests, the contract suite and
`make run` drive (admin over REST, storefront checkout in the state)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from emulators.demo import demo_catalogue
from emulators.webshops import EmulatedWebshop, start_webshop
from possync.vendors.magento.config import MagentoConfig

CATALOGUE = demo_catalogue(10, seed=2)


@pytest.fixture
def web() -> Iterator[EmulatedWebshop]:
    shop = start_webshop("magento", CATALOGUE, currency="DKK")
    try:
        yield shop
    finally:
        shop.stop()


def test_the_admin_sets_stock_and_price_over_rest(web: EmulatedWebshop) -> None:
    sku = CATALOGUE[0].variants[0].sku
    assert web.system == "magento"
    assert web.stock(sku) == CATALOGUE[0].variants[0].stock
    web.set_stock(sku, 42)
    web.set_price(sku, Decimal("19.95"))
    assert web.stock(sku) == 42 and web.price(sku) == Decimal("19.95")
    assert web.write_calls() == 2
    config = web.config()
    assert isinstance(config, MagentoConfig) and config.url == web.server.url


def test_orders_take_stock_and_refunds_and_cancels_give_it_back(web: EmulatedWebshop) -> None:
    sku = CATALOGUE[0].variants[0].sku
    web.set_stock(sku, 10)
    paid = web.place_order({sku: 3})
    assert web.stock(sku) == 7
    web.refund(paid, {sku: 1}, Decimal("1.00"))
    assert web.stock(sku) == 8
    web.refund(paid, {sku: 1}, Decimal("1.00"), restock=False)
    assert web.stock(sku) == 8
    web.cancel_order(paid)  # paid: the rest is refunded and restocked
    assert web.stock(sku) == 9
    unpaid = web.place_order({sku: 2}, paid=False)
    assert web.stock(sku) == 7
    web.cancel_order(unpaid)
    assert web.stock(sku) == 9
    later = web.place_order({sku: 1}, paid=False)
    web.pay_order(later)


def test_magento_open_source_has_no_webhooks_to_subscribe(web: EmulatedWebshop) -> None:
    assert web.subscribe_webhooks("http://127.0.0.1:1/hook") is None
