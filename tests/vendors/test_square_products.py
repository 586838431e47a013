"""`SquarePos` as a `ProductCatalogue` (and its `set_stock_counts`) against the Square emulator
over real sockets. Every exchange of every test is checked against Square's own OpenAPI spec;
error answers are checked in the response type the spec documents (Square sends errors in
it), except codes Square sends that its spec's enum omits (VERSION_MISMATCH).
"""

from __future__ import annotations

import json
import uuid
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from emulators.demo import demo_catalogue
from emulators.square import SquareState, create_square_app
from possync.domain.products import ProductData, ProductWrite, VariantData
from possync.serving import RunningServer, serve_in_thread
from possync.vendors.ports import Pos, ProductCatalogue
from possync.vendors.square import products as square_catalog
from possync.vendors.square.config import SquareConfig
from possync.vendors.square.pos import SquarePos
from tests.conformance import SpecRecorder
from tests.specs import openapi

CATALOGUE = demo_catalogue(300, seed=11)
SPEC_HOST = "https://connect.squareup.com"
UNLISTED_CODES = {"VERSION_MISMATCH"}  # sent by Square, missing from its spec's ErrorCode enum


@pytest.fixture(scope="module")
def square() -> Iterator[tuple[SquareState, RunningServer]]:
    state = SquareState(location_id="L1", currency="DKK")
    state.seed(CATALOGUE)
    server = serve_in_thread(create_square_app(state, access_token="tok"))
    yield state, server
    server.stop()


@pytest.fixture
def on_purpose() -> set[str]:
    """Error codes of requests a test makes invalid on purpose (their answers are asserted
    by the test; the spec check skips them)."""
    return set()


@pytest.fixture
def pos(square: tuple[SquareState, RunningServer], on_purpose: set[str]) -> Iterator[SquarePos]:
    """A connector whose every exchange must conform to Square's spec when the test ends."""
    _, server = square
    recorder = SpecRecorder()
    config = SquareConfig(base_url=server.url, access_token=SecretStr("tok"), location_id="L1")
    connector = SquarePos(config, event_hooks=recorder.hooks())
    yield connector
    connector.close()
    assert recorder.exchanges
    assert spec_problems(recorder, on_purpose) == []


def spec_problems(recorder: SpecRecorder, on_purpose: set[str]) -> list[str]:
    exchanges = []
    for request, response in recorder.exchanges:
        if response.status_code >= 400:
            errors = json.loads(response.content)["errors"]
            if {e["code"] for e in errors} & (UNLISTED_CODES | on_purpose):
                continue
            response = httpx.Response(
                200, content=response.content, headers=response.headers, request=request
            )
        exchanges.append((request, response))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Unsupported scheme type", UserWarning)
        return SpecRecorder(exchanges).problems(openapi("square/api.json", strict=False), SPEC_HOST)


def all_products(pos: SquarePos, since: datetime | None = None) -> list[ProductData]:
    return [p for page in pos.products_changed(since) for p in page]


def variant(name: str, sku: str | None, price: str | None, barcode: str | None = None) -> Any:
    return VariantData(name=name, sku=sku, price=price, barcode=barcode)


def create(pos: SquarePos, *products: ProductData) -> list[ProductData]:
    """Create products; what Square now holds for them."""
    writes = [ProductWrite(key=f"k{i}", product=p) for i, p in enumerate(products)]
    outcomes = pos.write_products(writes)
    assert all(o.ok for o in outcomes), outcomes
    return pos.products([str(o.product_id) for o in outcomes])


def comparable(product: ProductData) -> dict[str, Any]:
    return product.model_dump(exclude={"id", "updated_at", "version"}) | {
        "variants": [v.model_dump(exclude={"id"}) for v in product.variants]
    }


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# --- reading ------------------------------------------------------------------------------


