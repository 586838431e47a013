"""Magento orders and credit memos as WebOrder and WebRefund.

Magento stores an ordered configurable product as two items: the parent line
(product_type `configurable`, the child's SKU, the parent's product id, the price and
quantity) and the child line (`parent_item_id` naming the parent line, the child's product
id). One OrderItem is made per parent line, its ref (parent id, child id) as the listings
name it; child lines are folded into it.

What a line cost (`OrderItem.paid`), from the parent line's row totals: Magento keeps
row_total + tax_amount + discount_tax_compensation_amount - discount_amount as what the
row cost (the compensation is the tax part of a discount taken off a price with tax), so
net = that - tax_amount. Its rates are the order's `extension_attributes.
item_applied_taxes` for the item (type product), else the item's `tax_percent`. Shipping
is a charge: shipping_amount - shipping_discount_amount (+ its compensation) with
shipping_tax_amount at the rates of the item_applied_taxes entry of type shipping. The
order does not say whether catalogue prices include tax (`tax_included` None).

Credit memos do not say which of their items went back to stock (`back_to_stock` is not in
the REST interface; return_to_stock_items is an argument of the refund call only), so a
credit memo's items with a quantity are taken as returned; a money-only credit memo (no
item quantities, only adjustments) returns none.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from possync.domain.models import (
    LinePrice,
    LineTax,
    OrderItem,
    WebCharge,
    WebOrder,
    WebRefund,
    WebshopRef,
)
from possync.domain.money import MoneyError, parse_amount
from possync.vendors.http import ApiClient
from possync.vendors.magento.client import (
    magento_time,
    parse_magento_time,
    search_pages,
)

__all__ = ["MagentoOrders", "web_status"]

Json = dict[str, Any]
_STATUSES = {"canceled": "cancelled", "closed": "refunded"}


def web_status(status: object) -> str:
    """Magento's status word, except canceled → cancelled and closed → refunded."""
    word = str(status or "").lower()
    return _STATUSES.get(word, word)


class MagentoOrders:
    """Magento orders and credit memos over one ApiClient; MagentoShop is one."""

    _api: ApiClient
    _size: int

    def __init__(self, api: ApiClient, page_size: int) -> None:
        self._api = api
        self._size = page_size

    def orders_changed(self, since: datetime | None) -> Iterator[list[WebOrder]]:
        """Oldest change first; from a second before `since` (Magento counts whole
        seconds), so a change in the cursor's own second is read again, never missed."""
        groups = []
        if since is not None:
            start = magento_time(since - timedelta(seconds=1))
            groups.append([("updated_at", start, "gteq")])
        sort = [("updated_at", "ASC"), ("entity_id", "ASC")]
        for page in search_pages(self._api, "/V1/orders", groups, page_size=self._size, sort=sort):
            yield self._with_refunds(page)

    def orders(self, order_ids: Sequence[str]) -> list[WebOrder]:
        ids = sorted({str(int(i)) for i in order_ids if str(i).isdigit()}, key=int)
        found: list[WebOrder] = []
        for start in range(0, len(ids), self._size):
            chunk = ",".join(ids[start : start + self._size])
            groups = [[("entity_id", chunk, "in")]]
            for page in search_pages(self._api, "/V1/orders", groups, page_size=self._size):
                found.extend(self._with_refunds(page))
        return found

    def _with_refunds(self, page: Sequence[Json]) -> list[WebOrder]:
        """One credit memo search per page of orders names their refunds."""
        ids = [str(o["entity_id"]) for o in page]
        memos: dict[str, list[str]] = {i: [] for i in ids}
        if ids:
            groups = [[("order_id", ",".join(ids), "in")]]
            for memo_page in search_pages(
                self._api, "/V1/creditmemos", groups, page_size=self._size
            ):
                for memo in memo_page:
                    memos.setdefault(str(memo.get("order_id")), []).append(str(memo["entity_id"]))
        return [web_order(o, memos.get(str(o["entity_id"]), [])) for o in page]

    def refunds(self, order_id: str) -> list[WebRefund]:
        order = self._api.get(f"/V1/orders/{int(order_id)}").json()
        lines = {int(x["item_id"]): x for x in order.get("items") or []}
        groups = [[("order_id", str(int(order_id)), "eq")]]
        refunds: list[WebRefund] = []
        for page in search_pages(self._api, "/V1/creditmemos", groups, page_size=self._size):
            refunds.extend(_refund(order_id, memo, lines) for memo in page)
        return refunds


def web_order(body: Mapping[str, Any], refund_ids: list[str]) -> WebOrder:
    lines = list(body.get("items") or [])
    order_id = str(body["entity_id"])
    top = [line for line in lines if not line.get("parent_item_id")]
    error: str | None = None
    charges: list[WebCharge] = []
    try:
        applied = _applied_taxes(body)
        items = [
            _item(line, lines, _decimal(line.get("qty_ordered")), _paid(line, applied))
            for line in top
        ]
        shipping = _shipping(body, applied)
        charges = [shipping] if shipping is not None else []
    except (MoneyError, KeyError, TypeError, ValueError) as exc:
        error = f"Magento order {order_id}: {exc}"
        items = [_item(line, lines, _decimal(line.get("qty_ordered"))) for line in top]
    return WebOrder(
        order_id=order_id,
        status=web_status(body.get("status") or body.get("state")),
        modified_at=parse_magento_time(body.get("updated_at") or body.get("created_at")),
        currency=str(body.get("order_currency_code") or ""),
        total=_decimal(body.get("grand_total")),
        items=items,
        refund_ids=refund_ids,
        charges=charges,
        price_error=error,
    )


