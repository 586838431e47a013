"""The Magento connector against the Magento emulator over real sockets: paging by
total_count, stock writes (synchronous and bulk, polled), errors, orders, refunds and
products. Spec conformance of every request is in tests/emulators/test_magento_conformance.py."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import SecretStr

from emulators.control import FaultConfig
from emulators.demo import demo_catalogue
from emulators.magento_shop import MagentoWebshop, start_magento
from possync.domain.models import StockUpdate, WebshopListing, WebshopRef
from possync.domain.products import ProductData, ProductWrite, VariantData
from possync.vendors.errors import FatalError, RateLimited, RetriableError, ServerError
from possync.vendors.http import RetryPolicy
from possync.vendors.magento.client import magento_error, render_message
from possync.vendors.magento.shop import MagentoShop
from possync.vendors.ports import ProductCatalogue, Webshop

CATALOGUE = demo_catalogue(60, seed=11)
SKUS = [v.sku for p in CATALOGUE for v in p.variants]
NO_WAIT = RetryPolicy(attempts=3, base_delay=0.0, max_delay=0.0, max_retry_after=0.0)


@pytest.fixture
def web() -> Iterator[MagentoWebshop]:
    shop = start_magento(CATALOGUE)
    try:
        yield shop
    finally:
        shop.stop()


def connect(web: MagentoWebshop, page_size: int = 100, **config: object) -> MagentoShop:
    return MagentoShop(web.config().model_copy(update=config), retry=NO_WAIT, page_size=page_size)


def update(listing: WebshopListing, quantity: int) -> StockUpdate:
    return StockUpdate(
        ref=listing.ref, quantity=quantity, product_key="k", pos_id="p", sku=listing.sku
    )


def test_it_is_a_webshop_and_a_product_catalogue(web: MagentoWebshop) -> None:
    shop = connect(web)
    assert isinstance(shop, Webshop) and isinstance(shop, ProductCatalogue)
    assert shop.accepted_statuses == ("processing", "complete") and shop.typed_variants
    shop.close()


def test_pages_stop_by_total_count_though_magento_repeats_the_last_page(
    web: MagentoWebshop,
) -> None:
    shop = connect(web, page_size=7)
    pages = list(shop.all_listings())
    assert sorted(x.sku or "" for page in pages for x in page) == sorted(SKUS)
    assert len(pages) == -(-len(SKUS) // 7)
    reads = web.control.count("GET /rest/{store_code}/V1/products")
    assert reads == len(pages) + 1  # and one big page of configurables (the parents)
    shop.close()


def test_listings_name_configurable_children_by_parent_and_child(web: MagentoWebshop) -> None:
    shop = connect(web, page_size=10)
    listings = shop.listings_by_sku([*SKUS, "NOT-THERE"])
    assert sorted(x.sku or "" for x in listings) == sorted(SKUS)
    variable = next(p for p in CATALOGUE if not p.simple)
    variant = variable.variants[1]
    found = next(x for x in listings if x.sku == variant.sku)
    parent = web.state.catalog.get(variable.key)
    child = web.state.catalog.get(variant.sku)
    assert found.ref == WebshopRef(product_id=str(parent.id), variation_id=str(child.id))
    assert (found.stock, found.barcode, found.manage_stock) == (
        variant.stock,
        variant.barcode,
        True,
    )
    simple = next(p for p in CATALOGUE if p.simple).variants[0]
    lone = next(x for x in listings if x.sku == simple.sku)
    assert lone.ref.variation_id is None
    assert shop.listings([found.ref, lone.ref]) == [lone, found] or sorted(
        shop.listings([found.ref, lone.ref]), key=lambda x: x.sku or ""
    ) == sorted([lone, found], key=lambda x: x.sku or "")
    shop.close()


def test_a_small_write_is_one_synchronous_call(web: MagentoWebshop) -> None:
    shop = connect(web)
    listings = shop.listings_by_sku(SKUS[:3])
    batches = shop.write_batches([update(x, 5) for x in listings])
    assert len(batches) == 1
    outcomes = shop.set_stock(batches[0])
    assert [o.ok for o in outcomes] == [True, True, True]
    assert all(web.stock(s) == 5 for s in SKUS[:3])
    assert web.control.count("POST /rest/{store_code}/V1/inventory/source-items") == 1
    assert web.control.count("POST /rest/{store_code}/async") == 0
    shop.close()


def test_a_refused_synchronous_write_is_resent_item_by_item_in_bulk(
    web: MagentoWebshop,
) -> None:
    shop = connect(web)
    listings = shop.listings_by_sku(SKUS[:2])
    ghost = StockUpdate(
        ref=WebshopRef(product_id="999"), quantity=1, product_key="k", pos_id="p", sku="GHOST"
    )
    outcomes = shop.set_stock([update(listings[0], 8), ghost, update(listings[1], 9)])
    assert [o.ok for o in outcomes] == [True, False, True]
    assert outcomes[1].error == 'Product with SKU "GHOST" does not exist.'
    assert web.stock(listings[0].sku or "") == 8
    shop.close()


def test_a_store_limiting_sync_arrays_to_20_still_takes_the_write(web: MagentoWebshop) -> None:
    """Adobe's input limits (20 entities a synchronous call) refuse the call: it is sent
    again through the bulk API, whose limit is 5,000."""
    web.state.input_limits = True
    shop = connect(web)
    listings = shop.listings_by_sku(SKUS[:30])
    outcomes = shop.set_stock([update(x, 2) for x in listings])
    assert len(outcomes) == 30 and all(o.ok for o in outcomes)
    assert all(web.stock(x.sku or "") == 2 for x in listings)
    shop.close()


def test_a_store_with_input_limits_pages_the_parents_at_its_maximum(
    web: MagentoWebshop,
) -> None:
    web.state.input_limits = True
    shop = connect(web, page_size=50)
    listings = shop.listings_by_sku(SKUS)
    assert sum(1 for x in listings if x.ref.variation_id) == sum(
        len(p.variants) for p in CATALOGUE if not p.simple
    )
    shop.close()


def test_a_large_write_goes_through_the_bulk_api_and_is_polled(web: MagentoWebshop) -> None:
    shop = connect(web, bulk_threshold=5)
    listings = shop.listings_by_sku(SKUS[:12])
    ghost = StockUpdate(
        ref=WebshopRef(product_id="999"), quantity=1, product_key="k", pos_id="p", sku="GHOST"
    )
    updates = [update(x, 3) for x in listings] + [ghost]
    batches = shop.write_batches(updates)
    assert [len(b) for b in batches] == [13]
    outcomes = shop.set_stock(batches[0])
    assert [o.update for o in outcomes] == updates
    assert [o.ok for o in outcomes] == [True] * 12 + [False]
    assert outcomes[-1].error == 'Product with SKU "GHOST" does not exist.'
    assert all(web.stock(x.sku or "") == 3 for x in listings)
    assert web.control.count("POST /rest/{store_code}/async/bulk/V1/inventory/source-items") == 1
    assert web.control.count("GET /rest/{store_code}/V1/bulk/{bulkUuid}/status") >= 1
    shop.close()


def test_retriably_failed_operations_are_sent_once_more(web: MagentoWebshop) -> None:
    shop = connect(web, bulk_threshold=1)
    listings = shop.listings_by_sku(SKUS[:3])
    web.state.fail_next_retriably = 2
    outcomes = shop.set_stock([update(x, 4) for x in listings])
    assert all(o.ok for o in outcomes)
    assert web.control.count("POST /rest/{store_code}/async/bulk/V1/inventory/source-items") == 2
    web.state.fail_next_retriably = 10
    again = shop.set_stock([update(x, 6) for x in listings[:2]])
    assert [o.ok for o in again] == [False, False]
    assert "Deadlock" in (again[0].error or "")
    shop.close()


def test_a_bulk_that_does_not_finish_in_time_is_retriable(web: MagentoWebshop) -> None:
    web.state.bulk_delay = 2.0
    shop = connect(web, bulk_threshold=1, bulk_timeout_seconds=0.2, bulk_poll_seconds=0.05)
    listings = shop.listings_by_sku(SKUS[:2])
    with pytest.raises(RetriableError, match="open operations"):
        shop.set_stock([update(x, 1) for x in listings])
    shop.close()


def test_a_wrong_token_is_fatal(web: MagentoWebshop) -> None:
    config = web.config().model_copy(update={"access_token": SecretStr("nope")})
    shop = MagentoShop(config, retry=NO_WAIT)
    with pytest.raises(FatalError) as caught:
        shop.listings_by_sku(SKUS[:1])
    assert caught.value.status == 401
    assert "isn't authorized to access Magento_Catalog::products" in str(caught.value)
    assert "nope" not in str(caught.value)
    shop.close()


def test_server_errors_and_rate_limits_are_retried_then_retriable(web: MagentoWebshop) -> None:
    shop = connect(web)
    web.control.set_faults(FaultConfig(rate_500=0.5, seed=3))
    assert len(shop.listings_by_sku(SKUS[:5])) == 5
    assert web.control.injected["500"] >= 1
    web.control.set_faults(FaultConfig(rate_500=1.0))
    with pytest.raises(ServerError):
        shop.listings_by_sku(SKUS[:5])
    web.control.set_faults(FaultConfig(rate_429=1.0, retry_after_seconds=0))
    with pytest.raises(RateLimited):
        shop.set_stock([StockUpdate(ref=WebshopRef(product_id="1"), quantity=1,
                                    product_key="k", pos_id="p", sku=SKUS[0])])  # fmt: skip
    assert web.control.injected["429"] == NO_WAIT.attempts
    shop.close()


def test_magento_messages_get_their_placeholders_filled() -> None:
    assert render_message('"%1" and "%2"', ["a", "b"]) == '"a" and "b"'
    assert render_message("%resources.", {"resources": "X"}) == "X."
    import httpx

    answer = httpx.Response(400, json={"message": "Bad %1", "parameters": ["sku"]})
    assert magento_error(answer) == (None, "Bad sku")


def test_orders_are_read_incrementally_with_their_refunds(web: MagentoWebshop) -> None:
    shop = connect(web, page_size=2)
    variable = next(p for p in CATALOGUE if not p.simple)
    simple = next(p for p in CATALOGUE if p.simple).variants[0]
    child_sku = variable.variants[0].sku
    old = web.place_order({simple.sku: 1})
    later = datetime.now(UTC) + timedelta(hours=1)
    web.state.clock = lambda: later
    new = web.place_order({child_sku: 2, simple.sku: 1})
    pending = web.place_order({simple.sku: 1}, paid=False)
    pages = list(shop.orders_changed(later))
    orders = [o for page in pages for o in page]
    assert [o.order_id for o in orders] == [new, pending] and old not in {
        o.order_id for o in orders
    }
    first = orders[0]
    assert first.status == "processing" and first.currency == "DKK"
    line = next(i for i in first.items if i.sku == child_sku)
    parent = web.state.catalog.get(variable.key)
    child = web.state.catalog.get(child_sku)
    assert line.ref == WebshopRef(product_id=str(parent.id), variation_id=str(child.id))
    assert line.quantity == 2 and line.unit_price == variable.variants[0].price
    assert first.total == variable.variants[0].price * 2 + simple.price
    assert orders[1].status == "pending"
    refund_id = web.refund(new, {child_sku: 1}, Decimal("1.00"))
    money_only = web.refund(new, {}, Decimal("2.00"), restock=False)
    (read,) = shop.orders([new])
    assert read.refund_ids == [refund_id, money_only]
    refunds = shop.refunds(new)
    assert [r.refund_id for r in refunds] == [refund_id, money_only]
    assert refunds[0].amount == Decimal("1.00") and refunds[1].items == []
    assert [(i.sku, i.quantity, i.ref) for i in refunds[0].items] == [(child_sku, 1, line.ref)]
    web.cancel_order(pending)
    web.cancel_order(new)  # paid: refunded in full instead
    statuses = {o.order_id: o.status for o in shop.orders([new, pending, old])}
    assert statuses == {new: "refunded", pending: "cancelled", old: "processing"}
    shop.close()


def test_products_are_read_with_children_grouped(web: MagentoWebshop) -> None:
    shop = connect(web, page_size=8)
    products = [p for page in shop.products_changed(None) for p in page]
    assert len(products) == len(CATALOGUE)
    variable = next(p for p in CATALOGUE if not p.simple)
    read = next(p for p in products if p.name == variable.name)
    assert read.has_variants and [v.name for v in read.variants] == [
        v.name for v in variable.variants
    ]
    assert [v.sku for v in read.variants] == [v.sku for v in variable.variants]
    assert read.variants[0].price == f"{variable.variants[0].price:.2f}"
    assert read.description == variable.description
    later = datetime.now(UTC) + timedelta(hours=1)
    web.state.clock = lambda: later
    web.set_price(variable.variants[1].sku, Decimal("77.00"))
    changed = [p for page in shop.products_changed(later) for p in page]
    assert [p.id for p in changed] == [read.id]
    assert changed[0].variants[1].price == "77.00"
    assert shop.products([read.id or "", "99999"]) == [changed[0]]
    shop.close()


def test_products_are_written_created_updated_and_refused(web: MagentoWebshop) -> None:
    shop = connect(web)
    simple = ProductData(
        name="Mug",
        description="A mug",
        variants=(VariantData(sku="MUG-1", barcode="5700000001111", price="12.50"),),
    )
    shirt = ProductData(
        name="Shirt",
        has_variants=True,
        variants=(
            VariantData(name="S", sku="SHIRT-S", price="20.00"),
            VariantData(name="Huge", sku="SHIRT-H", price="25.00"),
        ),
    )
    nameless = ProductData(name="", variants=(VariantData(sku="NO-NAME", price="1.00"),))
    outcomes = shop.write_products(
        [
            ProductWrite(key="mug", product=simple),
            ProductWrite(key="shirt", product=shirt),
            ProductWrite(key="bad", product=nameless),
        ]
    )
    assert [o.ok for o in outcomes] == [True, True, False]
    assert (
        outcomes[2].error == 'The "name" attribute value is empty. Set the attribute and try again.'
    )
    mug, made = outcomes[0], outcomes[1]
    assert mug.variant_ids == (mug.product_id,)
    (read_shirt,) = shop.products([made.product_id or ""])
    assert [v.name for v in read_shirt.variants] == ["S", "Huge"]
    assert tuple(v.id for v in read_shirt.variants) == made.variant_ids
    assert web.state.catalog.get("SHIRT-H").visibility == 1
    grown = read_shirt.model_copy(
        update={
            "archived": True,
            "variants": (
                read_shirt.variants[0].model_copy(update={"price": "21.00"}),
                read_shirt.variants[1],
                VariantData(name="M", sku="SHIRT-M", price="20.00"),
            ),
        }
    )
    (after,) = shop.write_products([ProductWrite(key="shirt", product=grown)])
    assert after.ok and after.variant_ids[:2] == made.variant_ids and after.variant_ids[2]
    (rerun,) = shop.write_products([ProductWrite(key="shirt", product=grown)])  # after a crash
    assert rerun.ok and rerun.variant_ids == after.variant_ids
    (reread,) = shop.products([made.product_id or ""])
    assert reread.archived and [v.sku for v in reread.variants] == ["SHIRT-S", "SHIRT-H", "SHIRT-M"]
    assert reread.variants[0].price == "21.00"
    listings = shop.listings_by_sku(["SHIRT-M", "MUG-1"])
    assert {x.ref.product_id for x in listings if x.sku == "SHIRT-M"} == {made.product_id}
    again = shop.write_products([ProductWrite(key="shirt", product=shirt)])
    assert again[0].product_id == made.product_id  # same key: the same parent SKU
    shop.close()
