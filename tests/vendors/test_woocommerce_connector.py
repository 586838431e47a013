"""The WooCommerce connector against the WooCommerce emulator over real sockets; requests
and answers are checked against the wc/v3 OpenAPI files in ../shared/specs."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest
from pydantic import SecretStr

from emulators.demo import demo_catalogue
from emulators.woocommerce import WooState, create_woocommerce_app
from possync.domain.models import StockUpdate, WebshopRef
from possync.serving import RunningServer, serve_in_thread
from possync.vendors.errors import FatalError
from possync.vendors.woocommerce.config import WooCommerceConfig
from possync.vendors.woocommerce.shop import WooCommerceShop
from tests.conformance import SpecRecorder
from tests.specs import openapi
from tests.woo_spec import HOST, WTX_HOST, WTX_SPEC, woocommerce_openapi

CATALOGUE = demo_catalogue(450, seed=9)
SKUS = [v.sku for p in CATALOGUE for v in p.variants]


@pytest.fixture
def woo() -> Iterator[tuple[WooState, RunningServer]]:
    state = WooState()
    state.seed(CATALOGUE)
    server = serve_in_thread(create_woocommerce_app(state, consumer_key="ck", consumer_secret="cs"))
    yield state, server
    server.stop()


def shop(server: RunningServer, recorder: SpecRecorder, secret: str = "cs") -> WooCommerceShop:
    config = WooCommerceConfig(
        url=server.url, consumer_key=SecretStr("ck"), consumer_secret=SecretStr(secret)
    )
    return WooCommerceShop(config, event_hooks=recorder.hooks())


def test_listings_by_sku_finds_products_and_variations(
    woo: tuple[WooState, RunningServer],
) -> None:
    state, server = woo
    recorder = SpecRecorder()
    listings = shop(server, recorder).listings_by_sku([*SKUS, "NOT-THERE"])
    assert sorted(x.sku or "" for x in listings) == sorted(SKUS)
    assert len(recorder.exchanges) == 5  # 450 SKUs, 100 per call
    variation = next(v for p in CATALOGUE if not p.simple for v in p.variants)
    found = next(x for x in listings if x.sku == variation.sku)
    assert found.ref.variation_id == str(state.id_for_sku(variation.sku))
    assert found.stock == variation.stock and found.barcode == variation.barcode


def test_all_listings_and_listings_by_ref_agree(woo: tuple[WooState, RunningServer]) -> None:
    _, server = woo
    client = shop(server, SpecRecorder())
    everything = [x for page in client.all_listings() for x in page]
    assert sorted(x.sku or "" for x in everything) == sorted(SKUS)
    again = client.listings([x.ref for x in everything])
    assert {x.ref: x.stock for x in again} == {x.ref: x.stock for x in everything}


def test_set_stock_in_batches_per_parent(woo: tuple[WooState, RunningServer]) -> None:
    state, server = woo
    client = shop(server, SpecRecorder())
    listings = client.listings_by_sku(SKUS)
    updates = [
        StockUpdate(ref=x.ref, quantity=(x.stock or 0) + 1, product_key=x.ref.key, pos_id=x.ref.key)
        for x in listings
    ]
    batches = client.write_batches(updates)
    simple = [u for u in updates if u.ref.variation_id is None]
    parents = {u.ref.product_id for u in updates if u.ref.variation_id}
    assert len(batches) == -(-len(simple) // 100) + len(parents)
    assert all(len(b) <= 100 for b in batches)
    outcomes = [o for batch in batches for o in client.set_stock(batch)]
    assert all(o.ok for o in outcomes) and len(outcomes) == len(updates)
    for x in listings:
        item_id = int(x.ref.variation_id or x.ref.product_id)
        assert state.stock(item_id) == (x.stock or 0) + 1


def test_refused_item_comes_back_as_an_outcome(woo: tuple[WooState, RunningServer]) -> None:
    _, server = woo
    client = shop(server, SpecRecorder())
    simple_sku = next(p.variants[0].sku for p in CATALOGUE if p.simple)
    good = client.listings_by_sku([simple_sku])[0]
    ghost = StockUpdate(
        ref=WebshopRef(product_id="999999"), quantity=1, product_key="g", pos_id="g"
    )
    ok = StockUpdate(ref=good.ref, quantity=3, product_key="k", pos_id="p")
    outcomes = {o.update.pos_id: o for o in client.set_stock([ok, ghost])}
    assert outcomes["p"].ok
    assert not outcomes["g"].ok and outcomes["g"].error


def test_bad_secret_is_fatal_and_not_in_the_message(woo: tuple[WooState, RunningServer]) -> None:
    _, server = woo
    with pytest.raises(FatalError) as raised:
        shop(server, SpecRecorder(), secret="cs_wrong_secret").listings_by_sku(SKUS[:3])
    assert raised.value.status == 401
    assert "cs_wrong_secret" not in str(raised.value)


def test_a_batch_over_100_is_refused_by_the_emulator_as_woocommerce_does(
    woo: tuple[WooState, RunningServer],
) -> None:
    _, server = woo
    body = {"update": [{"id": i, "stock_quantity": 1} for i in range(1, 102)]}
    response = httpx.post(
        f"{server.url}/wp-json/wc/v3/products/batch", json=body, auth=("ck", "cs")
    )
    assert response.status_code == 413
    assert response.json()["code"] == "woocommerce_rest_request_entity_too_large"


def test_requests_and_answers_conform_to_woocommerce_spec(
    woo: tuple[WooState, RunningServer],
) -> None:
    _, server = woo
    recorder = SpecRecorder()
    client = shop(server, recorder)
    listings = client.listings_by_sku(SKUS[:150])
    client.listings([x.ref for x in listings[:20]])
    list(client.all_listings())
    updates = [
        StockUpdate(ref=x.ref, quantity=2, product_key=x.ref.key, pos_id=x.ref.key)
        for x in listings[:40]
    ]
    for batch in client.write_batches(updates):
        client.set_stock(batch)
    spec = woocommerce_openapi()
    batch_spec = openapi(WTX_SPEC)

    def is_batch(request: httpx.Request) -> bool:
        return request.url.path.endswith("/batch")

    # The 2021 file describes batch bodies as one product (see specs README): batch
    # requests are checked against the hand-written file, which has the real shape.
    assert recorder.problems(spec, HOST, skip=is_batch) == []
    batch_only = SpecRecorder([x for x in recorder.exchanges if is_batch(x[0])])
    assert batch_only.exchanges
    assert batch_only.problems(batch_spec, WTX_HOST, responses=False) == []


def test_order_reads_conform_and_map_lines(woo: tuple[WooState, RunningServer]) -> None:
    state, server = woo
    simple = next(p.variants[0] for p in CATALOGUE if p.simple and p.variants[0].stock > 2)
    body = {
        "status": "processing",
        "payment_method": "stripe",
        "billing": {"email": "customer@example.com"},  # the spec wants an email format
        "line_items": [{"product_id": state.id_for_sku(simple.sku), "quantity": 2}],
    }
    api = httpx.Client(base_url=f"{server.url}/wp-json/wc/v3", auth=("ck", "cs"))
    order_id = str(api.post("/orders", json=body).raise_for_status().json()["id"])
    line_id = api.get(f"/orders/{order_id}").json()["line_items"][0]["id"]
    refund = {"amount": "5.00", "api_refund": False, "line_items": [{"id": line_id, "quantity": 1}]}
    api.post(f"/orders/{order_id}/refunds", json=refund).raise_for_status()
    recorder = SpecRecorder()
    client = shop(server, recorder)
    changed = [o for page in client.orders_changed(None) for o in page]
    [order] = [o for o in changed if o.order_id == order_id]
    assert order.status == "processing" and order.modified_at.tzinfo is not None
    [item] = order.items
    assert (item.sku, item.quantity) == (simple.sku, 2)
    assert client.orders([order_id])[0].refund_ids == order.refund_ids != []
    [web_refund] = client.refunds(order_id)
    assert web_refund.amount == Decimal("5.00")
    assert [(i.sku, i.quantity) for i in web_refund.items] == [(simple.sku, 1)]
    assert recorder.problems(woocommerce_openapi(), HOST) == []
