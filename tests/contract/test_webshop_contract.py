"""The contract every webshop connector keeps, run against each registered webshop's
emulator over real sockets. The flows rely on exactly these behaviours; a webshop added to
the registry (connector, Block, emulator) is picked up here without a new test.

Admin and customer actions go through the emulated shop's own API (`EmulatedWebshop`);
what is checked is what our connector reads and writes.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

import httpx
import pytest
from pydantic import SecretStr

from emulators.control import FaultConfig
from emulators.demo import demo_catalogue
from emulators.webshops import EmulatedWebshop, start_webshop
from possync.domain.models import StockUpdate, WebshopListing, WebshopRef
from possync.domain.products import ProductData, ProductWrite, VariantData
from possync.serving import serve_in_thread
from possync.vendors.errors import FatalError, RateLimited, RetriableError, ServerError
from possync.vendors.http import RetryPolicy
from possync.vendors.ports import ProductCatalogue, Webshop
from possync.vendors.registry import build_webshop, names, webhook_source
from possync.webhooks import OrderNotice, create_webhook_app
from tests.webhooks.support import MemoryDeliveryLog, Notices

# 260 SKUs: more than one page of every vendor's listing and more than one write call.
CATALOGUE = demo_catalogue(260, seed=11, variable_share=0.25)
VARIANTS = [v for p in CATALOGUE for v in p.variants]
SKUS = [v.sku for v in VARIANTS]
SIMPLE_SKU = next(p.variants[0].sku for p in CATALOGUE if p.simple and p.variants[0].stock > 5)
VARIANT_SKU = next(v.sku for p in CATALOGUE if not p.simple for v in p.variants if v.stock > 5)
FAST_RETRY = RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.05, max_retry_after=0.1)

pytestmark = pytest.mark.xdist_group("webshop-contract")


@pytest.fixture(scope="module", params=sorted(names("webshop")))
def web(request: pytest.FixtureRequest) -> Iterator[EmulatedWebshop]:
    shop = start_webshop(request.param, CATALOGUE)
    try:
        yield shop
    finally:
        shop.stop()


@pytest.fixture
def connector(web: EmulatedWebshop) -> Iterator[Webshop]:
    web.control.reset()
    shop = build_webshop(web.system, web.config(), retry=FAST_RETRY)
    try:
        yield shop
    finally:
        web.control.reset()
        shop.close()


def catalogue_of(shop: Webshop) -> ProductCatalogue:
    assert isinstance(shop, ProductCatalogue), f"{shop.system} is no ProductCatalogue"
    return shop


def by_sku(listings: list[WebshopListing]) -> dict[str, WebshopListing]:
    found: dict[str, WebshopListing] = {}
    for listing in listings:
        assert listing.sku is not None
        assert listing.sku not in found, f"SKU {listing.sku} listed twice"
        found[listing.sku] = listing
    return found


def update(listing: WebshopListing, quantity: int) -> StockUpdate:
    return StockUpdate(
        ref=listing.ref,
        quantity=quantity,
        product_key=f"k-{listing.sku}",
        pos_id=f"p-{listing.sku}",
        sku=listing.sku,
        previous=listing.stock,
    )


# -- reads ---------------------------------------------------------------------------------


def test_listings_by_sku_find_simple_products_and_variants_with_their_stock(
    web: EmulatedWebshop, connector: Webshop
) -> None:
    found = by_sku(connector.listings_by_sku([*SKUS, "NO-SUCH-SKU"]))
    assert set(found) == set(SKUS)
    for sku in (SIMPLE_SKU, VARIANT_SKU, SKUS[-1]):
        assert found[sku].stock == web.stock(sku)
    barcodes = {v.sku: v.barcode for v in VARIANTS}
    assert all(found[s].barcode in (None, barcodes[s]) for s in SKUS)
    # A variant's ref names its product, the same product for all sizes of one product.
    sizes = next(p for p in CATALOGUE if not p.simple).variants
    parents = {found[v.sku].ref.product_id for v in sizes}
    assert len(parents) == 1 and all(found[v.sku].ref.variation_id for v in sizes)


def test_all_listings_pages_through_the_whole_catalogue_once(connector: Webshop) -> None:
    pages = list(connector.all_listings())
    assert len(pages) > 1, "260 SKUs should take more than one page"
    listings = [listing for page in pages for listing in page if listing.sku in set(SKUS)]
    assert set(by_sku(listings)) == set(SKUS)


def test_listings_by_ref_read_current_stock(web: EmulatedWebshop, connector: Webshop) -> None:
    found = by_sku(connector.listings_by_sku([SIMPLE_SKU, VARIANT_SKU]))
    web.set_stock(SIMPLE_SKU, 3)
    again = by_sku(connector.listings([found[SIMPLE_SKU].ref, found[VARIANT_SKU].ref]))
    assert again[SIMPLE_SKU].stock == 3
    assert again[VARIANT_SKU].stock == web.stock(VARIANT_SKU)


# -- writes --------------------------------------------------------------------------------


def test_batch_writes_split_by_the_vendor_limit_and_read_back(
    web: EmulatedWebshop, connector: Webshop
) -> None:
    found = by_sku(connector.listings_by_sku(SKUS))
    updates = [update(found[sku], (i * 7) % 50) for i, sku in enumerate(SKUS)]
    batches = connector.write_batches(updates)
    assert sorted(u.sku or "" for b in batches for u in b) == sorted(SKUS)
    assert len(batches) <= len(updates) / 2, "grouped: two or more items a call on average"
    before = web.write_calls()
    outcomes = [o for batch in batches for o in connector.set_stock(batch)]
    assert all(o.ok for o in outcomes), [o.error for o in outcomes if not o.ok][:3]
    assert web.write_calls() - before <= len(batches) * 2  # a call or two per batch
    want = {u.sku: u.quantity for u in updates}
    assert {s: web.stock(s) for s in SKUS} == want
    assert {s: lst.stock for s, lst in by_sku(connector.listings_by_sku(SKUS)).items()} == want


def test_a_refused_item_fails_alone(web: EmulatedWebshop, connector: Webshop) -> None:
    good = by_sku(connector.listings_by_sku([SIMPLE_SKU]))[SIMPLE_SKU]
    ghost = WebshopListing(
        ref=WebshopRef(product_id=ghost_id(good.ref.product_id)), sku="GHOST-1", stock=1
    )
    if good.ref.variation_id:  # the vendor's refs name variants: make the ghost one too
        ghost = ghost.model_copy(
            update={"ref": WebshopRef(product_id=ghost.ref.product_id, variation_id="999999")}
        )
    # Previous None: the write does not depend on what the webshop holds now.
    updates = [update(good, 11).model_copy(update={"previous": None}), update(ghost, 4)]
    outcomes = [o for batch in connector.write_batches(updates) for o in connector.set_stock(batch)]
    result = {o.update.sku: o for o in outcomes}
    assert result[SIMPLE_SKU].ok and web.stock(SIMPLE_SKU) == 11
    assert not result["GHOST-1"].ok and result["GHOST-1"].error


def ghost_id(product_id: str) -> str:
    """An id of the vendor's shape that names no product."""
    if product_id.startswith("gid://"):
        return product_id.rsplit("/", 1)[0] + "/999999999"
    return "999999999"


