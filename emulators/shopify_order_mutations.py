"""The Shopify emulator's order mutations: what a checkout and a shop admin do to orders.

- `orderCreate(order, options)`: line items by `variantId` (price from `priceSet` or the
  variant's); `financialStatus` as given, else PAID when transactions are given, else
  PENDING. Taxes are what the caller charged, as Shopify takes them from orderCreate: each
  line's and shipping line's `taxLines` (title, rate as a proportion, amount), with
  `taxesIncluded` saying whether the prices hold them; order-level `taxLines` are refused
  here (Shopify splits them over the lines; the emulator does not). A `discountCode`
  (percentage or fixed amount off the line items) is allocated to the lines: a percentage
  as that share of each line's total, a fixed amount in proportion to the lines' totals,
  rounded half up to the currency's decimals with the last minor units to the largest
  remainders (Shopify does not document its rounding; this is the emulator's). Stock
  follows `options.inventoryBehaviour` as Shopify's does: BYPASS (Shopify's
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
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from emulators.shopify_queries import input_size, render_order, render_refund
from emulators.shopify_state import (
    DiscountCode,
    LineItem,
    Order,
    Refund,
    RefundLine,
    ShippingLine,
    ShopifyState,
    TaxLine,
)
from emulators.shopify_webhooks import order_payload, refund_payload
from possync.domain.money import minor_units

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
        taxes, error = _tax_lines(item.get("taxLines"), [*at, "taxLines"])
        if error is not None:
            return None, [error]
        lines[-1].tax_lines = taxes
    if data.get("taxLines"):
        message = "The emulator takes tax lines on the line items, not on the order"
        return None, [_error(["order", "taxLines"], message, "INVALID")]
    currency = data.get("currency") or shop.currency
    code, error = _discount_code(data.get("discountCode"))
    if error is not None:
        return None, [error]
    if code is not None:
        _allocate(code, lines, minor_units(currency))
    shipping: list[ShippingLine] = []
    for i, given in enumerate(data.get("shippingLines") or []):
        at = ["order", "shippingLines", str(i)]
        charged = _amount(given["priceSet"]["shopMoney"]["amount"])
        if charged is None or charged < 0:
            return None, [_error([*at, "priceSet"], "Price is invalid", "INVALID")]
        taxes, error = _tax_lines(given.get("taxLines"), [*at, "taxLines"])
        if error is not None:
            return None, [error]
        line_id = shop.gid("ShippingLine")
        shipping.append(ShippingLine(line_id, given["title"], given.get("code"), charged, taxes))
    status = data.get("financialStatus") or ("PAID" if data.get("transactions") else "PENDING")
    with shop.lock:
        stamp = shop.now()
        order = Order(
            id=shop.gid("Order"),
            name=data.get("name") or shop.next_order_name(),
            created_at=stamp,
            updated_at=stamp,
            currency=currency,
            financial_status=status,
            lines=lines,
            taxes_included=bool(data.get("taxesIncluded")),
            discount_code=code,
            shipping_lines=shipping,
        )
        if behaviour != "BYPASS":
            for line in lines:
                shop.adjust(line.variant_id, -line.quantity)
        shop.orders[order.id] = order
    return order, []


def _tax_lines(
    given: list[dict[str, Any]] | None, at: list[str]
) -> tuple[list[TaxLine], dict[str, Any] | None]:
    taxes: list[TaxLine] = []
    for j, tax in enumerate(given or []):
        rate = _amount(tax["rate"])
        money = tax.get("priceSet") or {}
        amount = _amount((money.get("shopMoney") or {}).get("amount", "0"))
        if rate is None or rate < 0 or amount is None or amount < 0:
            return [], _error([*at, str(j)], "Tax line is invalid", "INVALID")
        taxes.append(TaxLine(tax["title"], rate, amount))
    return taxes, None


def _discount_code(
    given: dict[str, Any] | None,
) -> tuple[DiscountCode | None, dict[str, Any] | None]:
    if not given:
        return None, None
    at = ["order", "discountCode"]
    if percent := given.get("itemPercentageDiscountCode"):
        value = _amount(percent.get("percentage"))
        if value is None or not 0 <= value <= 100:
            return None, _error([*at, "itemPercentageDiscountCode"], "Percentage is invalid")
        return DiscountCode(percent["code"], percentage=value), None
    if fixed := given.get("itemFixedDiscountCode"):
        value = _amount(((fixed.get("amountSet") or {}).get("shopMoney") or {}).get("amount"))
        if value is None or value < 0:
            return None, _error([*at, "itemFixedDiscountCode"], "Amount is invalid")
        return DiscountCode(fixed["code"], amount=value), None
    return None, _error(at, "The emulator takes item percentage or fixed discount codes")


def _allocate(code: DiscountCode, lines: list[LineItem], decimals: int) -> None:
    """The code's discount on each line (see the module's note on rounding)."""
    step = Decimal(1).scaleb(-decimals)
    totals = [line.original_total for line in lines]
    if code.percentage is not None:
        for line, total in zip(lines, totals, strict=True):
            line.discount = (total * code.percentage / 100).quantize(step, ROUND_HALF_UP)
        return
    whole = sum(totals, Decimal(0))
    amount = min(code.amount or Decimal(0), whole)
    if not whole:
        return
    exact = [amount * t / whole for t in totals]
    shares = [e.quantize(step, ROUND_FLOOR) for e in exact]
    left = int((amount - sum(shares, Decimal(0))) / step)
    for i in sorted(range(len(lines)), key=lambda i: -(exact[i] - shares[i]))[:left]:
        shares[i] += step
    for line, share in zip(lines, shares, strict=True):
        line.discount = share


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
