"""`WooCommerceShop` as a `ProductCatalogue` against the WooCommerce emulator over real
sockets. Every exchange of every test is checked against the wc/v3 specs in ../shared/specs:
reads (requests and answers) against the 3.0.x file as tests/woo_spec.py corrects it, batch
requests against the hand-written file, which has the real batch shape.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from emulators.demo import demo_catalogue
from possync.domain.products import ProductData, ProductWrite, VariantData
from possync.vendors.errors import TransportError
from possync.vendors.http import RetryPolicy
from possync.vendors.ports import ProductCatalogue
from possync.vendors.woocommerce.config import WooCommerceConfig
from possync.vendors.woocommerce.products import marker
from possync.vendors.woocommerce.shop import WooCommerceShop
from tests.conformance import SpecRecorder
from tests.emulators.woo_support import Shop, open_shop, settable_clock
from tests.specs import openapi
from tests.woo_spec import HOST, WTX_HOST, WTX_SPEC, woocommerce_openapi

CATALOGUE = demo_catalogue(40, seed=5)
SIMPLE = [p for p in CATALOGUE if p.simple]
VARIABLE = [p for p in CATALOGUE if not p.simple]
BATCH = "/wp-json/wc/v3/products/batch"


@pytest.fixture
def shop() -> Iterator[Shop]:
    yield from open_shop(CATALOGUE)


@pytest.fixture
def recorder() -> SpecRecorder:
    return SpecRecorder()


@pytest.fixture
def woo(shop: Shop, recorder: SpecRecorder) -> Iterator[WooCommerceShop]:
    """A connector whose every exchange must conform to the wc/v3 specs when the test ends."""
    connector = connect(shop, recorder)
    yield connector
    connector.close()
    assert spec_problems(recorder) == []


def connect(
    shop: Shop, recorder: SpecRecorder, retry: RetryPolicy | None = None
) -> WooCommerceShop:
    config = WooCommerceConfig(
        url=shop.server.url,
        consumer_key=SecretStr("ck_demo"),
        consumer_secret=SecretStr("cs_demo"),
    )
    return WooCommerceShop(config, retry=retry, event_hooks=recorder.hooks())


def is_batch(request: httpx.Request) -> bool:
    return request.url.path.endswith("/batch")


def spec_problems(recorder: SpecRecorder) -> list[str]:
    problems = recorder.problems(woocommerce_openapi(), HOST, skip=is_batch)
    batches = SpecRecorder([x for x in recorder.exchanges if is_batch(x[0])])
    return problems + batches.problems(openapi(WTX_SPEC), WTX_HOST, responses=False)


def everything(woo: WooCommerceShop, since: datetime | None = None) -> list[ProductData]:
    return [p for page in woo.products_changed(since) for p in page]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def variant(
    name: str = "", price: str | None = "10.00", sku: str | None = None, barcode: str | None = None
) -> VariantData:
    """A variant with a fresh SKU unless one is given."""
    return VariantData(name=name, price=price, sku=sku or unique("SKU"), barcode=barcode)


def simple(name: str = "Plain mug", **fields: Any) -> ProductData:
    return ProductData(name=name, variants=(variant(),), **fields)


def sized(name: str = "Shirt", sizes: tuple[str, ...] = ("S", "M", "L")) -> ProductData:
    variants = tuple(variant(s, price=f"2{i}.00") for i, s in enumerate(sizes))
    return ProductData(name=name, has_variants=True, variants=variants)


def create(woo: WooCommerceShop, *products: ProductData) -> list[ProductData]:
    """Create products; what WooCommerce now holds for them, in the same order."""
    writes = [ProductWrite(key=f"k{i}", product=p) for i, p in enumerate(products)]
    outcomes = woo.write_products(writes)
    assert all(o.ok for o in outcomes), outcomes
    found = woo.products([str(o.product_id) for o in outcomes])
    assert [p.id for p in found] == [o.product_id for o in outcomes]  # in the order asked
    return found


def comparable(product: ProductData) -> dict[str, Any]:
    return product.model_dump(exclude={"id", "updated_at", "version"}) | {
        "variants": [v.model_dump(exclude={"id"}) for v in product.variants]
    }


def batch_calls(recorder: SpecRecorder, path: str = BATCH) -> int:
    return sum(1 for request, _ in recorder.exchanges if request.url.path == path)


# --- reading ------------------------------------------------------------------------------


def test_woocommerce_shop_is_a_product_catalogue(woo: WooCommerceShop) -> None:
    assert isinstance(woo, ProductCatalogue)
    assert woo.products_per_write == 100 and woo.typed_variants is True
    assert woo.products([]) == [] and woo.write_products([]) == []
    assert woo.products(["999999", "not-a-number"]) == []


def test_full_read_maps_simple_and_variable_products(shop: Shop, woo: WooCommerceShop) -> None:
    products = everything(woo)
    by_name = {p.name: p for p in products}
    assert len(products) == len(CATALOGUE)
    for demo in CATALOGUE:
        found = by_name[demo.name]
        assert found.description == demo.description
        assert found.has_variants is not demo.simple
        assert not found.archived and not found.deleted
        assert found.updated_at is not None and found.updated_at.tzinfo is not None
        expected = [
            ("" if demo.simple else v.name, v.sku, v.barcode, f"{v.price:.2f}")
            for v in demo.variants
        ]
        assert [(v.name, v.sku, v.barcode, v.price) for v in found.variants] == expected
        if demo.simple:
            assert [v.id for v in found.variants] == [found.id]
        else:
            ids = [str(shop.state.id_for_sku(v.sku)) for v in demo.variants]
            assert [v.id for v in found.variants] == ids
    again = woo.products([str(p.id) for p in products])
    assert sorted(again, key=lambda p: int(p.id or 0)) == sorted(
        products, key=lambda p: int(p.id or 0)
    )


def test_grouped_and_external_products_are_skipped_with_a_warning(
    shop: Shop, woo: WooCommerceShop, caplog: pytest.LogCaptureFixture
) -> None:
    made = {
        kind: shop.client.post("/products", json={"name": f"A {kind}", "type": kind}).json()["id"]
        for kind in ("grouped", "external")
    }
    products = everything(woo)
    assert not {str(i) for i in made.values()} & {p.id for p in products}
    for kind, product_id in made.items():
        assert f"WooCommerce product {product_id} is a {kind} product" in caplog.text
    assert woo.products([str(i) for i in made.values()]) == []


@pytest.fixture
def clock(shop: Shop) -> Iterator[list[datetime]]:
    """The shop's clock, set to 2030 (after the seeding) and moved by the test."""
    yield from settable_clock(shop, datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC))


