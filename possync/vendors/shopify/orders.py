"""Shopify orders and refunds as `WebOrder`s and `WebRefund`s (the order half of
`ShopifyShop`).

Orders are read with `orders(sortKey: UPDATED_AT, query: "updated_at:>='…'")`, oldest
change first, 10 a page with 5 line items and 2 shipping lines each (`ORDERS_PAGE_COST`
requested points, under the 1000-point single-query ceiling; Shopify refunds what a short
page did not use); an order with more lines has the rest read through
`order(id) { lineItems(first: 50, after:) }`. The filter is `>=` the cursor's second (Shopify's
search compares whole seconds), so nothing changed in that second is missed; the
duplicates that brings are harmless.

`WebOrder.order_id` is the order's gid (`gid://shopify/Order/123`), the id every Admin
GraphQL call takes. `status` is `displayFinancialStatus` in lower case ("paid",
"partially_refunded", "pending", ...), except "cancelled" once `cancelledAt` is set.
A refund's `items` are the refund line items put back in stock (`restocked`); a
money-only refund, or one with restock type NO_RESTOCK, returns none.

What a line cost (`OrderItem.paid`): `originalTotalSet` less every `discountAllocations`
amount (those hold order-level and code discounts too, which `discountedTotalSet` leaves
out), with its `taxLines` (rate as a proportion, amount); `taxesIncluded` says whether
that amount holds the tax. Shipping lines are charges: `discountedPriceSet` and their
`taxLines`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
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
from possync.vendors.shopify.client import ShopifyGraphQL

__all__ = [
    "ORDERS_BY_ID_QUERY",
    "ORDERS_QUERY",
    "ORDER_LINES_QUERY",
    "REFUNDS_QUERY",
    "ShopifyOrders",
    "search_since",
]

ORDERS_PER_PAGE = 10
LINES_PER_ORDER = 5
SHIPPING_LINES = 2
ORDERS_PER_LOOKUP = 10
MORE_LINES = 50  # an order's further lines a call: 2 + 50 x 13 points
_TAXES = "taxLines { title rate priceSet { shopMoney { amount } } }"
# per line: the node, variant and product, 2 price sets, discountAllocations, taxLines
_LINE_COST = 1 + 2 + 2 + 2 + 3 + 3
# per order: totalPriceSet, refunds, the two connections and their items
_ORDER_COST = 3 + 1 + 2 + LINES_PER_ORDER * _LINE_COST + 2 + SHIPPING_LINES * (1 + 2 + 3)
ORDERS_PAGE_COST = 2 + ORDERS_PER_PAGE * _ORDER_COST

_LINE = f"""
      id sku name quantity
      variant {{ id product {{ id }} }}
      originalUnitPriceSet {{ shopMoney {{ amount }} }}
      originalTotalSet {{ shopMoney {{ amount }} }}
      discountAllocations {{ allocatedAmountSet {{ shopMoney {{ amount }} }} }}
      {_TAXES}
"""

_ORDER = f"""
    id name createdAt updatedAt cancelledAt displayFinancialStatus currencyCode
    taxesIncluded
    totalPriceSet {{ shopMoney {{ amount currencyCode }} }}
    refunds {{ id }}
    lineItems(first: $lines) {{
      nodes {{ {_LINE} }}
      pageInfo {{ hasNextPage endCursor }}
    }}
    shippingLines(first: {SHIPPING_LINES}) {{
      nodes {{ id title discountedPriceSet {{ shopMoney {{ amount }} }} {_TAXES} }}
      pageInfo {{ hasNextPage }}
    }}
