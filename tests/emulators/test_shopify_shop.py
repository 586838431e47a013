"""The Shopify emulator as an `EmulatedWebshop`: the admin's and customers' actions, and
webhooks that our `ShopifySource` accepts."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from decimal import Decimal

import pytest

pytest.importorskip("graphql", reason="graphql-core is not installed")

from fastapi import FastAPI, Request, Response

from emulators.demo import demo_catalogue
from emulators.shopify import SCHEMA_FILE
from emulators.shopify_shop import ShopifyWebshop, start_shopify
from emulators.webshops import (
    EMULATED_WEBSHOPS,
    EmulatedWebshop,
    Starter,
    start_webshop,
)
from possync.serving import serve_in_thread
from possync.vendors.shopify.webhook import ShopifySource
from possync.webhooks.sources import json_object
from tests.specs import spec_path

CATALOGUE = demo_catalogue(12, seed=2)
SKUS = [v.sku for p in CATALOGUE for v in p.variants]


@pytest.fixture
def shop() -> Iterator[ShopifyWebshop]:
    spec_path(SCHEMA_FILE)
    webshop = start_shopify(CATALOGUE, webhook_secret="shpss_unit")
    try:
        yield webshop
    finally:
        webshop.stop()


def test_registered_under_its_name() -> None:
    spec_path(SCHEMA_FILE)
    assert "shopify" in EMULATED_WEBSHOPS
    webshop = start_webshop("shopify", CATALOGUE[:2])
    try:
        assert webshop.system == "shopify"
        assert webshop.stock(CATALOGUE[0].variants[0].sku) == CATALOGUE[0].variants[0].stock
    finally:
        webshop.stop()


def test_adapter_matches_the_protocol(shop: ShopifyWebshop) -> None:
    face: EmulatedWebshop = shop  # mypy checks the adapter against the protocol
    starter: Starter = start_shopify
    assert face.system == "shopify" and callable(starter)


def test_admin_sets_stock_and_price(shop: ShopifyWebshop) -> None:
    sku = SKUS[0]
    writes = shop.write_calls()
    shop.set_stock(sku, 41)
    shop.set_price(sku, Decimal("12.5"))
    assert shop.stock(sku) == 41 and shop.price(sku) == Decimal("12.50")
    assert shop.write_calls() == writes + 2
    assert shop.webhook_secret == "shpss_unit"  # what subscribe_webhooks hands out
    assert shop.state.throttled == 0 and shop.state.bucket.available() == shop.state.bucket.maximum


def test_orders_refunds_and_cancellations_move_stock(shop: ShopifyWebshop) -> None:
    a, b = SKUS[1], SKUS[2]
    stock_a, stock_b = shop.stock(a) or 0, shop.stock(b) or 0
    order = shop.place_order({a: 2, b: 1}, paid=False)
    assert (shop.stock(a), shop.stock(b)) == (stock_a - 2, stock_b - 1)
    shop.pay_order(order)
    assert shop.state.orders[order].financial_status == "PAID"
    refund = shop.refund(order, {a: 1}, Decimal("1.00"))
    assert refund.startswith("gid://shopify/Refund/")
    assert shop.stock(a) == stock_a - 1
    shop.cancel_order(order)
    assert (shop.stock(a), shop.stock(b)) == (stock_a, stock_b)


def test_webhooks_reach_a_receiver_that_checks_them(shop: ShopifyWebshop) -> None:
    received: list[tuple[str, str | None]] = []
    lock = threading.Lock()
    app = FastAPI()

    @app.post("/webhooks/shopify")
    async def hook(request: Request) -> Response:
        body = await request.body()
        source = ShopifySource(lambda: secret or "")
        if source.check_signature(request.headers, body) is not None:
            return Response(status_code=401)
        reading = source.read(request.headers, json_object(body))
        with lock:
            received.append((reading.topic, reading.notice.order_id if reading.notice else None))
        return Response(status_code=200)

    server = serve_in_thread(app)
    try:
        secret = shop.subscribe_webhooks(f"{server.url}/webhooks/shopify")
        assert secret == "shpss_unit"
        order = shop.place_order({SKUS[3]: 1})
        shop.refund(order, {SKUS[3]: 1}, Decimal("0"))
        shop.cancel_order(order)
        assert shop.webhooks.join()
        deadline = time.monotonic() + 5
        while len(received) < 4 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert sorted(received) == sorted(
            [
                ("orders/create", order),
                ("orders/paid", order),
                ("refunds/create", order),
                ("orders/cancelled", order),
            ]
        )
        assert all(d.status == 200 for d in shop.webhooks.deliveries)
        body = json.loads(next(iter(shop.webhooks.events.values())).body)
        assert body["admin_graphql_api_id"] == order
    finally:
        server.stop()