def test_incremental_read_sees_variation_edits_drafts_and_trash(
    shop: Shop, woo: WooCommerceShop, clock: list[datetime]
) -> None:
    variation = shop.state.id_for_sku(VARIABLE[0].variants[0].sku)
    parent = str(shop.client.get(f"/products/{variation}").json()["parent_id"])
    drafted = str(shop.state.id_for_sku(SIMPLE[0].variants[0].sku))
    trashed = str(shop.state.id_for_sku(SIMPLE[1].variants[0].sku))
    shop.client.put(f"/products/{drafted}", json={"status": "draft"})  # at 12:00:00
    clock[0] += timedelta(minutes=1)
    # a variation-only edit: WooCommerce re-saves the parent, so its date moves too
    shop.client.put(f"/products/{parent}/variations/{variation}", json={"regular_price": "99.95"})
    shop.client.delete(f"/products/{trashed}")
    changed = {p.id: p for p in everything(woo, datetime(2030, 1, 1, 12, 0, 30, tzinfo=UTC))}
    assert set(changed) == {parent, trashed}
    edited = changed[parent]
    assert edited.has_variants and edited.variants[0].price == "99.95"
    assert edited.updated_at == datetime(2030, 1, 1, 12, 1, tzinfo=UTC)
    assert changed[trashed].deleted and not changed[trashed].archived
    earlier = {p.id: p for p in everything(woo, datetime(2030, 1, 1, 11, 0, tzinfo=UTC))}
    assert set(earlier) == {parent, trashed, drafted}
    assert earlier[drafted].archived and not earlier[drafted].deleted
    # `modified_after` is strict and in whole seconds: the read starts one second early, so a
    # save later in the cursor's own second is not missed
    assert {p.id for p in everything(woo, datetime(2030, 1, 1, 12, 1, tzinfo=UTC))} == {
        parent,
        trashed,
    }
    assert everything(woo, datetime(2030, 1, 1, 12, 1, 1, tzinfo=UTC)) == []
    # products() leaves the trash out and keeps drafts
    assert [p.id for p in woo.products([trashed, drafted])] == [drafted]


