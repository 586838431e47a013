"""A paid web order reaches the register within seconds through the webshop's own signed
webhook: the emulated shop delivers to the real receiver, which runs the real order flows
(here in the test's Prefect server). Magento sends no webhooks, so it is not in this test."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from emulators.demo import demo_catalogue
from flows.receiver import Receiver, start_receiver
from flows.stock import sync_stock
from possync.serving import free_port
from tests.shop import EmulatedShop, running_shop

CATALOGUE = demo_catalogue(20, seed=4)
SKU = next(v.sku for p in CATALOGUE for v in p.variants if v.stock >= 3)


@pytest.fixture(params=["woocommerce", "shopify"])
def shop(
    request: pytest.FixtureRequest, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[EmulatedShop]:
    monkeypatch.setenv("POSSYNC_DATABASE_URL", sqlite_url)
    for running in running_shop(CATALOGUE, webshop=request.param):
        sync_stock()  # links the catalogue, as in a running shop
        yield running


@pytest.fixture
def receiver(shop: EmulatedShop) -> Iterator[Receiver]:
    secret = {"value": ""}
    running = start_receiver("127.0.0.1", free_port(), shop.web.system, lambda: secret["value"])
    given = shop.web.subscribe_webhooks(running.url)
    assert given, f"{shop.web.system} gave no webhook secret"
    secret["value"] = given
    try:
        yield running
    finally:
        running.stop()


def test_a_paid_order_reaches_the_pos_through_the_signed_webhook(
    shop: EmulatedShop, receiver: Receiver
) -> None:
    before = shop.pos_count(SKU)
    start = time.monotonic()
    order_id = shop.web_order({SKU: 2})
    reference = shop.pos_reference(order_id)
    while not any(o.get("reference_id") == reference for o in shop.pos_orders()):
        assert time.monotonic() - start < 30, f"{reference} did not reach the POS in 30 s"
        time.sleep(0.2)
    assert receiver.trigger.wait_idle(30)
    assert shop.pos_count(SKU) == before - 2
    assert [o.get("reference_id") for o in shop.pos_orders()].count(reference) == 1
