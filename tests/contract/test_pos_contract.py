"""The POS contract: what every registered POS connector promises the flows, checked
against its emulator over real sockets. Parametrised over the registry, so a second POS
is held to the same promises without a new test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from emulators.demo import DemoProduct, demo_catalogue
from emulators.systems import POS, EmulatedPos
from possync.domain.models import SaleLine
from possync.vendors.errors import FatalError, RetriableError
from possync.vendors.http import RetryPolicy
from possync.vendors.ports import Pos, SalesJournal
from possync.vendors.registry import names, vendor

pytestmark = pytest.mark.xdist_group("pos-contract")

CATALOGUE = demo_catalogue(1200, seed=11)  # more than one page of counts (Square: 1,000)
FAST = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05, max_retry_after=0.2)


@pytest.fixture(scope="module", params=sorted(names("pos")))
def emulated(request: pytest.FixtureRequest) -> Iterator[EmulatedPos]:
    if request.param not in POS:
        pytest.fail(
            f"POS {request.param!r} is registered but has no emulator in emulators/systems.py"
        )
    started = POS[request.param](CATALOGUE, "DKK")
    yield started
    started.stop()


@pytest.fixture
def pos(emulated: EmulatedPos) -> Iterator[Pos]:
    emulated.control.reset()
    made: Pos = vendor(emulated.name, "pos").connector_class()(emulated.config(), retry=FAST)
    yield made
    made.close()
    emulated.control.reset()


def variant(index: int) -> Any:
    product: DemoProduct = CATALOGUE[index]
    return product.variants[0]


def test_it_is_a_pos_and_a_sales_journal(pos: Pos) -> None:
    assert isinstance(pos, Pos) and isinstance(pos, SalesJournal)
    assert pos.max_stock >= 1_000_000


def test_all_counts_are_read_across_pages_then_only_changes(
    pos: Pos, emulated: EmulatedPos
) -> None:
    counts = [c for page in pos.stock_changes(None) for c in page]
    sellable = [v for p in CATALOGUE for v in p.variants]
    assert len(counts) == len(sellable)
    by_id = {c.pos_id: c for c in counts}
    first = sellable[0]
    assert by_id[emulated.id_for_sku(first.sku)].quantity_raw == str(first.stock)
    assert all(c.updated_at.tzinfo is not None for c in counts)
    since = max(c.updated_at for c in counts)
    assert [c for page in pos.stock_changes(since) for c in page] == []


def test_current_counts_and_catalogue_data_by_id(pos: Pos, emulated: EmulatedPos) -> None:
    wanted = [variant(i) for i in range(5)]
    ids = [emulated.id_for_sku(v.sku) for v in wanted]
    counts = {c.pos_id: c.quantity_raw for c in pos.stock_counts(ids)}
    assert counts == {i: str(v.stock) for i, v in zip(ids, wanted, strict=True)}
    variants = pos.variants([*ids, "NO-SUCH-VARIANT-ID-000000"])
    assert set(variants) == set(ids), "an unknown id is left out"
    assert [variants[i].sku for i in ids] == [v.sku for v in wanted]
    assert [variants[i].barcode for i in ids] == [v.barcode for v in wanted]


def test_the_currency_is_the_location_s(pos: Pos, emulated: EmulatedPos) -> None:
    assert pos.currency() == emulated.currency


def test_a_sale_draws_stock_once_per_key_and_is_found_again_by_reference(
    pos: Pos, emulated: EmulatedPos
) -> None:
    pos_id = emulated.id_for_sku(variant(10).sku)
    before = emulated.on_hand(pos_id)
    line = SaleLine(pos_id=pos_id, quantity=2, unit_price=Decimal("49.95"))
    reference, key = f"contract order {uuid.uuid4().hex}", str(uuid.uuid4())
    sale = pos.record_sale([line], key=key, reference=reference, currency="DKK", source="t")
    again = pos.record_sale([line], key=key, reference=reference, currency="DKK", source="t")
    assert again.document_id == sale.document_id
    assert emulated.on_hand(pos_id) == before - 2
    emulated.forget_keys()  # days later: the POS no longer knows the key
    found = pos.record_sale(
        [line],
        key=key,
        reference=reference,
        currency="DKK",
        source="t",
        resume_since=datetime.now(UTC) - timedelta(hours=1),
    )
    assert found.document_id == sale.document_id
    assert emulated.on_hand(pos_id) == before - 2


def test_stock_moves_out_as_sold_and_back_as_returned_once_per_key(
    pos: Pos, emulated: EmulatedPos
) -> None:
    pos_id = emulated.id_for_sku(variant(20).sku)
    before = emulated.on_hand(pos_id)
    line = SaleLine(pos_id=pos_id, quantity=3)
    sold_key, returned_key = str(uuid.uuid4()), str(uuid.uuid4())
    for _ in range(2):
        pos.adjust_stock([line], key=sold_key, reference="contract sale", movement="sold")
    assert emulated.on_hand(pos_id) == before - 3
    for _ in range(2):
        pos.adjust_stock([line], key=returned_key, reference="contract return", movement="returned")
    assert emulated.on_hand(pos_id) == before


def test_absolute_counts_are_set_once_per_key(pos: Pos, emulated: EmulatedPos) -> None:
    ids = [emulated.id_for_sku(variant(i).sku) for i in (30, 31)]
    key = str(uuid.uuid4())
    pos.set_stock_counts([(ids[0], 17), (ids[1], 0)], key=key)
    assert [emulated.on_hand(i) for i in ids] == [17, 0]
    pos.set_stock_counts([(ids[0], 17), (ids[1], 0)], key=key)
    assert [emulated.on_hand(i) for i in ids] == [17, 0]


def test_money_back_on_a_sale_s_payment(pos: Pos, emulated: EmulatedPos) -> None:
    pos_id = emulated.id_for_sku(variant(40).sku)
    line = SaleLine(pos_id=pos_id, quantity=1)  # at the POS's own price
    sale = pos.record_sale(
        [line], key=str(uuid.uuid4()), reference=f"contract {uuid.uuid4().hex}",
        currency="DKK", source="t",
    )  # fmt: skip
    assert sale.payment_id is not None
    key = str(uuid.uuid4())
    refund = pos.refund_payment(sale.payment_id, Decimal("1.00"), "DKK", key=key, reason="r")
    again = pos.refund_payment(sale.payment_id, Decimal("1.00"), "DKK", key=key, reason="r")
    assert refund and again == refund


def test_bad_credentials_are_fatal_and_never_echoed(emulated: EmulatedPos) -> None:
    made: Pos = vendor(emulated.name, "pos").connector_class()(emulated.bad_config(), retry=FAST)
    try:
        with pytest.raises(FatalError) as raised:
            list(made.stock_changes(None))
        assert emulated.bad_secret not in str(raised.value)
        assert emulated.bad_secret not in repr(raised.value)
    finally:
        made.close()


@pytest.mark.parametrize("fault", ["rate_429", "rate_500"])
def test_throttling_and_server_errors_are_retried_then_retriable(
    pos: Pos, emulated: EmulatedPos, fault: str
) -> None:
    ids = [emulated.id_for_sku(variant(50).sku)]
    emulated.faults(**{fault: 1.0, "retry_after_seconds": 0})
    with pytest.raises(RetriableError):
        pos.stock_counts(ids)
    assert sum(emulated.control.injected.values()) == FAST.attempts
    emulated.faults(**{fault: 0.5, "seed": 3, "retry_after_seconds": 0})
    assert len(pos.stock_counts(ids)) == 1, "a retry gets through"