# -- errors --------------------------------------------------------------------------------


def test_server_errors_are_retried_then_raised_as_retriable(
    web: EmulatedWebshop, connector: Webshop
) -> None:
    web.control.set_faults(FaultConfig(rate_500=1.0, seed=1))
    with pytest.raises(ServerError) as raised:
        connector.listings_by_sku([SIMPLE_SKU])
    assert isinstance(raised.value, RetriableError)
    assert sum(web.control.counts.values()) == FAST_RETRY.attempts  # tried, then retried


def test_rate_limits_are_retriable(web: EmulatedWebshop, connector: Webshop) -> None:
    web.control.set_faults(FaultConfig(rate_429=1.0, retry_after_seconds=0.01, seed=1))
    with pytest.raises(RateLimited):
        connector.listings_by_sku([SIMPLE_SKU])
    web.control.set_faults(FaultConfig(rate_429=0.5, retry_after_seconds=0.01, seed=3))
    patient = build_webshop(web.system, web.config(), retry=RetryPolicy(attempts=8))
    try:
        assert [x.sku for x in patient.listings_by_sku([SIMPLE_SKU])] == [SIMPLE_SKU]
    finally:
        patient.close()


def test_bad_credentials_are_fatal_and_never_echo_the_secret(web: EmulatedWebshop) -> None:
    config = web.config()
    secret_fields = {k: v for k, v in config if isinstance(v, SecretStr)}
    wrong = {k: SecretStr("wrong-" + v.get_secret_value()) for k, v in secret_fields.items()}
    shop = build_webshop(web.system, config.model_copy(update=wrong), retry=FAST_RETRY)
    try:
        with pytest.raises(FatalError) as raised:
            shop.listings_by_sku([SIMPLE_SKU])
    finally:
        shop.close()
    assert raised.value.status in {401, 403}
    for value in wrong.values():
        assert value.get_secret_value() not in str(raised.value)