def test_square_pos_implements_both_protocols(pos: SquarePos) -> None:
    assert isinstance(pos, ProductCatalogue) and isinstance(pos, Pos)
    assert pos.products_per_write == 200
    pos.products([])  # one exchange for the fixture's check: an empty read sends nothing
    pos.products(["NO-SUCH-ITEM"])


def test_full_read_maps_items_variations_prices_and_barcodes(
    square: tuple[SquareState, RunningServer], pos: SquarePos
) -> None:
    state, _ = square
    by_sku = {v.sku: p for p in all_products(pos) for v in p.variants}
    for demo in CATALOGUE:
        product = by_sku[demo.variants[0].sku]
        assert product.name == demo.name
        assert product.description == demo.description
        assert product.has_variants == (len(demo.variants) > 1)
        assert not product.archived and not product.deleted
        assert product.version is not None and product.updated_at is not None
        assert [v.sku for v in product.variants] == [v.sku for v in demo.variants]
        for read, wanted in zip(product.variants, demo.variants, strict=True):
            assert read.id == state.variation_id_for_sku(wanted.sku)
            assert read.name == wanted.name
            assert read.barcode == wanted.barcode
            assert read.price == f"{wanted.price:.2f}"


def test_incremental_read_returns_changed_items_variation_changes_and_deletions(
    square: tuple[SquareState, RunningServer], pos: SquarePos
) -> None:
    _, server = square
    first, second, third = create(
        pos,
        ProductData(name="Inc A", variants=(variant("", unique("INC"), "10.00"),)),
        ProductData(name="Inc B", variants=(variant("", unique("INC"), "20.00"),)),
        ProductData(name="Inc C", variants=(variant("", unique("INC"), "30.00"),)),
    )
    since = max(p.updated_at for p in (first, second, third) if p.updated_at)
    assert all_products(pos, since) == []
    with httpx.Client(base_url=server.url, headers={"Authorization": "Bearer tok"}) as http:
        # The price of B's variation alone, as the Square Dashboard may write it.
        (only,) = second.variants
        data = {
            "item_id": second.id,
            "name": "",
            "sku": only.sku,
            "pricing_type": "FIXED_PRICING",
            "price_money": {"amount": 2250, "currency": "DKK"},
        }
        obj = {"type": "ITEM_VARIATION", "id": only.id, "item_variation_data": data}
        body = {"idempotency_key": str(uuid.uuid4()), "object": obj}
        assert http.post("/v2/catalog/object", json=body).status_code == 200
        deleted = http.delete(f"/v2/catalog/object/{third.id}")
        assert deleted.status_code == 200
    changed = {p.id: p for p in all_products(pos, since)}
    assert set(changed) == {second.id, third.id}
    assert changed[second.id].variants[0].price == "22.50"
    updated = changed[second.id].updated_at
    assert updated is not None and updated > since
    assert changed[third.id].deleted and not changed[second.id].deleted
    assert pos.products([str(third.id), str(second.id)]) == [changed[second.id]]


# --- writing ------------------------------------------------------------------------------


def test_create_products_with_and_without_variants(pos: SquarePos) -> None:
    sizes = ProductData(
        name="Hoodie",
        description="Warm",
        has_variants=True,
        variants=(
            variant("S", unique("HD-S"), "299.00", "5701234567892"),
            variant("M", unique("HD-M"), "299.00", None),
            variant("L", unique("HD-L"), "319.50", "5701234567809"),
        ),
    )
    simple = ProductData(name="Sticker", variants=(variant("", unique("ST"), "12.50"),))
    outcomes = pos.write_products(
        [ProductWrite(key="hoodie", product=sizes), ProductWrite(key="sticker", product=simple)]
    )
    assert [(o.key, o.ok) for o in outcomes] == [("hoodie", True), ("sticker", True)]
    assert all(o.product_id and all(o.variant_ids) for o in outcomes)
    assert len(outcomes[0].variant_ids) == 3 and len(outcomes[1].variant_ids) == 1
    read = pos.products([str(o.product_id) for o in outcomes])
    assert [comparable(p) for p in read] == [comparable(sizes), comparable(simple)]
    for product, outcome in zip(read, outcomes, strict=True):
        assert product.id == outcome.product_id
        assert tuple(v.id for v in product.variants) == outcome.variant_ids


