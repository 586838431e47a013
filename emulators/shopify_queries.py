"""The Shopify emulator's query side: objects rendered as graphql-core resolves them (plain
dicts; a callable value is called with the field's arguments), connections with cursors,
and the search syntax the emulator understands.

Paging and the search syntax are in `shopify_search`:

- `productVariants(query)`: `sku:` terms joined by `OR` (other terms match nothing).
- `products(query, sortKey)` and `orders(query, sortKey)`: `updated_at:>'…'` (also `>=`,
  `<`, `<=`), terms joined by `AND` or spaces; sortKey `UPDATED_AT` or `ID` (the
  default). Their cursors name the last item's sort key, so an item changed while a
  client pages moves to the end instead of shifting the pages (Shopify's cursors, too, are
  positions in the sort order, not offsets).
- `deletionEvents(subjectTypes: [PRODUCT], query: "occurred_at:>'…'")`: the products
  deleted (deprecated in 2025-01 in favour of `events`, still served).
- `nodes(ids)` and `node(id)`: product variants, products, orders.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Context, Decimal
from typing import Any, Protocol, TypeAlias, TypeVar

from graphql import GraphQLError, GraphQLResolveInfo

from emulators.shopify_search import (
    MAX_INPUT_SIZE,
    MAX_PAGE,
    connection,
    input_size,
    keyed_connection,
    sku_filter,
    time_filter,
)
from emulators.shopify_state import (
    DEFAULT_TITLE,
    LineItem,
    Order,
    Product,
    Refund,
    ShopifyState,
    TaxLine,
    Variant,
    iso,
)

__all__ = ["MAX_INPUT_SIZE", "MAX_PAGE", "input_size", "money", "query_root", "render_order"]

Resolver = Callable[..., Any]
Info: TypeAlias = "GraphQLResolveInfo[Any]"


def money(amount: Decimal, currency: str) -> dict[str, Any]:
    value = {"amount": f"{amount:.2f}", "currencyCode": currency}
    return {"shopMoney": value, "presentmentMoney": value}


def _number(gid: str) -> int:
    return int(gid.rsplit("/", 1)[1])


def render_location(shop: ShopifyState, gid: str) -> dict[str, Any]:
    return {"id": gid, "name": shop.locations[gid], "isActive": True, "__typename": "Location"}


def render_variant(shop: ShopifyState, variant: Variant) -> dict[str, Any]:
    item = variant.inventory_item_id

    def inventory_level(_info: Info, locationId: str) -> dict[str, Any] | None:
        quantity = shop.available.get((item, locationId))
        if quantity is None:
            return None

        def quantities(_info: Info, names: list[str]) -> list[dict[str, Any]]:
            known = [n for n in names if n in ("available", "on_hand")]
            return [{"name": n, "quantity": quantity} for n in known]

        number = item.rsplit("/", 1)[1]
        return {
            "id": f"gid://shopify/InventoryLevel/{number}?inventory_item_id={number}",
            "quantities": quantities,
            "location": render_location(shop, locationId),
        }

    product = shop.products.get(variant.product_id)
    option_name = product.option_name if product else "Title"
    return {
        "__typename": "ProductVariant",
        "id": variant.id,
        "legacyResourceId": str(variant.number),
        "title": variant.option,
        "displayName": f"{product.title if product else ''} - {variant.option}",
        "sku": variant.sku,
        "barcode": variant.barcode,
        "price": money_text(variant.price),
        "updatedAt": iso(variant.updated_at),
        "selectedOptions": [
            {
                "name": option_name,
                "value": variant.option,
                "optionValue": {"id": f"{variant.id}/option", "name": variant.option},
            }
        ],
        "product": (lambda _info: render_product(shop, product)) if product else None,
        "inventoryItem": {
            "id": item,
            "sku": variant.sku,
            "tracked": True,
            "inventoryLevel": inventory_level,
        },
    }


def render_product(shop: ShopifyState, product: Product) -> dict[str, Any]:
    def variants(
        _info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        **_ignored: Any,
    ) -> dict[str, Any]:
        rendered = [render_variant(shop, v) for v in shop.variants_of(product.id)]
        return connection(rendered, first, after, last)

    def options(_info: Info, first: int | None = None) -> list[dict[str, Any]]:
        values = list(dict.fromkeys(v.option for v in shop.variants_of(product.id)))
        return [
            {
                "id": f"{product.id}/option/1",
                "name": product.option_name,
                "position": 1,
                "values": values,
                "optionValues": [
                    {"id": f"{product.id}/value/{i}", "name": n, "hasVariants": True}
                    for i, n in enumerate(values)
                ],
            }
        ][: first if first is not None else None]

    own = shop.variants_of(product.id)
    return {
        "__typename": "Product",
        "id": product.id,
        "legacyResourceId": str(_number(product.id)),
        "title": product.title,
        "descriptionHtml": product.description_html,
        "status": product.status,
        "createdAt": iso(product.created_at),
        "updatedAt": iso(product.updated_at),
        "hasOnlyDefaultVariant": len(own) == 1 and own[0].option == DEFAULT_TITLE,
        "variants": variants,
        "options": options,
    }


def _render_taxes(taxes: list[TaxLine], currency: str) -> list[dict[str, Any]]:
    return [
        {
            "__typename": "TaxLine",
            "title": t.title,
            "rate": float(t.rate),
            "ratePercentage": float(t.rate * 100),
            "priceSet": money(t.amount, currency),
            "price": f"{t.amount:.2f}",
            "channelLiable": None,
            "source": None,
        }
        for t in taxes
    ]


def _discount_application(order: Order) -> dict[str, Any]:
    code = order.discount_code
    assert code is not None
    if code.percentage is not None:
        value: dict[str, Any] = {
            "__typename": "PricingPercentageValue",
            "percentage": float(code.percentage),
        }
    else:
        value = {
            "__typename": "MoneyV2",
            **money(code.amount or Decimal(0), order.currency)["shopMoney"],
        }
    return {
        "__typename": "DiscountCodeApplication",
        "code": code.code,
        "index": 0,
        "allocationMethod": "ACROSS" if code.percentage is None else "EACH",
        "targetSelection": "ALL",
        "targetType": "LINE_ITEM",
        "value": value,
    }


def _render_line(shop: ShopifyState, order: Order, line: LineItem) -> dict[str, Any]:
    variant = shop.variant_index.get(line.variant_id or "")
    product = shop.products.get(line.product_id or "")
    allocations = (
        [
            {
                "__typename": "DiscountAllocation",
                "allocatedAmountSet": money(line.discount, order.currency),
                "allocatedAmount": money(line.discount, order.currency)["shopMoney"],
                "discountApplication": _discount_application(order),
            }
        ]
        if order.discount_code is not None
        else []
    )
    after_all = (line.original_total - line.discount) / line.quantity
    return {
        "__typename": "LineItem",
        "id": line.id,
        "sku": line.sku,
        "name": line.title,
        "title": line.title,
        "quantity": line.quantity,
        "currentQuantity": line.quantity - order.refunded_quantity(line.id),
        "variant": render_variant(shop, variant) if variant else None,
        "product": render_product(shop, product) if product else None,
        "originalUnitPriceSet": money(line.unit_price, order.currency),
        "originalTotalSet": money(line.original_total, order.currency),
        # code-based discounts are not in these two ("Code-based discounts aren't included
        # by default"); they are in discountAllocations
        "discountedUnitPriceSet": money(line.unit_price, order.currency),
        "discountedTotalSet": money(line.original_total, order.currency),
        "totalDiscountSet": money(Decimal(0), order.currency),
        "discountedUnitPriceAfterAllDiscountsSet": money(after_all, order.currency),
        "discountAllocations": allocations,
        "taxLines": _render_taxes(line.tax_lines, order.currency),
        "taxable": bool(line.tax_lines),
    }


def render_refund(shop: ShopifyState, order: Order, refund: Refund) -> dict[str, Any]:
    lines = {li.id: li for li in order.lines}

    def refund_line_items(
        _info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        **_ignored: Any,
    ) -> dict[str, Any]:
        rendered = [
            {
                "lineItem": _render_line(shop, order, lines[x.line_item_id]),
                "quantity": x.quantity,
                "restockType": x.restock_type,
                "restocked": x.restocked,
                "location": render_location(shop, x.location_id) if x.location_id else None,
                "priceSet": money(lines[x.line_item_id].unit_price, order.currency),
                "subtotalSet": money(x.subtotal, order.currency),
            }
            for x in refund.lines
        ]
        return connection(rendered, first, after, last)

    return {
        "__typename": "Refund",
        "id": refund.id,
        "legacyResourceId": str(_number(refund.id)),
        "createdAt": iso(refund.created_at),
        "updatedAt": iso(refund.created_at),
        "note": refund.note,
        "totalRefundedSet": money(refund.amount, order.currency),
        "refundLineItems": refund_line_items,
        "order": lambda _info: render_order(shop, order),
    }


def render_order(shop: ShopifyState, order: Order) -> dict[str, Any]:
    def line_items(
        _info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        **_ignored: Any,
    ) -> dict[str, Any]:
        rendered = [_render_line(shop, order, li) for li in order.lines]
        return connection(rendered, first, after, last)

    def refunds(_info: Info, first: int | None = None) -> list[dict[str, Any]]:
        chosen = order.refunds[:first] if first is not None else order.refunds
        return [render_refund(shop, order, r) for r in chosen]

    def shipping_lines(
        _info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        includeRemovals: bool = False,
        **_ignored: Any,
    ) -> dict[str, Any]:
        rendered = [
            {
                "__typename": "ShippingLine",
                "id": s.id,
                "title": s.title,
                "code": s.code,
                "custom": True,
                "isRemoved": False,
                "source": None,
                # "The pre-tax shipping price without any discounts applied."
                "originalPriceSet": money(
                    s.price - (s.tax if order.taxes_included else Decimal(0)), order.currency
                ),
                "discountedPriceSet": money(s.price, order.currency),
                "currentDiscountedPriceSet": money(s.price, order.currency),
                "discountAllocations": [],
                "taxLines": _render_taxes(s.tax_lines, order.currency),
            }
            for s in order.shipping_lines
        ]
        return connection(rendered, first, after, last)

    return {
        "__typename": "Order",
        "id": order.id,
        "legacyResourceId": str(order.number),
        "name": order.name,
        "createdAt": iso(order.created_at),
        "updatedAt": iso(order.updated_at),
        "processedAt": iso(order.created_at),
        "cancelledAt": iso(order.cancelled_at),
        "cancelReason": order.cancel_reason,
        "displayFinancialStatus": order.financial_status,
        "displayFulfillmentStatus": "UNFULFILLED",
        "currencyCode": order.currency,
        "totalPriceSet": money(order.total, order.currency),
        "currentTotalPriceSet": money(order.total - order.refunded, order.currency),
        "taxesIncluded": order.taxes_included,
        "subtotalPriceSet": money(order.subtotal, order.currency),
        "totalTaxSet": money(order.total_tax, order.currency),
        "totalShippingPriceSet": money(order.shipping, order.currency),
        "totalDiscountsSet": money(
            sum((li.discount for li in order.lines), Decimal(0)), order.currency
        ),
        "shippingLines": shipping_lines,
        "lineItems": line_items,
        "refunds": refunds,
    }


def _sort_key(sort_key: str | None, reverse: bool | None) -> str:
    if reverse:
        raise GraphQLError("the emulator does not page in reverse")
    if sort_key not in (None, "ID", "UPDATED_AT"):
        raise GraphQLError(f"the emulator sorts by ID or UPDATED_AT, not {sort_key}")
    return sort_key or "ID"


def query_root(shop: ShopifyState) -> dict[str, Resolver]:
    def product_variants(
        _info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        query: str | None = None,
        **_ignored: Any,
    ) -> dict[str, Any]:
        wanted = sku_filter(query)
        chosen = [v for v in shop.variants if wanted is None or v.sku in wanted]
        return connection([render_variant(shop, v) for v in chosen], first, after, last)

    def products(
        _info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        query: str | None = None,
        sortKey: str | None = None,
        reverse: bool | None = None,
        **_ignored: Any,
    ) -> dict[str, Any]:
        chosen = _updated(shop.products.values(), lambda p: _number(p.id), query, sortKey, reverse)
        page = keyed_connection(chosen, first, after, last)
        return _render_page(page, lambda p: render_product(shop, p))

    def orders(
        _info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        query: str | None = None,
        sortKey: str | None = None,
        reverse: bool | None = None,
        **_ignored: Any,
    ) -> dict[str, Any]:
        chosen = _updated(shop.orders.values(), lambda o: o.number, query, sortKey, reverse)
        page = keyed_connection(chosen, first, after, last)
        return _render_page(page, lambda o: render_order(shop, o))

    def deletion_events(
        _info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        query: str | None = None,
        subjectTypes: list[str] | None = None,
        **_ignored: Any,
    ) -> dict[str, Any]:
        keep = time_filter(query, "occurred_at")
        items = []
        if subjectTypes is None or "PRODUCT" in subjectTypes:
            items = [
                ((at.timestamp(), _number(gid)), (gid, at))
                for gid, at in shop.deleted.items()
                if keep(at)
            ]
        page = keyed_connection(items, first, after, last)
        return _render_page(
            page,
            lambda e: {"subjectId": e[0], "subjectType": "PRODUCT", "occurredAt": iso(e[1])},
        )

    def node(_info: Info, id: str) -> dict[str, Any] | None:
        return _node(shop, id)

    def nodes(_info: Info, ids: list[str]) -> list[dict[str, Any] | None]:
        input_size(ids)
        return [_node(shop, i) for i in ids]

    def product(_info: Info, id: str) -> dict[str, Any] | None:
        found = shop.products.get(id)
        return render_product(shop, found) if found else None

    def order(_info: Info, id: str) -> dict[str, Any] | None:
        found = shop.orders.get(id)
        return render_order(shop, found) if found else None

    def location(_info: Info, id: str | None = None) -> dict[str, Any] | None:
        gid = id or shop.default_location
        return render_location(shop, gid) if gid in shop.locations else None

    def locations(
        _info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        **_ignored: Any,
    ) -> dict[str, Any]:
        rendered = [render_location(shop, g) for g in shop.locations]
        return connection(rendered, first, after, last)

    return {
        "productVariants": product_variants,
        "products": products,
        "product": product,
        "orders": orders,
        "order": order,
        "deletionEvents": deletion_events,
        "location": location,
        "locations": locations,
        "node": node,
        "nodes": nodes,
    }


def _render_page(page: dict[str, Any], render: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    edges = [{"cursor": e["cursor"], "node": render(e["node"])} for e in page["edges"]]
    return {**page, "edges": edges, "nodes": [e["node"] for e in edges]}


def _node(shop: ShopifyState, gid: str) -> dict[str, Any] | None:
    if gid in shop.variant_index:
        return render_variant(shop, shop.variant_index[gid])
    if gid in shop.products:
        return render_product(shop, shop.products[gid])
    if gid in shop.orders:
        return render_order(shop, shop.orders[gid])
    return None


_Stamped = TypeVar("_Stamped", bound="_HasUpdatedAt")


class _HasUpdatedAt(Protocol):
    updated_at: datetime


def _updated(
    records: Iterable[_Stamped],
    number: Callable[[_Stamped], int],
    query: str | None,
    sort_key: str | None,
    reverse: bool | None,
) -> list[tuple[tuple[float, int], _Stamped]]:
    """Products or orders matching an `updated_at:` query, keyed for paging: by update time
    when sorted by UPDATED_AT, else by id."""
    by_time = _sort_key(sort_key, reverse) == "UPDATED_AT"
    keep = time_filter(query, "updated_at")
    return [
        ((r.updated_at.timestamp() if by_time else 0.0, number(r)), r)
        for r in records
        if keep(r.updated_at)
    ]


def money_text(value: Decimal) -> str:
    """A Money string as stored: two decimals ('100.57'), more only where the price has
    them ('1.005'); never rounded."""
    cents = value.quantize(Decimal("0.01"), context=Context(prec=100))
    return f"{cents:f}" if cents == value else f"{value.normalize():f}"