# -- orders and refunds --------------------------------------------------------------------


def test_orders_are_read_incrementally_oldest_change_first(
    web: EmulatedWebshop, connector: Webshop
) -> None:
    first = web.place_order({SIMPLE_SKU: 1})
    # Vendors stamp and filter in whole seconds; a connector may re-read a second or so
    # before `since` (a repeat is harmless, a miss is not), so the first order is older.
    time.sleep(2.5)
    since = datetime.now(UTC)
    second = web.place_order({VARIANT_SKU: 2, SIMPLE_SKU: 1})  # in the same second as since
    changed = [o for page in connector.orders_changed(since) for o in page]
    ids = [o.order_id for o in changed]
    assert second in ids and first not in ids
    stamps = [o.modified_at for o in changed]
    assert stamps == sorted(stamps)
    everything = [o.order_id for page in connector.orders_changed(None) for o in page]
    assert {first, second} <= set(everything)

    [order] = connector.orders([second])
    assert order.status in connector.accepted_statuses
    lines = {item.sku: item for item in order.items}
    assert lines[VARIANT_SKU].quantity == 2 and lines[SIMPLE_SKU].quantity == 1
    listing = by_sku(connector.listings_by_sku([VARIANT_SKU]))[VARIANT_SKU]
    assert lines[VARIANT_SKU].ref == listing.ref  # order lines name the listing's ref
    assert order.total > 0 and order.currency == "DKK"


def test_an_unpaid_order_is_not_accepted_until_paid(
    web: EmulatedWebshop, connector: Webshop
) -> None:
    order_id = web.place_order({SIMPLE_SKU: 1}, paid=False)
    [order] = connector.orders([order_id])
    assert order.status not in connector.accepted_statuses
    web.pay_order(order_id)
    [order] = connector.orders([order_id])
    assert order.status in connector.accepted_statuses


def test_cancellation_and_refunds_are_reported(web: EmulatedWebshop, connector: Webshop) -> None:
    cancelled = web.place_order({SIMPLE_SKU: 1}, paid=False)  # Magento cancels unpaid only
    web.cancel_order(cancelled)
    [order] = connector.orders([cancelled])
    assert order.status == "cancelled"

    order_id = web.place_order({VARIANT_SKU: 2, SIMPLE_SKU: 1})
    stock = web.stock(VARIANT_SKU)
    refund_id = web.refund(order_id, {VARIANT_SKU: 1}, Decimal("10.00"))
    assert web.stock(VARIANT_SKU) == (stock or 0) + 1  # restocked by the webshop
    [order] = connector.orders([order_id])
    assert refund_id in order.refund_ids and order.status != "refunded"
    [refund] = connector.refunds(order_id)
    assert refund.refund_id == refund_id and refund.amount == Decimal("10.00")
    assert [(i.sku, i.quantity) for i in refund.items] == [(VARIANT_SKU, 1)]


# -- products ------------------------------------------------------------------------------


def test_products_are_read_whole_then_incrementally(
    web: EmulatedWebshop, connector: Webshop
) -> None:
    products = catalogue_of(connector)
    everything = [p for page in products.products_changed(None) for p in page]
    skus = {v.sku for p in everything for v in p.variants}
    assert set(SKUS) <= skus
    time.sleep(1.1)
    since = datetime.now(UTC)
    time.sleep(1.1)
    web.set_price(VARIANT_SKU, Decimal("42.50"))
    changed = [p for page in products.products_changed(since) for p in page]
    variants = {v.sku: v for p in changed for v in p.variants}
    assert VARIANT_SKU in variants and Decimal(variants[VARIANT_SKU].price or "0") == Decimal(
        "42.50"
    )
    assert len(changed) < len(everything) / 4, "an incremental read is not a full one"


