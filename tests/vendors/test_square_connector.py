"""The Square connector against the Square emulator over real sockets; every request it
sends (and every answer) is checked against Square's own OpenAPI spec."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import SecretStr

from emulators.demo import demo_catalogue
from emulators.square import SquareState, create_square_app
from possync.domain.models import SaleLine
from possync.domain.references import order_reference
from possync.planning.orders import order_key
from possync.serving import RunningServer, serve_in_thread
from possync.vendors.errors import FatalError
from possync.vendors.square.config import SquareConfig
from possync.vendors.square.pos import SquarePos
from tests.conformance import SpecRecorder
from tests.specs import openapi

CATALOGUE = demo_catalogue(2500, seed=5)


@pytest.fixture(scope="module")
def square() -> Iterator[tuple[SquareState, RunningServer]]:
    state = SquareState(location_id="L1")
    state.seed(CATALOGUE)
    server = serve_in_thread(create_square_app(state, access_token="tok"))
    yield state, server
    server.stop()


def connector(server: RunningServer, recorder: SpecRecorder, token: str = "tok") -> SquarePos:
    config = SquareConfig(base_url=server.url, access_token=SecretStr(token), location_id="L1")
    return SquarePos(config, event_hooks=recorder.hooks())


def test_reads_all_counts_across_pages(square: tuple[SquareState, RunningServer]) -> None:
    state, server = square
    recorder = SpecRecorder()
    pos = connector(server, recorder)
    counts = [c for page in pos.stock_changes(None) for c in page]
    skus = [v for p in CATALOGUE for v in p.variants]
    assert len(counts) == len(skus)
    assert len(recorder.exchanges) == 3  # 2,500 counts at 1,000 a page
    first = skus[0]
    by_id = {c.pos_id: c for c in counts}
    assert by_id[state.variation_id_for_sku(first.sku)].quantity_raw == str(first.stock)


def test_reads_only_counts_changed_after_the_cursor(
    square: tuple[SquareState, RunningServer],
) -> None:
    state, server = square
    pos = connector(server, SpecRecorder())
    since = max(c.updated_at for page in pos.stock_changes(None) for c in page)
    assert [c for page in pos.stock_changes(since) for c in page] == []
    sku = CATALOGUE[1].variants[0].sku
    variation = state.variation_id_for_sku(sku)
    _sell(server, variation)
    changed = [c for page in pos.stock_changes(since) for c in page]
    assert [c.pos_id for c in changed] == [variation]
    assert changed[0].updated_at > since


def test_catalogue_variants_carry_sku_and_barcode(
    square: tuple[SquareState, RunningServer],
) -> None:
    state, server = square
    pos = connector(server, SpecRecorder())
    wanted = [v for p in CATALOGUE[:30] for v in p.variants]
    ids = [state.variation_id_for_sku(v.sku) for v in wanted]
    variants = pos.variants([*ids, "NO-SUCH-ID"])
    assert {variants[i].sku for i in ids} == {v.sku for v in wanted}
    assert {variants[i].barcode for i in ids} == {v.barcode for v in wanted}
    assert "NO-SUCH-ID" not in variants
    assert all(variants[i].product_id for i in ids)
    counts = pos.stock_counts(ids)
    assert {c.pos_id for c in counts} == set(ids)


def test_bad_token_is_a_fatal_error_without_the_token(
    square: tuple[SquareState, RunningServer],
) -> None:
    _, server = square
    pos = connector(server, SpecRecorder(), token="wrong-secret-token")
    with pytest.raises(FatalError) as raised:
        list(pos.stock_changes(None))
    assert raised.value.status == 401
    assert "wrong-secret-token" not in str(raised.value)


def test_requests_and_answers_conform_to_square_spec(
    square: tuple[SquareState, RunningServer],
) -> None:
    state, server = square
    recorder = SpecRecorder()
    pos = connector(server, recorder)
    list(pos.stock_changes(datetime.now(UTC) - timedelta(days=1)))
    ids = [state.variation_id_for_sku(v.sku) for p in CATALOGUE[:5] for v in p.variants]
    pos.variants(ids)
    pos.stock_counts(ids)
    assert len(recorder.exchanges) >= 3
    spec = openapi("square/api.json", strict=False)
    assert recorder.problems(spec, "https://connect.squareup.com") == []


def _sell(server: RunningServer, variation_id: str) -> None:
    import httpx

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


def test_sale_refund_and_adjustment_requests_conform_to_square_spec(
    square: tuple[SquareState, RunningServer],
) -> None:
    state, server = square
    recorder = SpecRecorder()
    pos = connector(server, recorder)
    variation = state.variation_id_for_sku(CATALOGUE[2].variants[0].sku)
    before = state.count(variation)
    key = str(uuid.uuid4())
    line = SaleLine(pos_id=variation, quantity=1)
    sale = pos.record_sale([line], key=key, reference="shop order 1", currency="DKK", source="t")
    again = pos.record_sale([line], key=key, reference="shop order 1", currency="DKK", source="t")
    assert again == sale and state.count(variation) == before - 1
    since = datetime.now(UTC) - timedelta(hours=1)
    found = pos.record_sale(
        [line],
        key=str(uuid.uuid4()),
        reference="shop order 1",
        currency="DKK",
        source="t",
        resume_since=since,
    )
    assert found == sale and state.count(variation) == before - 1
    assert sale.payment_id is not None
    refund_key = str(uuid.uuid4())
    pos.refund_payment(sale.payment_id, Decimal("1.00"), "DKK", key=refund_key, reason="test")
    pos.adjust_stock([line], key=refund_key, reference="return", movement="returned")
    assert state.count(variation) == before
    spec = openapi("square/api.json", strict=False)
    assert recorder.problems(spec, "https://connect.squareup.com") == []


def test_a_resumed_sale_is_found_by_its_whole_reference_not_a_shared_prefix(
    square: tuple[SquareState, RunningServer],
) -> None:
    """Two Shopify orders whose references share their first 40 characters (Square's
    reference_id maxLength): resuming the older one after Square forgot the keys finds its
    own sale, not the newer one; the full reference is kept in metadata and on the payment."""
    state, server = square
    recorder = SpecRecorder()
    pos = connector(server, recorder)
    variation = state.variation_id_for_sku(CATALOGUE[3].variants[0].sku)
    since = datetime.now(UTC) - timedelta(hours=1)
    gids = ["gid://shopify/Order/5409125040004", "gid://shopify/Order/5409125040005"]
    refs = [order_reference("shopify", gid) for gid in gids]
    keys = [order_key("shopify", gid) for gid in gids]
    assert refs[0][:40] == refs[1][:40] and refs[0] != refs[1]
    line = SaleLine(pos_id=variation, quantity=1)
    first, second = (
        pos.record_sale([line], key=k, reference=r, currency="DKK", source="possync · shopify")
        for k, r in zip(keys, refs, strict=True)
    )
    assert first.document_id != second.document_id
    for document, key, reference in zip((first, second), keys, refs, strict=True):
        order = state.sales.orders[document.document_id]
        assert order.reference_id == key  # 47 characters do not fit 40: the order's key
        assert order.metadata == {"possync_reference": reference}
        payment = state.sales.payments[str(document.payment_id)].data
        assert payment["reference_id"] == key
        assert payment["external_details"]["source_id"] == reference
    payments = len(state.sales.payments)
    state._idempotency.clear()  # days later: Square no longer knows the keys
    again = pos.record_sale(
        [line],
        key=keys[0],
        reference=refs[0],
        currency="DKK",
        source="possync · shopify",
        resume_since=since,
    )
    assert again == first and len(state.sales.payments) == payments
    spec = openapi("square/api.json", strict=False)
    assert recorder.problems(spec, "https://connect.squareup.com") == []