def test_update_name_price_and_barcode_of_an_existing_product(pos: SquarePos) -> None:
    (product,) = create(pos, ProductData(name="Mug", variants=(variant("", unique("MG"), "50"),)))
    (only,) = product.variants
    wanted = product.model_copy(
        update={
            "name": "Big Mug",
            "variants": (only.model_copy(update={"price": "55.25", "barcode": "5709876543210"}),),
        }
    )
    (outcome,) = pos.write_products([ProductWrite(key="u", product=wanted)])
    assert outcome.ok and outcome.product_id == product.id and outcome.variant_ids == (only.id,)
    (after,) = pos.products([str(product.id)])
    assert comparable(after) == comparable(wanted)
    assert after.variants[0].id == only.id
    assert after.version is not None and product.version is not None
    assert after.version > product.version


def test_an_update_keeps_what_square_holds_that_products_do_not_model(
    square: tuple[SquareState, RunningServer], pos: SquarePos
) -> None:
    """Square takes no sparse updates, so the connector sends the item as Square holds it
    with our fields laid over it: is_taxable and track_inventory stay as they were."""
    _, server = square
    (product,) = create(pos, ProductData(name="Tea", variants=(variant("", unique("TE"), "9"),)))
    with httpx.Client(base_url=server.url, headers={"Authorization": "Bearer tok"}) as http:
        obj = http.get(f"/v2/catalog/object/{product.id}").json()["object"]
        data = obj["item_data"]
        data["is_taxable"] = False
        data["variations"][0]["item_variation_data"]["track_inventory"] = True
        for read_only in ("description_plaintext",):
            data.pop(read_only)
        for v in data["variations"]:
            v["item_variation_data"].pop("ordinal")
        body = {"idempotency_key": str(uuid.uuid4()), "object": obj}
        assert http.post("/v2/catalog/object", json=body).status_code == 200
        (current,) = pos.products([str(product.id)])
        wanted = current.model_copy(update={"name": "Green Tea", "description": "Fresh"})
        (outcome,) = pos.write_products([ProductWrite(key="t", product=wanted)])
        assert outcome.ok, outcome
        after = http.get(f"/v2/catalog/object/{product.id}").json()["object"]
    assert after["item_data"]["name"] == "Green Tea"
    assert after["item_data"]["description"] == "Fresh"
    assert after["item_data"]["is_taxable"] is False
    assert after["item_data"]["variations"][0]["item_variation_data"]["track_inventory"] is True


def test_an_update_of_an_item_deleted_in_square_fails_without_a_request(
    square: tuple[SquareState, RunningServer], pos: SquarePos
) -> None:
    _, server = square
    (product,) = create(pos, ProductData(name="Gone", variants=(variant("", unique("GO"), "1"),)))
    with httpx.Client(base_url=server.url, headers={"Authorization": "Bearer tok"}) as http:
        assert http.delete(f"/v2/catalog/object/{product.id}").status_code == 200
    (outcome,) = pos.write_products([ProductWrite(key="g", product=product)])
    assert (outcome.ok, outcome.error_field) == (False, "id")


def test_add_a_variant_to_an_existing_product(pos: SquarePos) -> None:
    (product,) = create(pos, ProductData(name="Cap", variants=(variant("S", unique("CP"), "90"),)))
    added = variant("M", unique("CP"), "95.00")
    wanted = product.model_copy(
        update={"has_variants": True, "variants": (*product.variants, added)}
    )
    (outcome,) = pos.write_products([ProductWrite(key="add", product=wanted)])
    assert outcome.ok and outcome.variant_ids[0] == product.variants[0].id
    assert outcome.variant_ids[1] is not None
    (after,) = pos.products([str(product.id)])
    assert [v.id for v in after.variants] == list(outcome.variant_ids)
    assert comparable(after) == comparable(wanted)