def test_products_are_created_and_updated_with_variants(connector: Webshop) -> None:
    products = catalogue_of(connector)
    variants = (
        VariantData(name="S", sku="CT-NEW-S", barcode="5790000000011", price="19.95"),
        VariantData(name="M", sku="CT-NEW-M", barcode="5790000000028", price="21.95"),
    )
    new = ProductData(
        name="Contract Tee", description="Soft.", has_variants=True, variants=variants
    )
    [created] = products.write_products([ProductWrite(key="new", product=new)])
    assert created.ok, created.error
    assert created.product_id and len(created.variant_ids) == 2 and all(created.variant_ids)
    [read] = products.products([created.product_id])
    got = {v.sku: v for v in read.variants}
    assert set(got) == {"CT-NEW-S", "CT-NEW-M"} and read.name == "Contract Tee"
    assert Decimal(got["CT-NEW-M"].price or "0") == Decimal("21.95")
    assert got["CT-NEW-S"].barcode == "5790000000011"

    cheaper = tuple(
        v.model_copy(update={"price": "17.00" if v.sku == "CT-NEW-S" else v.price})
        for v in read.variants
    )
    change = read.model_copy(update={"variants": cheaper, "name": "Contract Tee II"})
    [updated] = products.write_products(
        [ProductWrite(key="upd", product=change, fields=("name", "price"))]
    )
    assert updated.ok, updated.error
    [again] = products.products([created.product_id])
    assert again.name == "Contract Tee II"
    assert {v.sku: Decimal(v.price or "0") for v in again.variants} == {
        "CT-NEW-S": Decimal("17.00"),
        "CT-NEW-M": Decimal("21.95"),
    }
    assert by_sku(connector.listings_by_sku(["CT-NEW-S"]))["CT-NEW-S"].ref.product_id == (
        created.product_id
    )


def refused_product(system: str) -> ProductData:
    """A product the vendor refuses: WooCommerce a SKU another product holds (Magento would
    update that product, Shopify allows duplicates), the others a blank title or name."""
    if system == "woocommerce":
        return ProductData(name="Copy", variants=(VariantData(sku=SIMPLE_SKU, price="5.00"),))
    return ProductData(name="", variants=(VariantData(sku="CT-BLANK-1", price="5.00"),))


def test_a_refused_product_write_fails_alone_with_the_reason(connector: Webshop) -> None:
    products = catalogue_of(connector)
    good = ProductData(name="Good one", variants=(VariantData(sku="CT-GOOD-1", price="5.00"),))
    outcomes = products.write_products(
        [
            ProductWrite(key="bad", product=refused_product(connector.system)),
            ProductWrite(key="good", product=good),
        ]
    )
    result = {o.key: o for o in outcomes}
    assert not result["bad"].ok and result["bad"].error
    assert result["good"].ok and result["good"].product_id


# -- webhooks ------------------------------------------------------------------------------


def test_order_webhooks_are_verified_and_deduplicated(web: EmulatedWebshop) -> None:
    secret = {"value": ""}
    source = webhook_source(web.system, lambda: secret["value"])
    if source is None:
        pytest.skip(f"{web.system} sends no webhooks; its orders are polled")
    notices = Notices()
    app = create_webhook_app(sources=[source], deliveries=MemoryDeliveryLog(), on_notice=notices)
    receiver = serve_in_thread(app)
    try:
        url = f"{receiver.url}/webhooks/{web.system}"
        given = web.subscribe_webhooks(url)
        assert given
        secret["value"] = given
        order_id = web.place_order({SIMPLE_SKU: 1})
        received = notices.wait_for(1, timeout=15)
        assert any(n.order_id == order_id for n in received), received
        # A forged delivery (same body shape, wrong key) is refused and wakes nothing.
        body = b'{"id": 1}'
        headers = forged_headers(web.system)
        answer = httpx.post(url, content=body, headers=headers)
        assert answer.status_code == 401
        count = len(notices.received)
        time.sleep(0.5)
        assert len(notices.received) == count
        assert all(isinstance(n, OrderNotice) for n in notices.received)
    finally:
        receiver.stop()
        app.state.notice_worker.close(5)


def forged_headers(system: str) -> dict[str, Any]:
    """Headers of a delivery signed with another key, in the vendor's names."""
    signature = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
    if system == "shopify":
        return cast(
            dict[str, Any],
            {
                "X-Shopify-Hmac-Sha256": signature,
                "X-Shopify-Topic": "orders/create",
                "X-Shopify-Event-Id": "forged-1",
                "Content-Type": "application/json",
            },
        )
    return {
        "X-WC-Webhook-Signature": signature,
        "X-WC-Webhook-Topic": "order.created",
        "X-WC-Webhook-Delivery-ID": "forged-1",
        "Content-Type": "application/json",
    }