# --- creating ----------------------------------------------------------------------------------


def test_create_simple_and_variable_products_and_read_them_back(
    shop: Shop, woo: WooCommerceShop, recorder: SpecRecorder
) -> None:
    mug = simple(description="<p>Stoneware</p>").model_copy(
        update={"variants": (variant(price="12.50", barcode="5701234567892"),)}
    )
    shirt = sized()
    outcomes = woo.write_products(
        [ProductWrite(key="mug", product=mug), ProductWrite(key="shirt", product=shirt)]
    )
    assert [o.key for o in outcomes] == ["mug", "shirt"] and all(o.ok for o in outcomes)
    mug_out, shirt_out = outcomes
    assert mug_out.variant_ids == (mug_out.product_id,)
    assert len(shirt_out.variant_ids) == 3 and None not in shirt_out.variant_ids
    mug_back, shirt_back = woo.products([str(mug_out.product_id), str(shirt_out.product_id)])
    assert comparable(mug_back) == comparable(mug)
    assert comparable(shirt_back) == comparable(shirt)
    assert [v.id for v in shirt_back.variants] == list(shirt_out.variant_ids)
    raw = shop.client.get(f"/products/{shirt_out.product_id}").json()
    assert raw["type"] == "variable"
    assert raw["attributes"][0]["name"] == "Option"
    assert raw["attributes"][0]["options"] == ["S", "M", "L"]
    variation = shop.client.get(
        f"/products/{shirt_out.product_id}/variations/{shirt_out.variant_ids[0]}"
    ).json()
    assert variation["manage_stock"] is True and variation["regular_price"] == "20.00"
    assert raw["sku"] == ""  # the marker is gone once the variations are in
    # the products, the variations, then the parent's marker cleared
    assert batch_calls(recorder) == 2
    assert batch_calls(recorder, f"{BATCH[:-6]}/{shirt_out.product_id}/variations/batch") == 1


def test_a_variable_create_cut_off_before_its_variations_is_finished_not_repeated(
    shop: Shop, woo: WooCommerceShop
) -> None:
    """A crash between the parent and its variations leaves a parent nothing links to (it
    has no SKU of its own); creating the same key again adopts it by its marker SKU."""
    shirt = sized("Cut off")
    orphan = shop.client.post(
        "/products/batch",
        json={"create": [{"name": "Cut off", "type": "variable", "sku": marker("shirt-1")}]},
    ).json()["create"][0]
    before = int(shop.client.get("/products", params={"status": "any"}).headers["X-WP-Total"])
    [outcome] = woo.write_products([ProductWrite(key="shirt-1", product=shirt)])
    assert outcome.ok and outcome.product_id == str(orphan["id"])
    after = int(shop.client.get("/products", params={"status": "any"}).headers["X-WP-Total"])
    assert after == before
    [back] = woo.products([str(orphan["id"])])
    assert comparable(back) == comparable(shirt)
    assert shop.client.get(f"/products/{orphan['id']}").json()["sku"] == ""
    # another key does not take it
    [other] = woo.write_products([ProductWrite(key="shirt-2", product=sized("Cut off"))])
    assert other.ok and other.product_id != str(orphan["id"])


def test_long_names_emoji_and_right_to_left_text_round_trip(woo: WooCommerceShop) -> None:
    long_name = ("Long name " * 60)[:600]
    cafe = ProductData(
        name="Café ☕ קפה",
        description="Kaffe ☕ — קפה טרי",
        has_variants=True,
        variants=(variant("קטן ☕"), variant("Grande / café")),
    )
    long_one, cafe_back = create(woo, simple(long_name), cafe)
    assert long_one.name == long_name and len(long_one.name) == 600
    assert comparable(cafe_back) == comparable(cafe)


def test_150_products_are_written_in_two_product_batch_calls(
    woo: WooCommerceShop, recorder: SpecRecorder
) -> None:
    writes = [ProductWrite(key=str(i), product=simple(f"Bulk {i}")) for i in range(150)]
    outcomes = woo.write_products(writes)
    assert [o.key for o in outcomes] == [str(i) for i in range(150)]
    assert all(o.ok for o in outcomes)
    assert len({o.product_id for o in outcomes}) == 150
    assert batch_calls(recorder) == 2


