"""The Shopify connector's orders, refunds and products against the emulated shop (customers
and admin acting through the Admin GraphQL API); every document the connector sends is
validated against the 2025-01 schema by the recorder."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

pytest.importorskip("graphql", reason="graphql-core is not installed")

from graphql import GraphQLSchema

from emulators.demo import demo_catalogue
from emulators.shopify_shop import ShopifyWebshop, start_shopify
from emulators.shopify_state import Bucket
from possync.domain.models import StockUpdate
from possync.domain.products import ProductData, ProductWrite, VariantData
from possync.vendors.shopify.orders import LINES_PER_ORDER, MORE_LINES, ORDERS_PER_PAGE
from possync.vendors.shopify.shop import ShopifyShop
from tests.vendors.test_shopify_connector import Recorder
from tests.vendors.test_shopify_connector import schema as schema

CATALOGUE = demo_catalogue(60, seed=11, variable_share=0.4)
SKUS = [v.sku for p in CATALOGUE for v in p.variants]
HOUR_AGO = datetime.now(UTC) - timedelta(hours=1)


@pytest.fixture
def shop(schema: GraphQLSchema) -> Iterator[ShopifyWebshop]:
    webshop = start_shopify(CATALOGUE, bucket=Bucket(maximum=2000, restore_rate=2000))
    try:
        yield webshop
    finally:
        webshop.stop()


@pytest.fixture
def recorder(schema: GraphQLSchema) -> Recorder:
    return Recorder(schema)


@pytest.fixture
def client(shop: ShopifyWebshop, recorder: Recorder) -> Iterator[ShopifyShop]:
    connector = ShopifyShop(
        shop.config(), event_hooks={"request": [recorder.on_request]}, sleep=recorder.sleep
    )
    try:
        yield connector
    finally:
        connector.close()


def test_orders_changed_pages_oldest_first(shop: ShopifyWebshop, client: ShopifyShop) -> None:
    ids = [shop.place_order({SKUS[i % 20]: 1}) for i in range(53)]
    pages = list(client.orders_changed(HOUR_AGO))
    assert [len(p) for p in pages] == [ORDERS_PER_PAGE] * (53 // ORDERS_PER_PAGE) + [3]
    seen = [o.order_id for p in pages for o in p]
    assert seen == ids
    stamps = [o.modified_at for p in pages for o in p]
    assert stamps == sorted(stamps)
    shop.pay_order(shop.place_order({SKUS[0]: 1}, paid=False))
    latest = [o for p in client.orders_changed(stamps[-1]) for o in p]
    assert latest[-1].status == "paid"
    assert all(o.modified_at >= stamps[-1].replace(microsecond=0) for o in latest)


def test_order_fields_statuses_and_stock(shop: ShopifyWebshop, client: ShopifyShop) -> None:
    a, b = SKUS[0], SKUS[1]
    before = shop.stock(a) or 0
    order_id = shop.place_order({a: 2, b: 1})
    assert order_id.startswith("gid://shopify/Order/")
    assert shop.stock(a) == before - 2
    (order,) = client.orders([order_id])
    assert order.status == "paid" and order.currency == "DKK"
    prices = {v.sku: v.price for p in CATALOGUE for v in p.variants}
    assert order.total == prices[a] * 2 + prices[b]
    assert [(i.sku, i.quantity, i.unit_price) for i in order.items] == [
        (a, 2, prices[a]),
        (b, 1, prices[b]),
    ]
    listing = client.listings_by_sku([a])[0]
    assert order.items[0].ref == listing.ref
    pending = shop.place_order({b: 1}, paid=False)
    assert client.orders([pending])[0].status == "pending"
    shop.cancel_order(pending)
    assert client.orders([pending])[0].status == "cancelled"
    assert set(ShopifyShop.accepted_statuses) == {"paid", "partially_refunded"}


def test_order_with_many_lines_is_read_whole(
    shop: ShopifyWebshop, client: ShopifyShop, recorder: Recorder
) -> None:
    order_id = shop.place_order(dict.fromkeys(SKUS, 1))
    (order,) = client.orders([order_id])
    assert [i.sku for i in order.items] == SKUS
    assert len(SKUS) > LINES_PER_ORDER + MORE_LINES  # the rest takes more than one call
    # 5 lines came with the order, the rest 50 a call
    rest = len(SKUS) - LINES_PER_ORDER
    assert recorder.count("PossyncOrderLines") == -(-rest // MORE_LINES)


def test_refunds_list_only_restocked_items(shop: ShopifyWebshop, client: ShopifyShop) -> None:
    sku = SKUS[2]
    before = shop.stock(sku) or 0
    order_id = shop.place_order({sku: 3})
    returned = shop.refund(order_id, {sku: 1}, Decimal("10.00"))
    money_only = shop.refund(order_id, {sku: 1}, Decimal("5.00"), restock=False)
    assert shop.stock(sku) == before - 2
    order = client.orders([order_id])[0]
    assert order.status == "partially_refunded"
    assert order.refund_ids == [returned, money_only]
    refunds = {r.refund_id: r for r in client.refunds(order_id)}
    assert refunds[returned].amount == Decimal("10.00")
    assert [(i.sku, i.quantity) for i in refunds[returned].items] == [(sku, 1)]
    assert refunds[money_only].items == []
    full = shop.place_order({sku: 1})
    price = client.orders([full])[0].total
    shop.refund(full, {sku: 1}, price)
    assert client.orders([full])[0].status == "refunded"


def test_products_round_trip(shop: ShopifyWebshop, client: ShopifyShop, recorder: Recorder) -> None:
    products = [p for page in client.products_changed(None) for p in page]
    assert len(products) == len(CATALOGUE)
    sized = next(p for p in products if p.has_variants)
    plain = next(p for p in products if not p.has_variants)
    assert plain.variants[0].name == "" and plain.variants[0].sku
    assert all(v.name for v in sized.variants)
    new = ProductData(
        name="Linen Apron",
        description="<p>Apron</p>",
        has_variants=True,
        variants=(
            VariantData(name="S", sku="APRON-S", price="99.00", barcode="5700000000998"),
            VariantData(name="L", sku="APRON-L", price="109.00"),
        ),
    )
    renamed = plain.model_copy(update={"name": "Renamed", "archived": True})
    dropped = sized.model_copy(update={"variants": sized.variants[:1]})
    bad = ProductData(name="", variants=(VariantData(sku="X", price="1.00"),))
    writes = [
        ProductWrite(key="new", product=new),
        ProductWrite(key="renamed", product=renamed, fields=("name", "state")),
        ProductWrite(key="dropped", product=dropped),
        ProductWrite(key="bad", product=bad),
    ]
    outcomes = client.write_products(writes)
    assert [o.key for o in outcomes] == ["new", "renamed", "dropped", "bad"]
    assert [o.ok for o in outcomes] == [True, True, True, False]
    assert outcomes[3].error == "INVALID_PRODUCT: Title can't be blank"
    assert outcomes[3].error_field == "input.title"
    created_id = outcomes[0].product_id
    assert created_id is not None and all(outcomes[0].variant_ids)
    assert outcomes[2].variant_ids == (sized.variants[0].id,)
    read = {p.id: p for p in client.products([created_id, plain.id or "", sized.id or ""])}
    assert [(v.name, v.sku, v.price) for v in read[created_id].variants] == [
        ("S", "APRON-S", "99.00"),
        ("L", "APRON-L", "109.00"),
    ]
    assert read[plain.id or ""].name == "Renamed" and read[plain.id or ""].archived
    assert len(read[sized.id or ""].variants) == 1
    assert recorder.count("PossyncProductSet") == 4


def test_an_update_keeps_the_products_own_option_name(
    shop: ShopifyWebshop, client: ShopifyShop, recorder: Recorder
) -> None:
    """productSet replaces the options it is given: a product that varies by "Size" must be
    written under "Size", or the shop's option would turn into "Title"."""
    sized = next(p for page in client.products_changed(None) for p in page if p.has_variants)
    assert shop.state.products[sized.id or ""].option_name == "Size"
    cheaper = tuple(v.model_copy(update={"price": "1.00"}) for v in sized.variants)
    change = sized.model_copy(update={"variants": cheaper})
    [outcome] = client.write_products([ProductWrite(key="k", product=change, fields=("price",))])
    assert outcome.ok, outcome.error
    assert shop.state.products[sized.id or ""].option_name == "Size"
    [read] = client.products([sized.id or ""])
    assert [v.price for v in read.variants] == ["1.00"] * len(cheaper)
    assert [v.name for v in read.variants] == [v.name for v in sized.variants]
    assert recorder.count("PossyncProductOptions") == 1


