"""The Magento emulator's sales: orders, invoices, cancellations and offline credit memos.

Order JSON follows sales-data-order-interface. A configurable product is ordered as two
items, as Magento stores it: the parent line (product_type `configurable`, the child's SKU,
the parent's product id, the price) and the child line (product_type `simple`, the
child's product id, `parent_item_id` naming the parent line, price 0).

Stock: Magento MSI reserves salable quantity when an order is placed and deducts the
source quantity at shipment. The emulator simplifies that to one number: placing an order
takes the quantity from the SKU's `default` source item, a cancel gives back what was not
refunded, and a credit memo gives back the quantities of its `return_to_stock_items`.

States: `new`/`pending` until invoiced, `processing` once invoiced, `canceled` (only while
nothing is invoiced, as Order::canCancel), `closed` once everything is refunded.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from possync.emulators.magento_catalog import Catalog, CatalogError, Product, stamp

Json = dict[str, Any]


@dataclass
class OrderLine:
    item_id: int
    sku: str
    name: str
    product_id: int
    product_type: str
    qty_ordered: Decimal
    price: Decimal
    parent_item_id: int | None = None
    qty_invoiced: Decimal = Decimal(0)
    qty_refunded: Decimal = Decimal(0)
    qty_canceled: Decimal = Decimal(0)


@dataclass
class Order:
    entity_id: int
    increment_id: str
    state: str
    status: str
    created_at: str
    updated_at: str
    currency: str
    lines: list[OrderLine]
    grand_total: Decimal
    total_paid: Decimal = Decimal(0)
    total_refunded: Decimal = Decimal(0)
    email: str = "customer@example.com"


@dataclass
class CreditMemo:
    entity_id: int
    order_id: int
    increment_id: str
    created_at: str
    grand_total: Decimal
    currency: str
    adjustment_positive: Decimal
    adjustment_negative: Decimal
    items: list[tuple[OrderLine, Decimal]] = field(default_factory=list)


class Sales:
    """Orders and credit memos; the caller holds the lock."""

    def __init__(self, catalog: Catalog, now: Callable[[], datetime], currency: str) -> None:
        self._catalog = catalog
        self._now = now
        self.currency = currency
        self._order_ids = itertools.count(1)
        self._item_ids = itertools.count(1)
        self._memo_ids = itertools.count(1)
        self.orders: dict[int, Order] = {}
        self.memos: dict[int, CreditMemo] = {}

    def place(self, lines: dict[str, int]) -> Order:
        """A storefront checkout: the order, `pending`, its stock taken at the default source."""
        order_id = next(self._order_ids)
        items: list[OrderLine] = []
        total = Decimal(0)
        for sku, quantity in lines.items():
            product = self._catalog.get(sku)
            parent = self._catalog.parent_of(product.id)
            qty = Decimal(quantity)
            total += product.price * qty
            items.extend(self._lines(product, parent, qty))
            self._catalog.add_quantity(sku, -qty)
        now = stamp(self._now())
        order = Order(
            entity_id=order_id,
            increment_id=f"{order_id:09d}",
            state="new",
            status="pending",
            created_at=now,
            updated_at=now,
            currency=self.currency,
            lines=items,
            grand_total=total,
        )
        self.orders[order_id] = order
        return order

    def _lines(self, product: Product, parent: Product | None, qty: Decimal) -> list[OrderLine]:
        if parent is None:
            line = OrderLine(
                next(self._item_ids), product.sku, product.name, product.id, "simple", qty,
                product.price,
            )  # fmt: skip
            return [line]
        top = OrderLine(
            next(self._item_ids), product.sku, parent.name, parent.id, "configurable", qty,
            product.price,
        )  # fmt: skip
        child = OrderLine(
            next(self._item_ids), product.sku, product.name, product.id, "simple", qty,
            Decimal(0), parent_item_id=top.item_id,
        )  # fmt: skip
        return [top, child]

    def get(self, order_id: int) -> Order:
        order = self.orders.get(order_id)
        if order is None:
            raise CatalogError(404, "The entity that was requested doesn't exist. Verify the "
                               "entity and try again.")  # fmt: skip
        return order

    def _touch(self, order: Order) -> None:
        order.updated_at = stamp(self._now())

    def invoice(self, order_id: int) -> int:
        """The whole order invoiced and paid: processing. Returns the invoice id."""
        order = self.get(order_id)
        if order.state not in ("new", "pending_payment"):
            raise CatalogError(400, "The order does not allow an invoice to be created.")
        for line in order.lines:
            line.qty_invoiced = line.qty_ordered
        order.total_paid = order.grand_total
        order.state = order.status = "processing"
        self._touch(order)
        return order.entity_id

    def cancel(self, order_id: int) -> bool:
        """Order::canCancel: nothing invoiced, not already canceled/closed. False otherwise."""
        order = self.get(order_id)
        invoiced = any(line.qty_invoiced for line in order.lines)
        if invoiced or order.state in ("canceled", "closed", "complete"):
            return False
        for line in order.lines:
            line.qty_canceled = line.qty_ordered - line.qty_refunded
            if line.product_type == "simple":
                self._catalog.add_quantity(line.sku, line.qty_canceled)
        order.state = order.status = "canceled"
        self._touch(order)
        return True

    def refund(self, order_id: int, body: Json) -> int:
        """POST /V1/order/{id}/refund, offline: a credit memo of `items`, the adjustments,
        stock back for `arguments.extension_attributes.return_to_stock_items`."""
        order = self.get(order_id)
        if order.state not in ("processing", "complete"):
            raise CatalogError(400, "The order does not allow a creditmemo to be created.")
        by_id = {line.item_id: line for line in order.lines}
        arguments = body.get("arguments") or {}
        extension = arguments.get("extension_attributes") or {}
        listed = extension.get("return_to_stock_items") or arguments.get("return_to_stock_items")
        restock = {int(i) for i in listed or []}
        refunded: list[tuple[OrderLine, Decimal]] = []
        for item in body.get("items") or []:
            line = by_id.get(int(item.get("order_item_id") or 0))
            if line is None:
                raise CatalogError(400, 'The creditmemo contains wrong item "%1".',
                                   [str(item.get("order_item_id"))])  # fmt: skip
            qty = Decimal(str(item.get("qty") or 0))
            if qty < 0 or line.qty_refunded + qty > line.qty_invoiced:
                raise CatalogError(400, "The most money available to refund is %1.",
                                   [str(order.total_paid - order.total_refunded)])  # fmt: skip
            if qty == 0:
                continue
            refunded.append((line, qty))
            refunded += [(c, qty) for c in order.lines if c.parent_item_id == line.item_id]
        positive = Decimal(str(arguments.get("adjustment_positive") or 0))
        negative = Decimal(str(arguments.get("adjustment_negative") or 0))
        shipping = Decimal(str(arguments.get("shipping_amount") or 0))
        amount = sum((line.price * qty for line, qty in refunded), Decimal(0))
        amount += positive - negative + shipping
        if amount <= 0 or order.total_refunded + amount > order.total_paid:
            raise CatalogError(400, "The most money available to refund is %1.",
                               [str(order.total_paid - order.total_refunded)])  # fmt: skip
        for line, qty in refunded:
            line.qty_refunded += qty
            back = line.item_id in restock or (
                line.parent_item_id is not None and line.parent_item_id in restock
            )
            if back and line.product_type == "simple":
                self._catalog.add_quantity(line.sku, qty)
        order.total_refunded += amount
        memo_id = next(self._memo_ids)
        now = stamp(self._now())
        self.memos[memo_id] = CreditMemo(
            memo_id, order_id, f"{memo_id:09d}", now, amount, order.currency, positive, negative,
            refunded,
        )  # fmt: skip
        if order.total_refunded >= order.total_paid:
            order.state = order.status = "closed"
        self._touch(order)
        return memo_id

    def memo(self, memo_id: int) -> CreditMemo:
        memo = self.memos.get(memo_id)
        if memo is None:
            raise CatalogError(404, "The entity that was requested doesn't exist. Verify the "
                               "entity and try again.")  # fmt: skip
        return memo


def _money(value: Decimal) -> float:
    return float(value)


def render_order(order: Order) -> Json:
    return {
        "entity_id": order.entity_id,
        "increment_id": order.increment_id,
        "state": order.state,
        "status": order.status,
        "created_at": order.created_at,
        "updated_at": order.updated_at,
        "customer_email": order.email,
        "order_currency_code": order.currency,
        "base_currency_code": order.currency,
        "grand_total": _money(order.grand_total),
        "base_grand_total": _money(order.grand_total),
        "total_paid": _money(order.total_paid),
        "total_refunded": _money(order.total_refunded),
        "total_qty_ordered": float(sum(x.qty_ordered for x in order.lines if not x.parent_item_id)),
        "items": [render_line(order, line) for line in order.lines],
    }


def render_line(order: Order, line: OrderLine) -> Json:
    out: Json = {
        "item_id": line.item_id,
        "order_id": order.entity_id,
        "sku": line.sku,
        "name": line.name,
        "product_id": line.product_id,
        "product_type": line.product_type,
        "qty_ordered": float(line.qty_ordered),
        "qty_invoiced": float(line.qty_invoiced),
        "qty_refunded": float(line.qty_refunded),
        "qty_canceled": float(line.qty_canceled),
        "price": _money(line.price),
        "row_total": _money(line.price * line.qty_ordered),
        "created_at": order.created_at,
        "updated_at": order.updated_at,
    }
    if line.parent_item_id is not None:
        out["parent_item_id"] = line.parent_item_id
    return out


def order_field(order: Order, name: str) -> object:
    return {
        "entity_id": order.entity_id,
        "increment_id": order.increment_id,
        "state": order.state,
        "status": order.status,
        "created_at": order.created_at,
        "updated_at": order.updated_at,
        "grand_total": order.grand_total,
    }.get(name)


def render_memo(memo: CreditMemo) -> Json:
    return {
        "entity_id": memo.entity_id,
        "order_id": memo.order_id,
        "increment_id": memo.increment_id,
        "created_at": memo.created_at,
        "updated_at": memo.created_at,
        "grand_total": _money(memo.grand_total),
        "base_grand_total": _money(memo.grand_total),
        "order_currency_code": memo.currency,
        "adjustment_positive": _money(memo.adjustment_positive),
        "adjustment_negative": _money(memo.adjustment_negative),
        "state": 2,
        "items": [
            {
                "entity_id": index,
                "parent_id": memo.entity_id,
                "order_item_id": line.item_id,
                "product_id": line.product_id,
                "sku": line.sku,
                "name": line.name,
                "qty": float(qty),
                "price": _money(line.price),
                "base_price": _money(line.price),
                "base_cost": 0.0,
                "row_total": _money(line.price * qty),
            }
            for index, (line, qty) in enumerate(memo.items, start=memo.entity_id * 1000)
        ],
    }


def memo_field(memo: CreditMemo, name: str) -> object:
    return {
        "entity_id": memo.entity_id,
        "order_id": memo.order_id,
        "created_at": memo.created_at,
    }.get(name)