def test_archive_and_unarchive(pos: SquarePos) -> None:
    (product,) = create(pos, ProductData(name="Old", variants=(variant("", unique("AR"), "1"),)))
    for archived in (True, False):
        (current,) = pos.products([str(product.id)])
        wanted = current.model_copy(update={"archived": archived})
        (outcome,) = pos.write_products([ProductWrite(key="a", product=wanted)])
        assert outcome.ok, outcome
        (after,) = pos.products([str(product.id)])
        assert after.archived is archived
        # Archived items stay in searches (Square: SearchCatalogObjects returns them too).
        since = (after.updated_at or datetime.now(UTC)) - timedelta(milliseconds=1)
        assert [p.archived for p in all_products(pos, since) if p.id == product.id] == [archived]


def test_a_refused_product_fails_alone_with_the_field_named(
    square: tuple[SquareState, RunningServer], pos: SquarePos, on_purpose: set[str]
) -> None:
    state, _ = square
    on_purpose.add("VALUE_TOO_LONG")  # a 600-character name breaks the spec's maxLength 512
    skus = [unique("BAD") for _ in range(4)]
    products = [
        ProductData(name="Fine 1", variants=(variant("", skus[0], "1.00"),)),
        ProductData(name="x" * 600, variants=(variant("", skus[1], "1.00"),)),
        ProductData(name="Negative", variants=(variant("", skus[2], "-1.00"),)),
        ProductData(name="Fine 2", variants=(variant("", skus[3], "2.00"),)),
    ]
    outcomes = pos.write_products(
        [ProductWrite(key=str(i), product=p) for i, p in enumerate(products)]
    )
    assert [o.ok for o in outcomes] == [True, False, False, True]
    assert outcomes[1].error_field == "batches[1].objects[0].item_data.name"
    assert outcomes[2].error_field == (
        "batches[1].objects[0].item_data.variations[0].item_variation_data.price_money.amount"
    )
    assert outcomes[1].error and outcomes[2].error
    for sku in (skus[0], skus[3]):
        state.variation_id_for_sku(sku)
    for sku in (skus[1], skus[2]):
        with pytest.raises(KeyError):
            state.variation_id_for_sku(sku)


def test_bad_price_text_fails_without_a_request(pos: SquarePos) -> None:
    bad = ProductData(name="Bad", variants=(variant("", unique("BP"), "12.345"),))
    empty = ProductData(name="Empty")
    outcomes = pos.write_products(
        [ProductWrite(key="p", product=bad), ProductWrite(key="e", product=empty)]
    )
    assert [(o.ok, o.error_field) for o in outcomes] == [(False, "price"), (False, "variants")]


def test_a_request_over_ten_thousand_objects_is_split(
    square: tuple[SquareState, RunningServer],
) -> None:
    state, server = square
    recorder = SpecRecorder()
    config = SquareConfig(base_url=server.url, access_token=SecretStr("tok"), location_id="L1")
    pos = SquarePos(config, event_hooks=recorder.hooks())
    prefix = unique("BIG")
    products = [
        ProductData(
            name=f"Big {n}",
            has_variants=True,
            variants=tuple(variant(f"V{m}", f"{prefix}-{n}-{m}", "1.00") for m in range(849)),
        )
        for n in range(12)  # 12 x 850 = 10,200 objects
    ]
    outcomes = pos.write_products(
        [ProductWrite(key=str(n), product=p) for n, p in enumerate(products)]
    )
    assert all(o.ok for o in outcomes)
    assert all(len(o.variant_ids) == 849 for o in outcomes)
    upserts = [r for r, _ in recorder.exchanges if r.url.path == "/v2/catalog/batch-upsert"]
    sizes = [len(json.loads(r.content)["batches"]) for r in upserts]
    assert sizes == [11, 1]
    assert state.variation_id_for_sku(f"{prefix}-11-848") == outcomes[11].variant_ids[-1]
    pos.close()


