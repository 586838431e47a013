"""The demo's simulated cashier and web customers act through the vendors' APIs."""

from __future__ import annotations

import pytest

from emulators.demo import demo_catalogue
from emulators.simulator import StoreSimulator, WebShopper
from emulators.square import SquareState, create_square_app
from emulators.webshops import start_webshop
from possync.serving import serve_in_thread

CATALOGUE = demo_catalogue(30, seed=2)


def test_store_simulator_sells_or_restocks_at_the_register() -> None:
    state = SquareState(location_id="L1")
    state.seed(CATALOGUE)
    server = serve_in_thread(create_square_app(state, access_token="tok"))
    try:
        total = sum(v.stock for p in CATALOGUE for v in p.variants)
        simulator = StoreSimulator(server.url, "tok", "L1", seed=1)
        simulator._variations = simulator._load_variations()
        assert len(simulator._variations) == 30
        for _ in range(10):
            simulator.tick()
        after = sum(
            state.count(state.variation_id_for_sku(v.sku)) for p in CATALOGUE for v in p.variants
        )
        assert simulator.sales > 0
        assert after != total
        # Each sale is a paid order with VAT, which the daily turnover reads.
        found = simulator._http.post("/v2/orders/search", json={"location_ids": ["L1"]}).json()
        orders = [o for o in found["orders"] if o.get("state") == "COMPLETED"]
        assert len(orders) == simulator.sales
        for order in orders:
            assert int(order["total_tax_money"]["amount"]) > 0
            assert order["tenders"][0]["type"] in {"CASH", "CARD"}
    finally:
        simulator.stop()
        server.stop()


@pytest.mark.parametrize("webshop", ["woocommerce", "shopify", "magento"])
def test_web_shopper_places_paid_orders_that_draw_webshop_stock(webshop: str) -> None:
    web = start_webshop(webshop, CATALOGUE)
    skus = [v.sku for p in CATALOGUE for v in p.variants if v.stock > 0]
    shopper = WebShopper(web, skus, seed=3)
    try:
        before = {sku: web.stock(sku) or 0 for sku in skus}
        order_id = shopper.order()
        assert order_id is not None and shopper.orders == 1
        after = {sku: web.stock(sku) or 0 for sku in skus}
        drawn = [before[sku] - after[sku] for sku in skus if after[sku] != before[sku]]
        assert drawn == [1]
    finally:
        shopper.stop()
        web.stop()
