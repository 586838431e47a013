"""Order planning: what to do next with a webshop order, given what the ledger knows.

Pure: the order as read, its ledger state and the id map in; a step and the POS lines out.
The order's state machine (ledger states):

    (new) ──accepted──▶ reserved ──▶ transferring ──▶ transferred ──▶ partly_refunded ─▶ refunded
      │                    │              (the POS write,                │
      └─unmatched─▶ quarantined           idempotent by key)            └─cancelled─▶ cancelled
                           └──cancelled before transfer──▶ cancelled (reservation released)
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from possync.domain.models import OrderItem, Problem, WebOrder

# All keys derive from this namespace, the shop and the whole order id: a rerun, a retry
# after a timeout or a replayed webhook always produces the same key, so the POS books once
# (the rule for keys and references: `possync.domain.references`).
KEY_NAMESPACE = uuid.UUID("8d3b1f4e-2c51-4c8e-9d7a-6f0e4b2a9c11")

Step = Literal["ignore", "transfer", "cancel_reserved", "return_cancelled", "refunds"]

OPEN_STATES = frozenset({"reserved", "transferring", "quarantined"})
DONE_STATES = frozenset({"transferred", "partly_refunded"})


@dataclass(frozen=True)
class Resolved:
    """An order line matched to the POS: its internal product key and POS variant id."""

    item: OrderItem
    product_key: str
    pos_id: str


def order_key(shop: str, order_id: str) -> str:
    """The ledger's idempotency key for an order (a UUID string)."""
    return str(uuid.uuid5(KEY_NAMESPACE, f"{shop}:{order_id}"))


def event_key(base: str, event: str) -> str:
    """A key for one event of an order (a refund, the cancellation), derived from its key."""
    return str(uuid.uuid5(uuid.UUID(base), event))


def next_step(order: WebOrder, state: str | None, accepted: Collection[str]) -> Step:
    """What this run should do with the order, from its webshop status and ledger state."""
    cancelled = order.status in {"cancelled", "failed"}
    if state in (None, "seen", "quarantined"):
        return "transfer" if order.status in accepted else "ignore"
    if state == "reserved":
        return "cancel_reserved" if cancelled else "transfer"
    if state == "transferring":
        return "transfer"  # finish the uncertain write first; a cancel follows next
    if state in DONE_STATES:
        if cancelled:
            return "return_cancelled"
        return "refunds" if order.refund_ids or order.status == "refunded" else "ignore"
    return "ignore"


def resolve(
    shop: str,
    order_id: str,
    items: Sequence[OrderItem],
    by_ref: Mapping[tuple[str, str], tuple[str, str]],
    by_sku: Mapping[str, tuple[str, str]],
) -> tuple[list[Resolved], list[Problem]]:
    """Match each line to a POS variant: by the webshop product/variation through the id
    map, else by SKU. Any unmatched line makes a problem naming the order, line and SKU."""
    resolved: list[Resolved] = []
    problems: list[Problem] = []
    for item in items:
        if item.quantity <= 0:
            continue
        hit = None
        if item.ref is not None:
            hit = by_ref.get((item.ref.product_id, item.ref.variation_id or ""))
        if hit is None and item.sku:
            hit = by_sku.get(item.sku)
        if hit is None:
            where = f"product {item.ref.key}" if item.ref else "no product"
            problems.append(
                Problem(
                    system=shop,
                    record_id=order_id,
                    field="link",
                    reason=f"order {order_id} line {item.line_id} ({where}, SKU {item.sku!r}) "
                    "matches no POS variant",
                    sku=item.sku,
                    payload={"line_id": item.line_id, "quantity": item.quantity},
                )
            )
            continue
        resolved.append(Resolved(item=item, product_key=hit[0], pos_id=hit[1]))
    return resolved, problems


def remaining_after(
    ordered: Sequence[tuple[str, int]], returned: Sequence[tuple[str, int]]
) -> list[tuple[str, int]]:
    """(pos_id, quantity) still sold after earlier returns: what a cancellation gives back."""
    left: dict[str, int] = {}
    for pos_id, quantity in ordered:
        left[pos_id] = left.get(pos_id, 0) + quantity
    for pos_id, quantity in returned:
        left[pos_id] = left.get(pos_id, 0) - quantity
    return [(pos_id, quantity) for pos_id, quantity in left.items() if quantity > 0]