def test_version_mismatch_is_a_failed_outcome(pos: SquarePos) -> None:
    (product,) = create(pos, ProductData(name="Race", variants=(variant("", unique("VM"), "5"),)))
    renamed = product.model_copy(update={"name": "Race 2"})
    (first,) = pos.write_products([ProductWrite(key="1", product=renamed)])
    assert first.ok
    stale = product.model_copy(update={"name": "Race 3"})  # still the version first read
    other = ProductData(name="Bystander", variants=(variant("", unique("VM"), "5"),))
    outcomes = pos.write_products(
        [ProductWrite(key="2", product=stale), ProductWrite(key="3", product=other)]
    )
    assert [o.ok for o in outcomes] == [False, True]
    assert outcomes[0].error is not None
    assert "changed in Square since it was read; retried next run" in outcomes[0].error
    (after,) = pos.products([str(product.id)])
    assert after.name == "Race 2"


def test_emoji_and_right_to_left_text_round_trip(pos: SquarePos) -> None:
    text = ProductData(
        name="Café ☕ קפה",
        description="שלום 👋 — naïve",
        variants=(variant("גדול 🐘", unique("RTL"), "42.00"),),
    )
    (read,) = create(pos, text)
    assert comparable(read) == comparable(text)


# --- stock counts -------------------------------------------------------------------------


def test_set_stock_counts_sets_absolute_counts_once_per_key(
    square: tuple[SquareState, RunningServer], pos: SquarePos
) -> None:
    state, _ = square
    ids = [state.variation_id_for_sku(v.sku) for p in CATALOGUE[:150] for v in p.variants][:150]
    counts = [(pos_id, n % 7 + 1) for n, pos_id in enumerate(ids)]
    key = str(uuid.uuid4())
    pos.set_stock_counts(counts, key=key)
    assert [state.count(i) for i in ids] == [Decimal(q) for _, q in counts]
    # Stock moves, then the same call is repeated: the key was used, nothing is written again.
    state_before = state.count(ids[0])
    _sell_one(square[1], ids[0])
    pos.set_stock_counts(counts, key=key)
    assert state.count(ids[0]) == state_before - 1
    pos.set_stock_counts([(ids[0], 3)], key=str(uuid.uuid4()))
    assert state.count(ids[0]) == 3
    with pytest.raises(ValueError, match="negative"):
        pos.set_stock_counts([(ids[0], -1)], key=str(uuid.uuid4()))


def _sell_one(server: RunningServer, variation_id: str) -> None:
    change = {
        "type": "ADJUSTMENT",
        "adjustment": {
            "catalog_object_id": variation_id,
            "location_id": "L1",
            "from_state": "IN_STOCK",
            "to_state": "SOLD",
            "quantity": "1",
            "occurred_at": datetime.now(UTC).isoformat(),
        },
    }
    httpx.post(
        f"{server.url}/v2/inventory/changes/batch-create",
        headers={"Authorization": "Bearer tok"},
        json={"idempotency_key": str(uuid.uuid4()), "changes": [change]},
    ).raise_for_status()


# --- refusals Square names without a field ------------------------------------------------


def test_a_refusal_without_a_field_is_matched_by_the_id_it_quotes() -> None:
    def planned(index: int, ids: set[str]) -> square_catalog._Planned:
        write = ProductWrite(key=str(index), product=ProductData(name="P"))
        return square_catalog._Planned(index, write, {}, 2, None, [], ids)

    group = [planned(0, {"#p1", "#p1v0"}), planned(1, {"#p10", "#p10v0"}), planned(2, {"ABC"})]
    assert square_catalog._named_batch(group, "batches[2].objects[0].id", "x") is group[2]
    detail = "Invalid Object with Id: #p10v0 [object_id=#p10v0]"
    assert square_catalog._named_batch(group, None, detail) is group[1]
    assert square_catalog._named_batch(group, None, "Something went wrong") is None
    assert square_catalog._split("Bad (thing) (field batches[0].objects[0].id)") == (
        "Bad (thing)",
        "batches[0].objects[0].id",
    )


