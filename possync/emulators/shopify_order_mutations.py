"""The Shopify emulator's order mutations: what a checkout and a shop admin do to orders.

- `orderCreate(order, options)`: line items by `variantId` (price from `priceSet` or the
  variant's); `financialStatus` as given, else PAID when transactions are given, else
  PENDING. Stock follows `options.inventoryBehaviour` as Shopify's does: BYPASS (Shopify's
  default) leaves it, DECREMENT_IGNORING_POLICY draws it, DECREMENT_OBEYING_POLICY draws
  it and refuses (INVENTORY_CLAIM_FAILED) what is not available.
- `orderMarkAsPaid`: a PENDING, AUTHORIZED or PARTIALLY_PAID order becomes PAID.
- `orderCancel`: sets `cancelledAt`; `restock: true` returns the items no refund has
  taken off the order; `refund: true` marks the money refunded (REFUNDED, or VOIDED for an
  unpaid order). Deviation: Shopify also records a Refund for the money, the emulator does
  not (the order's `cancelledAt` is what a cancellation is read by). The Job it returns is
  done at once.
- `refundCreate`: refund line items (restockType RETURN, CANCEL or LEGACY_RESTOCK put the
  quantity back at `locationId` or the default location; NO_RESTOCK, the default, does
  not) and refund transactions, whose amounts are the refund's total.

Each change stamps the order's `updatedAt` and publishes its webhook topics.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from possync.emulators.shopify_queries import input_size, render_order, render_refund
from possync.emulators.shopify_state import LineItem, Order, Refund, RefundLine, ShopifyState
from possync.emulators.shopify_webhooks import order_payload, refund_payload

__all__ = ["Publish", "order_mutations"]

Publish = Callable[[str, dict[str, Any]], object]
Resolver = Callable[..., Any]
RESTOCKING = frozenset({"RETURN", "CANCEL", "LEGACY_RESTOCK"})
PAYABLE = frozenset({"PENDING", "AUTHORIZED", "PARTIALLY_PAID"})


def _error(field: list[str], message: str, code: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"field": field, "message": message}
    if code is not None:
        error["code"] = code
    return error


def _amount(text: object) -> Decimal | None:
    try:
        value = Decimal(str(text))
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def order_mutations(shop: ShopifyState, publish: Publish) -> dict[str, Resolver]:
    def changed(order: Order, *topics: str) -> None:
        order.updated_at = shop.now()
        for topic in topics:
            publish(topic, order_payload(order))
        publish("ORDERS_UPDATED", order_payload(order))

    def order_create(
        _info: Any, order: dict[str, Any], options: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        made, errors = _create(shop, order, options or {})
        if made is None:
            return {"order": None, "userErrors": errors}
        publish("ORDERS_CREATE", order_payload(made))
        if made.financial_status == "PAID":
            publish("ORDERS_PAID", order_payload(made))
        return {"order": render_order(shop, made), "userErrors": []}

    def order_mark_as_paid(_info: Any, input: dict[str, Any]) -> dict[str, Any]:
        found = shop.orders.get(input["id"])
        if found is None:
            return {"order": None, "userErrors": [_error(["id"], "Order does not exist")]}
        if found.financial_status not in PAYABLE or found.cancelled_at is not None:
            error = _error(["id"], "Order cannot be marked as paid.")
            return {"order": None, "userErrors": [error]}
        found.financial_status = "PAID"
        changed(found, "ORDERS_PAID")
        return {"order": render_order(shop, found), "userErrors": []}

    def order_cancel(
        _info: Any,
        orderId: str,
        refund: bool,
        restock: bool,
        reason: str,
        **_ignored: Any,
    ) -> dict[str, Any]:
        found = shop.orders.get(orderId)
        if found is None:
            error = _error(["orderId"], "Order does not exist", "NOT_FOUND")
            return {"job": None, "orderCancelUserErrors": [error], "userErrors": []}
        if found.cancelled_at is not None:
            error = _error(["orderId"], "Order has already been cancelled", "INVALID")
            return {"job": None, "orderCancelUserErrors": [error], "userErrors": []}
        found.cancelled_at = shop.now()
        found.cancel_reason = reason
        if restock:
            found.restocked_on_cancel = True
            for line in found.lines:
                shop.adjust(line.variant_id, line.quantity - found.refunded_quantity(line.id))
        if refund:
            paid = found.financial_status not in PAYABLE
            found.financial_status = "REFUNDED" if paid else "VOIDED"
        changed(found, "ORDERS_CANCELLED")
        job = {"id": shop.gid("Job"), "done": True, "query": None}
        return {"job": job, "orderCancelUserErrors": [], "userErrors": []}

    def refund_create(_info: Any, input: dict[str, Any]) -> dict[str, Any]:
        found = shop.orders.get(input["orderId"])
        if found is None:
            error = _error(["orderId"], "Order does not exist")
            return {"order": None, "refund": None, "userErrors": [error]}
        made, errors = _refund(shop, found, input)
        if made is None:
            return {"order": None, "refund": None, "userErrors": errors}
        found.updated_at = shop.now()
        publish("REFUNDS_CREATE", refund_payload(found, made))
        publish("ORDERS_UPDATED", order_payload(found))
        return {
            "order": render_order(shop, found),
            "refund": render_refund(shop, found, made),
            "userErrors": [],
        }

    return {
        "orderCreate": order_create,
        "orderMarkAsPaid": order_mark_as_paid,
        "orderCancel": order_cancel,
        "refundCreate": refund_create,
    }


def _create(
    shop: ShopifyState, data: dict[str, Any], options: dict[str, Any]
) -> tuple[Order | None, list[dict[str, Any]]]:
    items = data.get("lineItems") or []
    input_size(items)
    if not items:
        return None, [_error(["order", "lineItems"], "Line items can't be blank", "INVALID")]
    behaviour = options.get("inventoryBehaviour") or "BYPASS"
    lines: list[LineItem] = []
    for i, item in enumerate(items):
        at = ["order", "lineItems", str(i)]
        variant = shop.variant_index.get(item.get("variantId") or "")
        if variant is None:
            return None, [_error([*at, "variantId"], "Variant does not exist", "INVALID")]
        if item["quantity"] < 1:
            return None, [_error([*at, "quantity"], "Quantity must be at least 1", "INVALID")]
        price = variant.price
        price_set = item.get("priceSet")
        if price_set:
            given = _amount(price_set["shopMoney"]["amount"])
            if given is None or given < 0:
                return None, [_error([*at, "priceSet"], "Price is invalid", "INVALID")]
            price = given
        if behaviour == "DECREMENT_OBEYING_POLICY":
            held = shop.available.get((variant.inventory_item_id, shop.default_location), 0)
            if held < item["quantity"]:
                message = f"Unable to reserve inventory for {variant.sku}"
                return None, [_error([*at, "quantity"], message, "INVENTORY_CLAIM_FAILED")]
        product = shop.products.get(variant.product_id)
        title = item.get("title") or (product.title if product else variant.sku)
        lines.append(
            LineItem(
                id=shop.gid("LineItem"),
                variant_id=variant.id,
                product_id=variant.product_id,
                sku=item.get("sku") or variant.sku or None,
                title=title,
                quantity=item["quantity"],
                unit_price=price,
            )
        )
    status = data.get("financialStatus") or ("PAID" if data.get("transactions") else "PENDING")
    with shop.lock:
        stamp = shop.now()
        order = Order(
            id=shop.gid("Order"),
            name=data.get("name") or shop.next_order_name(),
            created_at=stamp,
            updated_at=stamp,
            currency=data.get("currency") or shop.currency,
            financial_status=status,
            lines=lines,
        )
        if behaviour != "BYPASS":
            for line in lines:
                shop.adjust(line.variant_id, -line.quantity)
        shop.orders[order.id] = order
    return order, []


def _refund(
    shop: ShopifyState, order: Order, data: dict[str, Any]
) -> tuple[Refund | None, list[dict[str, Any]]]:
    by_id = {li.id: li for li in order.lines}
    wanted = data.get("refundLineItems") or []
    input_size(wanted)
    lines: list[RefundLine] = []
    for i, item in enumerate(wanted):
        at = ["refundLineItems", str(i)]
        line = by_id.get(item["lineItemId"])
        if line is None:
            return None, [_error([*at, "lineItemId"], "Line item does not exist")]
        left = line.quantity - order.refunded_quantity(line.id)
        if not 0 < item["quantity"] <= left:
            message = "Quantity cannot refund more items than were purchased"
            return None, [_error([*at, "quantity"], message)]
        location = item.get("locationId")
        if location is not None and location not in shop.locations:
            return None, [_error([*at, "locationId"], "Location does not exist")]
        lines.append(
            RefundLine(
                line_item_id=line.id,
                quantity=item["quantity"],
                restock_type=item.get("restockType") or "NO_RESTOCK",
                location_id=location or shop.default_location,
                subtotal=line.unit_price * item["quantity"],
            )
        )
    amount = Decimal("0.00")
    for i, transaction in enumerate(data.get("transactions") or []):
        value = _amount(transaction.get("amount"))
        if value is None or value < 0 or transaction.get("kind") != "REFUND":
            return None, [_error(["transactions", str(i)], "Transaction is invalid")]
        amount += value
    if amount > order.total - order.refunded:
        return None, [_error(["transactions"], "Refund amount exceeds the refundable amount")]
    with shop.lock:
        refund = Refund(
            id=shop.gid("Refund"),
            order_id=order.id,
            created_at=shop.now(),
            note=data.get("note"),
            amount=amount,
            lines=lines,
        )
        for x in lines:
            if x.restocked:
                shop.adjust(by_id[x.line_item_id].variant_id, x.quantity, x.location_id)
        order.refunds.append(refund)
        if amount > 0:
            full = order.refunded >= order.total
            order.financial_status = "REFUNDED" if full else "PARTIALLY_REFUNDED"
    return refund, []
