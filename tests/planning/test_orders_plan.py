"""Order planning: the next step per ledger state, line matching, keys (pure)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from possync.domain.models import OrderItem, WebOrder, WebshopRef
from possync.planning import orders as plan

ACCEPTED = {"processing", "completed"}


def order(status: str, refunds: list[str] | None = None) -> WebOrder:
    return WebOrder(
        order_id="7",
        status=status,
        modified_at=datetime(2026, 11, 22, tzinfo=UTC),
        currency="DKK",
        total=Decimal("100.00"),
        refund_ids=refunds or [],
    )


@pytest.mark.parametrize(
    ("status", "state", "step"),
    [
        ("pending", None, "ignore"),
        ("on-hold", None, "ignore"),
        ("processing", None, "transfer"),
        ("completed", None, "transfer"),
        ("processing", "quarantined", "transfer"),
        ("cancelled", None, "ignore"),
        ("processing", "reserved", "transfer"),
        ("cancelled", "reserved", "cancel_reserved"),
        ("cancelled", "transferring", "transfer"),  # finish the uncertain write first
        ("processing", "transferring", "transfer"),
        ("processing", "transferred", "ignore"),
        ("cancelled", "transferred", "return_cancelled"),
        ("refunded", "transferred", "refunds"),
        ("cancelled", "partly_refunded", "return_cancelled"),
        ("processing", "cancelled", "ignore"),
        ("refunded", "refunded", "ignore"),
    ],
)
def test_next_step(status: str, state: str | None, step: str) -> None:
    assert plan.next_step(order(status), state, ACCEPTED) == step


def test_a_refund_on_a_transferred_order_is_a_refund_step() -> None:
    assert plan.next_step(order("processing", ["12"]), "transferred", ACCEPTED) == "refunds"


def test_keys_are_stable_and_distinct() -> None:
    key = plan.order_key("woocommerce", "7")
    assert key == plan.order_key("woocommerce", "7")
    assert key != plan.order_key("woocommerce", "8") != plan.order_key("shopify", "7")
    uuid.UUID(key)
    assert plan.event_key(key, "refund:1") == plan.event_key(key, "refund:1")
    assert plan.event_key(key, "refund:1") != plan.event_key(key, "refund:2")


def item(line: str, product: str | None, sku: str | None, quantity: int = 1) -> OrderItem:
    ref = WebshopRef(product_id=product) if product else None
    return OrderItem(line_id=line, ref=ref, sku=sku, quantity=quantity)


def test_resolve_by_ref_then_sku_and_names_the_unmatched_line() -> None:
    by_ref = {("10", ""): ("key-a", "pos-a")}
    by_sku = {"SKU-B": ("key-b", "pos-b")}
    items = [item("1", "10", "X"), item("2", "99", "SKU-B"), item("3", "98", "NOPE")]
    resolved, problems = plan.resolve("woocommerce", "7", items, by_ref, by_sku)
    assert [(r.item.line_id, r.pos_id) for r in resolved] == [("1", "pos-a"), ("2", "pos-b")]
    [problem] = problems
    assert problem.record_id == "7" and problem.field == "link"
    assert "line 3" in problem.reason and "'NOPE'" in problem.reason


def test_zero_quantity_lines_are_skipped() -> None:
    resolved, problems = plan.resolve("woocommerce", "7", [item("1", None, None, 0)], {}, {})
    assert resolved == [] and problems == []


def test_remaining_after_earlier_returns() -> None:
    ordered = [("a", 3), ("b", 1), ("a", 1)]
    assert plan.remaining_after(ordered, [("a", 2), ("b", 1)]) == [("a", 2)]
    assert plan.remaining_after(ordered, []) == [("a", 4), ("b", 1)]