def test_a_product_with_several_options_is_refused_not_flattened(client: ShopifyShop) -> None:
    from possync.vendors.shopify.products import ShopifyProducts

    product = ProductData(
        id="gid://shopify/Product/1",
        name="Tee",
        has_variants=True,
        variants=(VariantData(id="gid://shopify/ProductVariant/2", name="L / Red", sku="T"),),
    )
    writer = ShopifyProducts(client._gql)
    outcome = writer._write_product(ProductWrite(key="k", product=product), ["Size", "Color"])
    assert not outcome.ok and outcome.error_field == "productOptions"
    assert "2 options (Size, Color)" in (outcome.error or "")


def test_products_changed_since_and_deleted(shop: ShopifyWebshop, client: ShopifyShop) -> None:
    products = [p for page in client.products_changed(None) for p in page]
    mark = datetime.now(UTC) + timedelta(seconds=1)
    shop.state.products[products[0].id or ""].updated_at = mark + timedelta(seconds=5)
    shop.state.delete_product(products[1].id or "")
    shop.state.deleted[products[1].id or ""] = mark + timedelta(seconds=6)
    changed = [p for page in client.products_changed(mark) for p in page]
    assert [(p.id, p.deleted) for p in changed] == [
        (products[0].id, False),
        (products[1].id, True),
    ]
    assert client.products([products[1].id or ""]) == []


def test_product_with_many_variants_is_read_whole(
    shop: ShopifyWebshop, client: ShopifyShop, recorder: Recorder
) -> None:
    product = shop.state.add_product("Big Tee")
    for i in range(30):
        shop.state.add_variant(product.id, f"BIG-{i:02}", None, 1, option=f"Size {i}")
    (read,) = client.products([product.id])
    assert [v.sku for v in read.variants] == [f"BIG-{i:02}" for i in range(30)]
    assert read.has_variants and read.variants[3].name == "Size 3"
    assert recorder.count("PossyncProductVariants") == 1


def test_a_throttled_mutation_is_sent_again(shop: ShopifyWebshop, client: ShopifyShop) -> None:
    listing = client.listings_by_sku([SKUS[5]])[0]
    update = StockUpdate(
        ref=listing.ref,
        quantity=(listing.stock or 0) + 4,
        product_key=listing.ref.key,
        pos_id="p",
        previous=listing.stock,
    )
    shop.state.force_throttle(1)
    (outcome,) = client.set_stock([update])
    assert outcome.ok and shop.stock(SKUS[5]) == (listing.stock or 0) + 4
    assert shop.state.throttled == 1