def test_a_duplicate_sku_fails_alone_with_woocommerces_message(
    shop: Shop, woo: WooCommerceShop
) -> None:
    taken = SIMPLE[0].variants[0].sku
    clash = simple("Clash").model_copy(update={"variants": (variant(sku=taken),)})
    writes = [
        ProductWrite(key="a", product=simple("First")),
        ProductWrite(key="b", product=clash),
        ProductWrite(key="c", product=sized("Second")),
    ]
    first, second, third = woo.write_products(writes)
    assert first.ok and third.ok
    assert not second.ok and second.product_id is None
    assert second.error == "Invalid or duplicated SKU." and second.error_field == "sku"
    assert shop.state.id_for_sku(taken) == shop.state.id_for_sku(SIMPLE[0].variants[0].sku)


def test_a_refused_variation_fails_its_product_but_keeps_the_created_ids(
    shop: Shop, woo: WooCommerceShop
) -> None:
    taken_barcode = SIMPLE[0].variants[0].barcode
    shirt = sized("Half made")
    variants = (shirt.variants[0], shirt.variants[1].model_copy(update={"barcode": taken_barcode}))
    [outcome] = woo.write_products(
        [ProductWrite(key="x", product=shirt.model_copy(update={"variants": variants}))]
    )
    assert not outcome.ok and outcome.product_id is not None
    assert outcome.error == "Invalid or duplicated GTIN, UPC, EAN or ISBN."
    assert outcome.error_field == "global_unique_id"
    made, refused = outcome.variant_ids
    assert made is not None and refused is None
    [back] = woo.products([outcome.product_id])
    assert [v.id for v in back.variants] == [made]


def test_a_refused_parent_gets_no_variation_call(
    shop: Shop, woo: WooCommerceShop, recorder: SpecRecorder
) -> None:
    [outcome] = woo.write_products(
        [ProductWrite(key="ghost", product=sized().model_copy(update={"id": "999999"}))]
    )
    assert not outcome.ok and outcome.error == "Invalid ID."
    assert batch_calls(recorder) == 1
    assert not any("/variations" in str(r.url) for r, _ in recorder.exchanges)


# --- updating ----------------------------------------------------------------------------------


def test_update_sends_only_the_fields_asked_for(shop: Shop, woo: WooCommerceShop) -> None:
    [mug] = create(woo, simple("Mug", description="Original"))
    shop.client.put(f"/products/{mug.id}", json={"description": "Edited in the shop"})
    wanted = mug.model_copy(
        update={
            "name": "Renamed",
            "description": "Ours",
            "variants": (mug.variants[0].model_copy(update={"price": "14.00"}),),
        }
    )
    [outcome] = woo.write_products([ProductWrite(key="m", product=wanted, fields=("price",))])
    assert outcome.ok and outcome.product_id == mug.id and outcome.variant_ids == (mug.id,)
    [back] = woo.products([str(mug.id)])
    assert back.variants[0].price == "14.00"
    assert (back.name, back.description) == ("Mug", "Edited in the shop")
    [outcome] = woo.write_products(
        [ProductWrite(key="m", product=wanted, fields=("name", "description"))]
    )
    [back] = woo.products([str(mug.id)])
    assert (back.name, back.description) == ("Renamed", "Ours")


def test_update_variable_product_name_prices_and_barcodes(
    woo: WooCommerceShop, recorder: SpecRecorder
) -> None:
    [shirt] = create(woo, sized())
    changed = shirt.model_copy(
        update={
            "name": "Shirt, organic",
            "variants": (
                shirt.variants[0].model_copy(update={"price": "30.00", "barcode": "4006381333931"}),
                *shirt.variants[1:],
            ),
        }
    )
    before = len(recorder.exchanges)
    [outcome] = woo.write_products(
        [ProductWrite(key="s", product=changed, fields=("name", "price", "barcode"))]
    )
    assert outcome.ok and outcome.variant_ids == tuple(v.id for v in shirt.variants)
    [back] = woo.products([str(shirt.id)])
    assert comparable(back) == comparable(changed)
    posts = [r for r, _ in recorder.exchanges[before:] if r.method == "POST"]
    assert [p.url.path.rsplit("/", 2)[-2:] for p in posts] == [
        ["products", "batch"],
        ["variations", "batch"],
    ]