_Applied = dict[tuple[str, int | None], list[tuple[Decimal, Decimal, str]]]


def _applied_taxes(body: Mapping[str, Any]) -> _Applied:
    """(type, item id) -> [(percent, amount, title)] from item_applied_taxes."""
    found: _Applied = {}
    extension = body.get("extension_attributes") or {}
    for entry in extension.get("item_applied_taxes") or []:
        item_id = entry.get("item_id")
        key = (str(entry.get("type") or ""), int(item_id) if item_id is not None else None)
        for tax in entry.get("applied_taxes") or []:
            percent = parse_amount(tax.get("percent"))
            title = str(tax.get("title") or tax.get("code") or "")
            found.setdefault(key, []).append((percent, parse_amount(tax.get("amount")), title))
    return found


def _taxes(
    applied: list[tuple[Decimal, Decimal, str]], percent: object, amount: Decimal, what: str
) -> tuple[LineTax, ...]:
    """The taxes of an item or the shipping: as applied per rate, else one at `percent`."""
    if not amount:
        return ()
    if applied:
        if sum((a for _, a, _ in applied), Decimal(0)) != amount:
            raise ValueError(f"the applied taxes of {what} do not add up to its tax {amount}")
        return tuple(LineTax(rate=p, amount=a, name=t) for p, a, t in applied if a)
    if percent is None:
        raise ValueError(f"{what} is taxed {amount} at no rate Magento names")
    return (LineTax(rate=parse_amount(percent), amount=amount),)


def _paid(line: Mapping[str, Any], applied: _Applied) -> LinePrice:
    """What the row cost: row total + tax + discount tax compensation - discount."""
    item_id = int(line.get("item_id") or 0)
    tax = parse_amount(line.get("tax_amount") or 0)
    discount = parse_amount(line.get("discount_amount") or 0)
    compensation = parse_amount(line.get("discount_tax_compensation_amount") or 0)
    gross = parse_amount(line.get("row_total") or 0) + tax + compensation - discount
    taxes = _taxes(
        applied.get(("product", item_id), []), line.get("tax_percent"), tax, f"item {item_id}"
    )
    return LinePrice(net=gross - tax, taxes=taxes, discount=discount)


def _shipping(body: Mapping[str, Any], applied: _Applied) -> WebCharge | None:
    amount = parse_amount(body.get("shipping_amount") or 0)
    tax = parse_amount(body.get("shipping_tax_amount") or 0)
    if not amount and not tax:
        return None
    discount = parse_amount(body.get("shipping_discount_amount") or 0)
    compensation = parse_amount(body.get("shipping_discount_tax_compensation_amount") or 0)
    shipping = [v for (kind, _), values in applied.items() if kind == "shipping" for v in values]
    taxes = _taxes(shipping, None, tax, "the shipping")
    net = amount + compensation - discount
    return WebCharge(line_id="shipping", name="shipping", paid=LinePrice(net=net, taxes=taxes))


def _item(
    line: Mapping[str, Any],
    lines: Sequence[Mapping[str, Any]],
    qty: Decimal,
    paid: LinePrice | None = None,
) -> OrderItem:
    """A top-level order line; a configurable's ref names its child line's product."""
    product_id = str(line.get("product_id") or "")
    ref: WebshopRef | None = WebshopRef(product_id=product_id) if product_id else None
    if line.get("product_type") == "configurable":
        child = next((c for c in lines if c.get("parent_item_id") == line.get("item_id")), None)
        if child is not None and child.get("product_id"):
            ref = WebshopRef(product_id=product_id, variation_id=str(child["product_id"]))
    return OrderItem(
        line_id=str(line.get("item_id") or ""),
        ref=ref,
        sku=line.get("sku") or None,
        quantity=int(qty),
        unit_price=_decimal(line.get("price")).quantize(Decimal("0.01")),
        name=str(line.get("name") or ""),
        paid=paid,
    )


def _refund(order_id: str, memo: Mapping[str, Any], lines: Mapping[int, Json]) -> WebRefund:
    items: list[OrderItem] = []
    for memo_item in memo.get("items") or []:
        qty = _decimal(memo_item.get("qty"))
        line = lines.get(int(memo_item.get("order_item_id") or 0))
        if qty <= 0 or line is None or line.get("parent_item_id"):
            continue
        items.append(_item(line, list(lines.values()), qty))
    return WebRefund(
        refund_id=str(memo["entity_id"]),
        order_id=str(order_id),
        amount=_decimal(memo.get("grand_total")),
        reason="",
        items=items,
    )


def _decimal(value: object) -> Decimal:
    return Decimal(str(value)) if value is not None else Decimal(0)
