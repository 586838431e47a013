"""The Shopify connector against the Shopify emulator over real sockets; every GraphQL
document the connector sends is validated against Shopify's 2025-01 Admin schema."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from pydantic import SecretStr

pytest.importorskip("graphql", reason="graphql-core is not installed")

from graphql import GraphQLSchema, parse, validate

from emulators.demo import demo_catalogue
from emulators.shopify import (
    SCHEMA_FILE,
    Bucket,
    ShopifyState,
    admin_schema,
    create_shopify_app,
)
from possync.domain.models import StockUpdate, WebshopListing, WebshopRef
from possync.serving import RunningServer, serve_in_thread
from possync.vendors.errors import FatalError, RateLimited
from possync.vendors.http import RetryPolicy
from possync.vendors.shopify import orders as shopify_orders
from possync.vendors.shopify import products as shopify_products
from possync.vendors.shopify import shop as shopify
from possync.vendors.shopify.config import ShopifyConfig
from possync.vendors.shopify.shop import ShopifyShop
from tests.specs import spec_path

TOKEN = "shpat_secret_token"
CATALOGUE = demo_catalogue(320, seed=5)
SKUS = [v.sku for p in CATALOGUE for v in p.variants]


@pytest.fixture(scope="module")
def schema() -> GraphQLSchema:
    spec_path(SCHEMA_FILE)
    return admin_schema()


@dataclass
class Recorder:
    """Every document the connector sends, validated against the schema at the end."""

    schema: GraphQLSchema
    operations: list[str] = field(default_factory=list)
    sleeps: list[float] = field(default_factory=list)

    def on_request(self, request: httpx.Request) -> None:
        body = json.loads(request.content)
        errors = validate(self.schema, parse(body["query"]))
        assert errors == [], errors
        assert TOKEN not in body["query"] and TOKEN not in json.dumps(body["variables"])
        self.operations.append(body["operationName"])

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        time.sleep(seconds)

    def count(self, operation: str) -> int:
        return self.operations.count(operation)


@dataclass
class Env:
    state: ShopifyState
    server: RunningServer
    recorder: Recorder

    def client(self, **kwargs: object) -> ShopifyShop:
        config = ShopifyConfig(
            shop_url=self.server.url,
            access_token=SecretStr(TOKEN),
            location_id=self.state.default_location,
        )
        return ShopifyShop(
            config,
            event_hooks={"request": [self.recorder.on_request]},
            sleep=self.recorder.sleep,
            **kwargs,  # type: ignore[arg-type]
        )


def open_env(schema: GraphQLSchema, bucket: Bucket | None = None) -> Iterator[Env]:
    state = ShopifyState(bucket=bucket)
    state.seed(CATALOGUE)
    app = create_shopify_app(state, access_token=TOKEN, schema=schema)
    server = serve_in_thread(app)
    try:
        yield Env(state, server, Recorder(schema))
    finally:
        server.stop()
        app.state.webhooks.close()


@pytest.fixture
def env(schema: GraphQLSchema) -> Iterator[Env]:
    yield from open_env(schema)


def updates_for(listings: list[WebshopListing], delta: int = 1) -> list[StockUpdate]:
    return [
        StockUpdate(
            ref=x.ref,
            quantity=(x.stock or 0) + delta,
            product_key=x.ref.key,
            pos_id=x.sku or "",
            sku=x.sku,
            previous=x.stock,
        )
        for x in listings
    ]


def test_listings_by_sku_across_pages(env: Env) -> None:
    client = env.client(page_size=25)
    wanted = SKUS[:60]
    listings = client.listings_by_sku([*wanted, "NOT-THERE"])
    assert sorted(x.sku or "" for x in listings) == sorted(wanted)
    # 61 SKUs in one search, 25 a page: 3 pages
    assert env.recorder.count("PossyncVariantsBySku") == 3
    variant = CATALOGUE[0].variants[0]
    found = next(x for x in listings if x.sku == variant.sku)
    shop_variant = env.state.variant_by_sku(variant.sku)
    assert found.ref.product_id == shop_variant.product_id
    assert found.ref.variation_id == shop_variant.id
    assert (found.stock, found.barcode, found.manage_stock) == (
        variant.stock,
        variant.barcode,
        True,
    )


def test_set_stock_writes_and_reads_back(env: Env) -> None:
    client = env.client()
    listings = client.listings_by_sku(SKUS[:10])
    outcomes = client.set_stock(updates_for(listings, 3))
    assert all(o.ok for o in outcomes) and len(outcomes) == 10
    again = {x.sku: x.stock for x in env.client().listings_by_sku(SKUS[:10])}
    assert again == {x.sku: (x.stock or 0) + 3 for x in listings}


def test_set_stock_looks_up_inventory_items_it_has_not_read(env: Env) -> None:
    listings = env.client().listings_by_sku(SKUS[:3])
    fresh = env.client()
    outcomes = fresh.set_stock(updates_for(listings, 1))
    assert all(o.ok for o in outcomes)
    assert env.recorder.operations[-2:] == ["PossyncVariantItems", "PossyncSetQuantities"]
    assert env.state.stock(SKUS[0]) == (listings[0].stock or 0) + 1


def test_stale_compare_quantity_fails_only_that_update(env: Env) -> None:
    client = env.client()
    listings = client.listings_by_sku(SKUS[:4])
    stale_sku = listings[1].sku or ""
    env.state.available[
        (env.state.variant_by_sku(stale_sku).inventory_item_id, env.state.default_location)
    ] += 5  # someone sold or counted in Shopify since the read
    outcomes = client.set_stock(updates_for(listings, 2))
    failed = [o for o in outcomes if not o.ok]
    assert [o.update.sku for o in failed] == [stale_sku]
    assert failed[0].error is not None and "COMPARE_QUANTITY_STALE" in failed[0].error
    assert sum(o.ok for o in outcomes) == 3
    for x in listings:
        if x.sku != stale_sku:
            assert env.state.stock(x.sku or "") == (x.stock or 0) + 2


def test_unknown_previous_is_written_without_compare(env: Env) -> None:
    client = env.client()
    listings = client.listings_by_sku(SKUS[:2])
    updates = [
        u.model_copy(update={"previous": None, "quantity": 42}) for u in updates_for(listings)
    ]
    assert all(o.ok for o in client.set_stock(updates))
    assert env.state.stock(SKUS[0]) == env.state.stock(SKUS[1]) == 42


def test_300_updates_take_two_calls(schema: GraphQLSchema) -> None:
    # Reading 300 SKUs costs 3 x 502 points; a fast-restoring bucket keeps the test short.
    for env in open_env(schema, Bucket(maximum=1000, restore_rate=1000)):
        client = env.client()
        listings = client.listings_by_sku(SKUS[:300])
        assert len(listings) == 300
        outcomes = client.set_stock(updates_for(listings, 1))
        assert len(outcomes) == 300 and all(o.ok for o in outcomes)
        assert env.recorder.count("PossyncSetQuantities") == 2
        assert env.state.throttled == 0
        before = {x.sku: x.stock for x in listings}
        assert env.state.stock(SKUS[299]) == (before[SKUS[299]] or 0) + 1


def test_small_bucket_makes_the_client_wait_instead_of_being_throttled(
    schema: GraphQLSchema,
) -> None:
    # One page of 10 costs 2 + 10 x 5 = 52 points; the bucket holds 60 and restores 100/s.
    for env in open_env(schema, Bucket(maximum=60, restore_rate=100)):
        listings = env.client(page_size=10).listings_by_sku(SKUS[:40])
        assert len(listings) == 40
        assert env.recorder.count("PossyncVariantsBySku") == 4
        assert env.state.throttled == 0
        assert len(env.recorder.sleeps) == 3
        assert all(0.1 < s <= 0.53 for s in env.recorder.sleeps)


def test_throttled_answer_is_retried(env: Env) -> None:
    env.state.force_throttle(2)
    listings = env.client().listings_by_sku(SKUS[:5])
    assert len(listings) == 5
    assert env.state.throttled == 2
    assert env.recorder.count("PossyncVariantsBySku") == 3


def test_throttled_past_the_retry_budget_raises_rate_limited(env: Env) -> None:
    env.state.force_throttle(5)
    client = env.client(retry=RetryPolicy(attempts=2))
    with pytest.raises(RateLimited) as caught:
        client.listings_by_sku(SKUS[:5])
    assert caught.value.code == "THROTTLED" and caught.value.retry_after is not None
    assert TOKEN not in str(caught.value)


def test_wrong_token_is_fatal_and_never_shown(env: Env) -> None:
    config = ShopifyConfig(
        shop_url=env.server.url,
        access_token=SecretStr("shpat_wrong_token"),
        location_id=env.state.default_location,
    )
    with pytest.raises(FatalError) as caught:
        ShopifyShop(config).listings_by_sku(SKUS[:1])
    assert caught.value.status == 401
    assert "Invalid API key or access token" in str(caught.value)
    assert "shpat_wrong_token" not in str(caught.value)


DOCUMENTS = {
    f"{module.__name__}.{name}": value
    for module in (shopify, shopify_orders, shopify_products)
    for name, value in vars(module).items()
    if name.endswith(("_QUERY", "_MUTATION")) and isinstance(value, str)
}


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_every_document_the_connector_sends_is_valid(schema: GraphQLSchema, name: str) -> None:
    assert validate(schema, parse(DOCUMENTS[name])) == []


def test_documents_cover_each_module() -> None:
    assert len(DOCUMENTS) >= 14


def test_all_listings_pages_through_the_catalogue(env: Env) -> None:
    pages = list(env.client(page_size=100).all_listings())
    assert [len(p) for p in pages] == [100, 100, 100, 20]
    assert sorted(x.sku or "" for p in pages for x in p) == sorted(SKUS)


def test_listings_by_ref_reads_current_stock(env: Env) -> None:
    client = env.client()
    refs = [x.ref for x in client.listings_by_sku(SKUS[:3])]
    env.state.available[
        (env.state.variant_by_sku(SKUS[0]).inventory_item_id, env.state.default_location)
    ] = 77
    gone = WebshopRef(
        product_id="gid://shopify/Product/1", variation_id="gid://shopify/ProductVariant/1"
    )
    found = {x.sku: x.stock for x in client.listings([*refs, gone])}
    assert set(found) == set(SKUS[:3]) and found[SKUS[0]] == 77


def test_write_batches_are_groups_of_250(env: Env) -> None:
    client = env.client()
    update = StockUpdate(
        ref=WebshopRef(product_id="p", variation_id="v"), quantity=1, product_key="p", pos_id="x"
    )
    groups = client.write_batches([update] * 600)
    assert [len(g) for g in groups] == [250, 250, 100]


def test_unknown_variant_fails_alone(env: Env) -> None:
    client = env.client()
    listings = client.listings_by_sku(SKUS[:2])
    bogus = updates_for(listings)[0].model_copy(
        update={"ref": WebshopRef(product_id="p", variation_id="gid://shopify/ProductVariant/9")}
    )
    outcomes = client.set_stock([*updates_for(listings), bogus])
    assert [o.ok for o in outcomes] == [False, True, True]
    assert outcomes[0].error == "variant not found in Shopify"


def test_a_small_bucket_is_never_overrun_by_a_mixed_workload(schema: GraphQLSchema) -> None:
    # 300 points restoring 300/s: every page of 50 variants (252 points) nearly drains it.
    for env in open_env(schema, Bucket(maximum=300, restore_rate=300)):
        client = env.client(page_size=50)
        listings = client.listings_by_sku(SKUS[:150])
        assert len(listings) == 150
        assert len([x for p in client.all_listings() for x in p]) == len(SKUS)
        assert all(o.ok for o in client.set_stock(updates_for(listings[:20], 1)))
        assert len(client.listings([x.ref for x in listings[:50]])) == 50
        assert env.state.throttled == 0
        assert env.recorder.sleeps, "the client should have waited for the bucket"


def test_parallel_connectors_share_the_shops_bucket(schema: GraphQLSchema) -> None:
    # Two tasks of one run, each with its own connector, reading at once.
    for env in open_env(schema, Bucket(maximum=300, restore_rate=600)):
        assert sorted(read_in_two_threads(env)) == [150, 150]
        assert env.state.throttled == 0


def read_in_two_threads(env: Env) -> list[int]:
    clients = [env.client(page_size=50), env.client(page_size=50)]
    clients[0].listings_by_sku(SKUS[:1])  # one answer tells the process the bucket
    results: list[int] = []

    def read(client: ShopifyShop, skus: list[str]) -> None:
        results.append(len(client.listings_by_sku(skus)))

    threads = [
        threading.Thread(target=read, args=(clients[0], SKUS[:150])),
        threading.Thread(target=read, args=(clients[1], SKUS[150:300])),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results
