"""The Magento emulator's sales: orders, invoices, cancellations and offline credit memos.

Order JSON follows sales-data-order-interface. A configurable product is ordered as two
items, as Magento stores it: the parent line (product_type `configurable`, the child's SKU,
the parent's product id, the price) and the child line (product_type `simple`, the
child's product id, `parent_item_id` naming the parent line, price 0).

Stock: Magento MSI reserves salable quantity when an order is placed and deducts the
source quantity at shipment. The emulator simplifies that to one number: placing an order
takes the quantity from the SKU's `default` source item, a cancel gives back what was not
refunded, and a credit memo gives back the quantities of its `return_to_stock_items`.

Prices: a checkout with `Pricing` charges Magento's totals per row (tax calculation "Row
Total", rounded half up to the currency's decimals, discount applied before tax): an item
keeps `price`/`price_incl_tax`, `row_total`/`row_total_incl_tax` (before the discount),
`discount_amount`, `tax_amount` and `tax_percent` (after it), and, when catalogue prices
include tax, `discount_tax_compensation_amount` (the tax part of the discount), so that
row_total + tax_amount + discount_tax_compensation_amount - discount_amount is what the
row cost. Shipping is `shipping_amount` plus `shipping_tax_amount`; the rates charged are
in the order's `extension_attributes.item_applied_taxes` (type product or shipping), as
Magento's tax module adds them to an order it answers. The order's `discount_amount` is
negative, as Magento keeps it.

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

from emulators.magento_catalog import Catalog, CatalogError, Product, stamp
from emulators.webshops import Pricing, inside, percent_of
from possync.domain.money import minor_units

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
    price_incl_tax: Decimal | None = None
    row_total: Decimal | None = None  # price x qty when None
    row_total_incl_tax: Decimal | None = None
    discount_amount: Decimal = Decimal(0)
    discount_percent: Decimal = Decimal(0)
    tax_amount: Decimal = Decimal(0)
    tax_percent: Decimal = Decimal(0)
    discount_tax_compensation_amount: Decimal = Decimal(0)

    @property
    def row(self) -> Decimal:
        return self.row_total if self.row_total is not None else self.price * self.qty_ordered

    @property
    def paid(self) -> Decimal:
        """What the row cost the customer."""
        return (
            self.row + self.tax_amount + self.discount_tax_compensation_amount
            - self.discount_amount
        )  # fmt: skip


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
    shipping_amount: Decimal = Decimal(0)
    shipping_tax_amount: Decimal = Decimal(0)
    shipping_tax_percent: Decimal = Decimal(0)


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

    def place(self, lines: dict[str, int], pricing: Pricing | None = None) -> Order:
        """A storefront checkout: the order, `pending`, its stock taken at the default source."""
        order_id = next(self._order_ids)
        items: list[OrderLine] = []
        total = Decimal(0)
        dp = minor_units(self.currency)
        for sku, quantity in lines.items():
            product = self._catalog.get(sku)
            parent = self._catalog.parent_of(product.id)
            qty = Decimal(quantity)
            made = self._lines(product, parent, qty)
            if pricing is not None:
                _charge(made[0], pricing.vat.get(sku, Decimal(0)), pricing, dp)
            total += made[0].paid
            items.extend(made)
            self._catalog.add_quantity(sku, -qty)
        shipping = shipping_tax = Decimal(0)
        if pricing is not None and pricing.shipping is not None:
            shipping = pricing.shipping
            shipping_tax = percent_of(shipping, pricing.shipping_vat, dp)
            total += shipping + shipping_tax
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
            shipping_amount=shipping,
            shipping_tax_amount=shipping_tax,
            shipping_tax_percent=pricing.shipping_vat if pricing is not None else Decimal(0),
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


def _charge(line: OrderLine, rate: Decimal, pricing: Pricing, dp: int) -> None:
    """Magento's row totals for a line at `rate` % VAT with the pricing's discount."""
    price = line.price
    qty = line.qty_ordered
    line.tax_percent = rate
    line.discount_percent = pricing.discount_percent
    if pricing.prices_include_tax:
        gross = price * qty
        line.price_incl_tax = price
        line.price = price - inside(price, rate, dp)
        line.row_total_incl_tax = gross
        line.row_total = gross - inside(gross, rate, dp)
        line.discount_amount = percent_of(gross, pricing.discount_percent, dp)
        line.tax_amount = inside(gross - line.discount_amount, rate, dp)
        line.discount_tax_compensation_amount = gross - line.row_total - line.tax_amount
    else:
        row = price * qty
        line.price_incl_tax = price + percent_of(price, rate, dp)
        line.row_total = row
        line.row_total_incl_tax = row + percent_of(row, rate, dp)
        line.discount_amount = percent_of(row, pricing.discount_percent, dp)
        line.tax_amount = percent_of(row - line.discount_amount, rate, dp)


def _money(value: Decimal) -> float:
    return float(value)


def render_order(order: Order) -> Json:
    top = [x for x in order.lines if not x.parent_item_id]
    tax = sum((x.tax_amount for x in top), Decimal(0)) + order.shipping_tax_amount
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
        "subtotal": _money(sum((x.row for x in top), Decimal(0))),
        "discount_amount": _money(-sum((x.discount_amount for x in top), Decimal(0))),
        "tax_amount": _money(tax),
        "discount_tax_compensation_amount": _money(
            sum((x.discount_tax_compensation_amount for x in top), Decimal(0))
        ),
        "shipping_amount": _money(order.shipping_amount),
        "shipping_tax_amount": _money(order.shipping_tax_amount),
        "shipping_incl_tax": _money(order.shipping_amount + order.shipping_tax_amount),
        "total_paid": _money(order.total_paid),
        "total_refunded": _money(order.total_refunded),
        "total_qty_ordered": float(sum(x.qty_ordered for x in top)),
        "items": [render_line(order, line) for line in order.lines],
        "extension_attributes": {"item_applied_taxes": _applied_taxes(order, top)},
    }


def _applied_taxes(order: Order, top: list[OrderLine]) -> list[Json]:
    """extension_attributes.item_applied_taxes: the rates charged per item and on shipping."""
    found: list[Json] = []
    for line in top:
        if line.tax_amount or line.tax_percent:
            found.append(
                {
                    "type": "product",
                    "item_id": line.item_id,
                    "applied_taxes": [_applied(line.tax_percent, line.tax_amount)],
                }
            )
    if order.shipping_tax_amount or order.shipping_tax_percent:
        applied = _applied(order.shipping_tax_percent, order.shipping_tax_amount)
        found.append({"type": "shipping", "applied_taxes": [applied]})
    return found


def _applied(percent: Decimal, amount: Decimal) -> Json:
    code = f"VAT-{percent.normalize():f}"
    return {
        "code": code,
        "title": code,
        "percent": float(percent),
        "amount": _money(amount),
        "base_amount": _money(amount),
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
        "base_price": _money(line.price),
        "original_price": _money(line.price),
        "price_incl_tax": _money(
            line.price_incl_tax if line.price_incl_tax is not None else line.price
        ),
        "row_total": _money(line.row),
        "row_total_incl_tax": _money(
            line.row_total_incl_tax if line.row_total_incl_tax is not None else line.row
        ),
        "discount_amount": _money(line.discount_amount),
        "discount_percent": _money(line.discount_percent),
        "tax_amount": _money(line.tax_amount),
        "tax_percent": _money(line.tax_percent),
        "discount_tax_compensation_amount": _money(line.discount_tax_compensation_amount),
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
