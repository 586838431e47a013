"""transfer_batch with what an order really cost: an order that cannot be booked at the
price paid is quarantined with the field and the reason, its reservation released, and
the rest of the batch goes on. The POS is a stand-in recording its calls (a unit test of
one function); the ledger is the real store."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

import pytest

from possync.domain.models import (
    LinePrice,
    LineTax,
    OrderItem,
    PosDocument,
    SaleLine,
    WebCharge,
    WebOrder,
    WebshopRef,
)
from possync.domain.money import MoneyError
from possync.store import Link, Store
from possync.vendors.ports import Pos, Webshop
from tasks.orders import OrderSettings, transfer_batch

VARIANT = "HXYMNU4T6B5KQ5WZ7KLCZ4AP"


class Register:
    """Books every sale it is given, or refuses the ones named in `refuse`."""

    system = "square"

    def __init__(self, refuse: set[str] | None = None) -> None:
        self.sales: list[tuple[str, list[SaleLine], str]] = []
        self.refuse = refuse or set()

    def record_sale(self, lines: Sequence[SaleLine], **kw: Any) -> PosDocument:
        if kw["reference"] in self.refuse:
            raise MoneyError("line 1 (Mug): Square's rounding would give 0.25")
        self.sales.append((kw["reference"], list(lines), kw["source"]))
        return PosDocument(document_id=f"ORDER-{len(self.sales)}", payment_id="PAY")


class Shop:
    system = "woocommerce"


def order(order_id: str, total: str, *, error: str | None = None) -> WebOrder:
    paid = LinePrice(
        net=Decimal("180.00"),
        taxes=(LineTax(rate=Decimal(25), amount=Decimal("45.00")),),
        discount=Decimal("20.00"),
    )
    shipping = LinePrice(
        net=Decimal("40.00"), taxes=(LineTax(rate=Decimal(25), amount=Decimal("10.00")),)
    )
    item = OrderItem(line_id="7", ref=WebshopRef(product_id="31"), sku="MUG", quantity=2, paid=paid)
    return WebOrder(
        order_id=order_id,
        status="processing",
        modified_at=datetime.now(UTC),
        currency="DKK",
        total=Decimal(total),
        items=[item],
        charges=[WebCharge(line_id="9", name="Flat rate", paid=shipping)],
        price_error=error,
    )


@pytest.fixture
def linked(store: Store) -> Store:
    store.save_links(
        [
            Link("k1", "woocommerce", "31", "", "MUG", None),
            Link("k1", "square", "ITEM1", VARIANT, "MUG", None),
        ]
    )
    return store


def run(store: Store, register: Register, *orders: WebOrder) -> dict[str, str]:
    result = transfer_batch.fn(
        cast(Pos, register), cast(Webshop, Shop()), store, list(orders), OrderSettings()
    )
    assert {p.field for p in result.problems} <= {"price"}
    return {o.order_id: o.result for o in result.outcomes}


def test_the_sale_carries_each_line_and_the_shipping_at_the_price_paid(linked: Store) -> None:
    register = Register()
    assert run(linked, register, order("101", "275.00")) == {"101": "transferred"}
    [(reference, lines, source)] = register.sales
    assert reference == "woocommerce order 101"
    assert source == "possync · woocommerce"
    assert [(x.pos_id, x.quantity, x.paid.gross if x.paid else None) for x in lines] == [
        (VARIANT, 2, Decimal("225.00")),
        (None, 1, Decimal("50.00")),
    ]


def test_an_order_that_does_not_add_up_is_quarantined_and_the_rest_goes_on(
    linked: Store,
) -> None:
    register = Register()
    outcomes = run(linked, register, order("102", "300.00"), order("103", "275.00"))
    assert outcomes == {"102": "quarantined", "103": "transferred"}
    record = linked.orders("woocommerce", ["102"])["102"]
    assert record.state == "quarantined"
    assert "275.00 DKK" in (record.last_error or "") and "300.00 DKK" in (record.last_error or "")
    assert [r for r, _, _ in register.sales] == ["woocommerce order 103"]


def test_an_unreadable_price_is_quarantined_with_the_webshops_reason(linked: Store) -> None:
    register = Register()
    bad = order("104", "275.00", error="WooCommerce order 104: tax rate 3 is compound")
    assert run(linked, register, bad) == {"104": "quarantined"}
    assert "compound" in (linked.orders("woocommerce", ["104"])["104"].last_error or "")
    assert register.sales == []


def test_vat_the_pos_cannot_carry_quarantines_and_releases_the_reservation(
    linked: Store,
) -> None:
    register = Register(refuse={"woocommerce order 105"})
    assert run(linked, register, order("105", "275.00")) == {"105": "quarantined"}
    record = linked.orders("woocommerce", ["105"])["105"]
    assert record.state == "quarantined" and "rounding" in (record.last_error or "")
    assert linked.reserved_quantities("woocommerce") == {}
    register.refuse.clear()  # e.g. the webshop's order was corrected: the rerun books it
    assert run(linked, register, order("105", "275.00")) == {"105": "transferred"}