def test_add_a_variation_to_an_existing_variable_product(shop: Shop, woo: WooCommerceShop) -> None:
    [shirt] = create(woo, sized(sizes=("S", "M")))
    grown = shirt.model_copy(update={"variants": (*shirt.variants, variant("XL", "25.00"))})
    [outcome] = woo.write_products([ProductWrite(key="g", product=grown)])
    assert outcome.ok and outcome.variant_ids[:2] == tuple(v.id for v in shirt.variants)
    assert outcome.variant_ids[2] is not None
    [back] = woo.products([str(shirt.id)])
    assert [v.name for v in back.variants] == ["S", "M", "XL"]
    assert back.variants[2].price == "25.00"
    options = shop.client.get(f"/products/{shirt.id}").json()["attributes"][0]["options"]
    assert options == ["S", "M", "XL"]


def test_a_new_variation_uses_the_products_own_attribute(shop: Shop, woo: WooCommerceShop) -> None:
    """Seeded products vary by 'Size', not by our 'Option': the new option joins 'Size'."""
    demo = VARIABLE[0]
    [product] = [p for p in everything(woo) if p.name == demo.name]
    grown = product.model_copy(update={"variants": (*product.variants, variant("XXXL"))})
    [outcome] = woo.write_products([ProductWrite(key="g", product=grown, fields=())])
    assert outcome.ok
    raw = shop.client.get(f"/products/{product.id}").json()
    assert [a["name"] for a in raw["attributes"]] == ["Size"]
    assert raw["attributes"][0]["options"][-1] == "XXXL"
    [back] = woo.products([str(product.id)])
    assert [v.name for v in back.variants] == [*(v.name for v in demo.variants), "XXXL"]


def test_archive_and_unarchive(woo: WooCommerceShop, shop: Shop) -> None:
    [mug, shirt] = create(woo, simple(), sized())
    archived = [
        ProductWrite(
            key=str(p.id), product=p.model_copy(update={"archived": True}), fields=("state",)
        )
        for p in (mug, shirt)
    ]
    assert all(o.ok for o in woo.write_products(archived))
    assert [shop.client.get(f"/products/{p.id}").json()["status"] for p in (mug, shirt)] == [
        "draft",
        "draft",
    ]
    assert all(p.archived for p in woo.products([str(mug.id), str(shirt.id)]))
    back = [ProductWrite(key=str(p.id), product=p, fields=("state",)) for p in (mug, shirt)]
    assert all(o.ok for o in woo.write_products(back))
    assert not any(p.archived for p in woo.products([str(mug.id), str(shirt.id)]))


# --- calls that fail ---------------------------------------------------------------------------


def test_a_create_call_is_not_repeated_after_a_lost_answer(shop: Shop) -> None:
    """The shop saved the products but the answer was lost: a retry would create them twice."""
    recorder = SpecRecorder()
    woo = connect(shop, recorder, RetryPolicy(attempts=3, base_delay=0))
    faults = {"rate_drop_after_commit": 1.0, "only_paths": [BATCH]}
    httpx.put(f"{shop.server.url}/_emulator/faults", json=faults).raise_for_status()
    name = unique("Once")
    with pytest.raises(TransportError):
        woo.write_products([ProductWrite(key="a", product=simple(name))])
    stats = httpx.get(f"{shop.server.url}/_emulator/stats").json()
    assert stats["counts"][f"POST {BATCH}"] == 1
    assert [p.name for p in everything(woo)].count(name) == 1
    woo.close()


def test_an_update_call_is_repeated_after_a_lost_answer(shop: Shop) -> None:
    recorder = SpecRecorder()
    woo = connect(shop, recorder, RetryPolicy(attempts=3, base_delay=0))
    [mug] = create(woo, simple())
    httpx.post(f"{shop.server.url}/_emulator/reset").raise_for_status()
    faults = {"rate_drop_after_commit": 1.0, "only_paths": [BATCH]}
    httpx.put(f"{shop.server.url}/_emulator/faults", json=faults).raise_for_status()
    renamed = mug.model_copy(update={"name": "Renamed"})
    with pytest.raises(TransportError):
        woo.write_products([ProductWrite(key="m", product=renamed, fields=("name",))])
    stats = httpx.get(f"{shop.server.url}/_emulator/stats").json()
    assert stats["counts"][f"POST {BATCH}"] == 3  # absolute values: safe to send again
    woo.close()