def test_an_accepted_request_may_still_report_a_failed_batch() -> None:
    """Square applies each batch on its own: a 200 may carry `errors` for some batches."""
    new = ProductWrite(key="new", product=ProductData(name="N", variants=(VariantData(),)))
    old = ProductWrite(key="old", product=ProductData(id="ITEM1", name="O"))
    group = [
        square_catalog._Planned(0, new, {}, 2, "#p0", ["#p0v0"], {"#p0", "#p0v0"}),
        square_catalog._Planned(1, old, {}, 2, None, ["VAR1"], {"ITEM1", "VAR1"}),
    ]
    body = {
        "id_mappings": [
            {"client_object_id": "#p0", "object_id": "REAL0"},
            {"client_object_id": "#p0v0", "object_id": "REALV0"},
        ],
        "errors": [
            {
                "category": "INVALID_REQUEST_ERROR",
                "code": "INVALID_VALUE",
                "detail": "Bad name",
                "field": "batches[1].objects[0].item_data.name",
            }
        ],
    }
    outcomes = square_catalog._written(group, body)
    assert (outcomes[0].ok, outcomes[0].product_id, outcomes[0].variant_ids) == (
        True,
        "REAL0",
        ("REALV0",),
    )
    assert (outcomes[1].ok, outcomes[1].error, outcomes[1].error_field) == (
        False,
        "Bad name",
        "batches[1].objects[0].item_data.name",
    )


def test_a_price_beyond_int64_minor_units_fails_without_a_request(pos: SquarePos) -> None:
    """Issue 12, defect 3: 10^17 DKK went out as 10^19 minor units, beyond Money.amount's
    int64; the largest price Square holds is refused one minor unit further."""
    most = pos.max_price("DKK")
    assert most == Decimal("92233720368547758.07")
    assert pos.max_price("JPY") == Decimal(2**63 - 1)
    huge = ProductData(name="Huge", variants=(variant("", unique("HP"), "100000000000000000"),))
    [outcome] = pos.write_products([ProductWrite(key="h", product=huge)])
    assert not outcome.ok and outcome.error_field == "price"
    assert outcome.error is not None and "beyond what the receiver holds" in outcome.error


@pytest.mark.parametrize(
    ("currency", "price", "amount"),
    [("JPY", "1250", 1250), ("KWD", "1.005", 1005), ("DKK", "12.50", 1250)],
)
def test_prices_are_minor_units_of_the_locations_own_currency(
    currency: str, price: str, amount: int
) -> None:
    """ISO 4217 exponents, not two for every currency: 1250 yen is Money.amount 1250 (it
    was 125000), 1.005 dinar is 1005 (it was refused as 'not an amount in cents'), and
    they read back as they were written."""
    state = SquareState(location_id="L9", currency=currency)
    server = serve_in_thread(create_square_app(state, access_token="tok"))
    config = SquareConfig(base_url=server.url, access_token=SecretStr("tok"), location_id="L9")
    connector = SquarePos(config)
    try:
        assert connector.currency() == currency
        sku = unique("CUR")
        item = ProductData(name="Priced", variants=(variant("", sku, price),))
        [outcome] = connector.write_products([ProductWrite(key="c", product=item)])
        assert outcome.ok, outcome.error
        variation = state.catalog.variation(state.variation_id_for_sku(sku))
        assert variation is not None and variation.amount == amount
        [read] = connector.products([outcome.product_id or ""])
        assert read.variants[0].price == price
    finally:
        connector.close()
        server.stop()