"""

ORDERS_QUERY = f"""
query PossyncOrdersChanged($first: Int!, $after: String, $query: String, $lines: Int!) {{
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {{
    nodes {{ {_ORDER} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}
"""

ORDERS_BY_ID_QUERY = f"""
query PossyncOrders($ids: [ID!]!, $lines: Int!) {{
  nodes(ids: $ids) {{
    ... on Order {{ {_ORDER} }}
  }}
}}
"""

ORDER_LINES_QUERY = f"""
query PossyncOrderLines($id: ID!, $after: String) {{
  order(id: $id) {{
    lineItems(first: {MORE_LINES}, after: $after) {{
      nodes {{ {_LINE} }}
      pageInfo {{ hasNextPage endCursor }}
    }}
  }}
}}
"""

REFUNDS_QUERY = """
query PossyncRefunds($id: ID!) {
  order(id: $id) {
    id
    refunds {
      id createdAt note
      totalRefundedSet { shopMoney { amount } }
      refundLineItems(first: 50) {
        nodes {
          quantity restockType restocked
          lineItem {
            id sku name
            variant { id product { id } }
            originalUnitPriceSet { shopMoney { amount } }
          }
        }
      }
    }
  }
}
"""


def search_since(since: datetime) -> str:
    """`updated_at:>='2025-01-01T12:00:00Z'`, from the second `since` falls in."""
    moment = since.astimezone(UTC).replace(microsecond=0)
    return f"updated_at:>='{moment.strftime('%Y-%m-%dT%H:%M:%SZ')}'"


class ShopifyOrders:
    """Reads orders and refunds through one `ShopifyGraphQL` client; ShopifyShop is one."""

    _gql: ShopifyGraphQL

    def __init__(self, gql: ShopifyGraphQL) -> None:
        self._gql = gql

    def orders_changed(self, since: datetime | None) -> Iterator[list[WebOrder]]:
        after: str | None = None
        while True:
            variables = {
                "first": ORDERS_PER_PAGE,
                "after": after,
                "query": search_since(since) if since is not None else None,
                "lines": LINES_PER_ORDER,
            }
            page = self._gql.call(
                "PossyncOrdersChanged", ORDERS_QUERY, variables, estimate=ORDERS_PAGE_COST
            )["orders"]
            yield [self._order(node) for node in page["nodes"]]
            if not page["pageInfo"]["hasNextPage"]:
                return
            after = page["pageInfo"]["endCursor"]

    def orders(self, order_ids: Sequence[str]) -> list[WebOrder]:
        ids = sorted(set(order_ids))
        found: list[WebOrder] = []
        for start in range(0, len(ids), ORDERS_PER_LOOKUP):
            chunk = ids[start : start + ORDERS_PER_LOOKUP]
            variables = {"ids": chunk, "lines": LINES_PER_ORDER}
            data = self._gql.call("PossyncOrders", ORDERS_BY_ID_QUERY, variables)
            found.extend(self._order(n) for n in data["nodes"] if n and n.get("id"))
        return found

    def refunds(self, order_id: str) -> list[WebRefund]:
        data = self._gql.call("PossyncRefunds", REFUNDS_QUERY, {"id": order_id}, estimate=310)
        order = data["order"]
        if order is None:
            return []
        return [_refund(order_id, r) for r in order["refunds"]]

    def _order(self, node: Mapping[str, Any]) -> WebOrder:
        lines = list(node["lineItems"]["nodes"])
        info = node["lineItems"]["pageInfo"]
        while info["hasNextPage"]:
            variables = {"id": node["id"], "after": info["endCursor"]}
            more = self._gql.call("PossyncOrderLines", ORDER_LINES_QUERY, variables)
            lines.extend(more["order"]["lineItems"]["nodes"])
            info = more["order"]["lineItems"]["pageInfo"]
        included = bool(node.get("taxesIncluded"))
        error: str | None = None
        try:
            items = [_item(line, line["quantity"], _paid(line, included)) for line in lines]
            shipping = node.get("shippingLines") or {"nodes": [], "pageInfo": {}}
            if shipping["pageInfo"].get("hasNextPage"):
                raise ValueError(f"it has more than {SHIPPING_LINES} shipping lines")
            charges = [_shipping(x, included) for x in shipping["nodes"]]
        except (MoneyError, KeyError, TypeError, ValueError) as exc:
            error = f"Shopify order {node['id']}: {exc}"
            items = [_item(line, line["quantity"]) for line in lines]
            charges = []
        return WebOrder(
            order_id=node["id"],
            status=_status(node),
            modified_at=_time(node.get("updatedAt") or node["createdAt"]),
            currency=node["totalPriceSet"]["shopMoney"].get("currencyCode") or node["currencyCode"],
            total=Decimal(str(node["totalPriceSet"]["shopMoney"]["amount"])),
            items=items,
            refund_ids=[r["id"] for r in node.get("refunds") or []],
            charges=charges,
            price_error=error,
        )


def _status(node: Mapping[str, Any]) -> str:
    if node.get("cancelledAt"):
        return "cancelled"
    return str(node.get("displayFinancialStatus") or "pending").lower()


def _time(value: str) -> datetime:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _amount(money_bag: Mapping[str, Any] | None) -> Decimal:
    return parse_amount(((money_bag or {}).get("shopMoney") or {}).get("amount"))


def _taxes(node: Mapping[str, Any]) -> tuple[LineTax, ...]:
    """`taxLines`: `rate` is a proportion (0.25), kept as percent; zero amounts dropped."""
    taxes = []
    for tax in node.get("taxLines") or []:
        amount = _amount(tax.get("priceSet"))
        if not amount:
            continue
        if tax.get("rate") is None:
            raise ValueError(f"tax line {tax.get('title')!r} has no rate")
        rate = parse_amount(tax["rate"]) * 100
        taxes.append(LineTax(rate=rate.normalize(), amount=amount, name=str(tax.get("title"))))
    return tuple(taxes)


def _paid(line: Mapping[str, Any], included: bool) -> LinePrice:
    discount = sum(
        (_amount(a.get("allocatedAmountSet")) for a in line.get("discountAllocations") or []),
        Decimal(0),
    )
    paid = _amount(line.get("originalTotalSet")) - discount
    taxes = _taxes(line)
    net = paid - sum((t.amount for t in taxes), Decimal(0)) if included else paid
    return LinePrice(net=net, taxes=taxes, discount=discount, tax_included=included)


def _shipping(node: Mapping[str, Any], included: bool) -> WebCharge:
    paid = _amount(node.get("discountedPriceSet"))
    taxes = _taxes(node)
    net = paid - sum((t.amount for t in taxes), Decimal(0)) if included else paid
    return WebCharge(
        line_id=str(node.get("id") or ""),
        name=str(node.get("title") or "shipping"),
        paid=LinePrice(net=net, taxes=taxes, tax_included=included),
    )


def _item(line: Mapping[str, Any], quantity: int, paid: LinePrice | None = None) -> OrderItem:
    variant = line.get("variant")
    ref = None
    if variant:
        ref = WebshopRef(product_id=variant["product"]["id"], variation_id=variant["id"])
    price = (line.get("originalUnitPriceSet") or {}).get("shopMoney", {}).get("amount")
    return OrderItem(
        line_id=line["id"],
        ref=ref,
        sku=line.get("sku") or None,
        quantity=abs(int(quantity)),
        unit_price=Decimal(str(price)) if price is not None else Decimal(0),
        name=str(line.get("name") or ""),
        paid=paid,
    )


def _refund(order_id: str, node: Mapping[str, Any]) -> WebRefund:
    items = [
        _item(x["lineItem"], x["quantity"])
        for x in node["refundLineItems"]["nodes"]
        if x.get("restocked") and x.get("quantity")
    ]
    return WebRefund(
        refund_id=node["id"],
        order_id=order_id,
        amount=Decimal(str(node["totalRefundedSet"]["shopMoney"]["amount"])),
        reason=str(node.get("note") or ""),
        items=items,
    )
