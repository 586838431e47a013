"""The JSON WooCommerce's wc/v3 controllers answer, built from the emulator's records.

Field names and value shapes follow the wc/v3 controllers (prepare_object_for_response)
and ../shared/specs/woocommerce; the real plugin's habits are kept even where the 2021
spec file disagrees: unset dates, unmanaged stock and a missing variation image are
`null`, order `version` is a string, line item `product_id` is an integer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, tzinfo
from decimal import Decimal
from html import unescape
from typing import Any
from urllib.parse import quote

from emulators.woocommerce_catalog import Catalog, Product, min_child_price
from emulators.woocommerce_orders import LineItem, Order, Orders, Refund, RefundLine
from emulators.woocommerce_params import Json, decimal_of, money, wc_date
from emulators.woocommerce_taxes import money_text
from emulators.woocommerce_webhooks import Webhook

WC_VERSION = "9.4.2"  # the WooCommerce version the emulator claims (orders carry it)
_SYMBOLS = {
    "EUR": "&euro;",
    "USD": "&#36;",
    "GBP": "&pound;",
    "DKK": "kr.",
    "SEK": "kr",
    "NOK": "kr",
}


@dataclass(frozen=True)
class Site:
    """Where the shop is reachable and how it prints dates and money."""

    url: str  # no trailing slash
    timezone: tzinfo
    currency: str

    @property
    def rest(self) -> str:
        return f"{self.url}/wp-json/wc/v3"

    @property
    def currency_symbol(self) -> str:
        return _SYMBOLS.get(self.currency, self.currency)


def _dates(site: Site, **moments: Any) -> Json:
    out: Json = {}
    for name, moment in moments.items():
        out[name] = wc_date(moment, site.timezone)
        out[f"{name}_gmt"] = wc_date(moment, UTC)
    return out


def _links(**hrefs: str) -> Json:
    return {rel: [{"href": href}] for rel, href in hrefs.items()}


def _price_html(price: str, site: Site) -> str:
    if price == "":
        return ""
    # wc_get_price_to_display casts to float: junk a plugin left in the meta shows as 0.00
    amount = money(decimal_of(price))
    return (
        '<span class="woocommerce-Price-amount amount"><bdi>'
        f'<span class="woocommerce-Price-currencySymbol">{site.currency_symbol}</span>'
        f"{amount}</bdi></span>"
    )


def _stock_fields(item: Product) -> Json:
    backorders_allowed = item.backorders != "no"
    return {
        "manage_stock": item.manage_stock,
        "stock_quantity": item.stock_quantity,
        "stock_status": item.stock_status,
        "backorders": item.backorders,
        "backorders_allowed": backorders_allowed,
        "backordered": item.manage_stock and backorders_allowed and (item.stock_quantity or 0) <= 0,
        "low_stock_amount": item.low_stock_amount,
    }


def _sale_dates(site: Site) -> Json:
    # Scheduled sales are not modelled: WooCommerce answers null for unset sale dates.
    return _dates(site, date_on_sale_from=None, date_on_sale_to=None)


def _common(item: Product, price: str, site: Site) -> Json:
    extra = item.extra
    return {
        "description": item.description,
        "sku": item.sku,
        # global_unique_id (GTIN/UPC/EAN/ISBN) arrived in WooCommerce 9.2, after the 2021 spec file.
        "global_unique_id": item.global_unique_id,
        "price": price,
        "regular_price": item.regular_price,
        "sale_price": item.sale_price,
        **_sale_dates(site),
        "on_sale": item.on_sale,
        "purchasable": price != "" and item.status == "publish",
        "virtual": extra.get("virtual", False),
        "downloadable": extra.get("downloadable", False),
        "downloads": [],
        "download_limit": -1,
        "download_expiry": -1,
        "tax_status": extra.get("tax_status", "taxable"),
        "tax_class": extra.get("tax_class", ""),
        **_stock_fields(item),
        "weight": extra.get("weight", ""),
        "dimensions": {"length": "", "width": "", "height": "", **extra.get("dimensions", {})},
        "shipping_class": extra.get("shipping_class", ""),
        "shipping_class_id": 0,
        "menu_order": extra.get("menu_order", 0),
        "meta_data": item.meta_data,
    }


def _permalink(catalog: Catalog, item: Product, site: Site) -> str:
    parent = catalog.get(item.parent_id) if item.is_variation else None
    if parent is None:
        return f"{site.url}/product/{item.slug or item.id}/"
    query = "&".join(
        f"attribute_{quote(a['name'].lower())}={quote(a['option'])}" for a in item.attributes
    )
    return f"{site.url}/product/{parent.slug}/" + (f"?{query}" if query else "")


def variation_title(catalog: Catalog, item: Product) -> str:
    """A variation's post title: 'Parent name - M' (what the products endpoint shows)."""
    parent = catalog.get(item.parent_id)
    options = ", ".join(a["option"] for a in item.attributes)
    base = parent.name if parent is not None else ""
    return f"{base} - {options}" if options else base


def render_product(catalog: Catalog, item: Product, site: Site) -> Json:
    """WC_REST_Products_Controller: also used for variations found by `sku`."""
    price = min_child_price(catalog, item) if item.type == "variable" else item.price
    extra = item.extra
    links = _links(self=f"{site.rest}/products/{item.id}", collection=f"{site.rest}/products")
    if item.is_variation:
        links.update(_links(up=f"{site.rest}/products/{item.parent_id}"))
    common = _common(item, price, site)
    return {
        "id": item.id,
        "name": variation_title(catalog, item) if item.is_variation else item.name,
        "slug": item.slug,
        "permalink": _permalink(catalog, item, site),
        **_dates(site, date_created=item.date_created, date_modified=item.date_modified),
        "type": item.type,
        "status": item.status,
        "featured": extra.get("featured", False),
        "catalog_visibility": extra.get("catalog_visibility", "visible"),
        "short_description": item.short_description,
        **common,
        "price_html": _price_html(price, site),
        "total_sales": item.total_sales,
        "external_url": "",
        "button_text": "",
        "sold_individually": extra.get("sold_individually", False),
        "shipping_required": not extra.get("virtual", False),
        "shipping_taxable": common["tax_status"] in ("taxable", "shipping"),
        "reviews_allowed": extra.get("reviews_allowed", True),
        "average_rating": "0.00",
        "rating_count": 0,
        "related_ids": [],
        "upsell_ids": extra.get("upsell_ids", []),
        "cross_sell_ids": extra.get("cross_sell_ids", []),
        "parent_id": item.parent_id,
        "purchase_note": extra.get("purchase_note", ""),
        "categories": extra.get("categories", []),
        "tags": extra.get("tags", []),
        "images": [],
        "attributes": item.attributes,
        "default_attributes": [],
        "variations": list(item.children) if item.type == "variable" else [],
        "grouped_products": [],
        "has_options": item.type == "variable",
        "post_password": "",
        "_links": links,
    }


def render_variation(catalog: Catalog, item: Product, site: Site) -> Json:
    """WC_REST_Product_Variations_Controller (wc/v3)."""
    base = f"{site.rest}/products/{item.parent_id}"
    return {
        "id": item.id,
        **_dates(site, date_created=item.date_created, date_modified=item.date_modified),
        "permalink": _permalink(catalog, item, site),
        "status": item.status,
        **_common(item, item.price, site),
        "image": None,  # variation images are not modelled; WooCommerce sends null when unset
        "attributes": item.attributes,
        "name": ", ".join(a["option"] for a in item.attributes),
        "parent_id": item.parent_id,
        "_links": _links(
            self=f"{base}/variations/{item.id}", collection=f"{base}/variations", up=base
        ),
    }


def _taxes(taxes: dict[int, Decimal], subtotals: dict[int, Decimal] | None) -> list[Json]:
    """A line's `taxes`: the stored per-rate amounts (unformatted, as WooCommerce keeps
    them), `subtotal` only on product and fee lines."""
    out: list[Json] = []
    for rate_id, amount in taxes.items():
        entry: Json = {"id": rate_id, "total": f"{amount:f}"}
        if subtotals is not None:
            entry["subtotal"] = f"{subtotals.get(rate_id, Decimal(0)):f}"
        out.append(entry)
    return out


def _line_item(item: LineItem, dp: int) -> Json:
    quantity = max(1, abs(item.quantity))
    return {
        "id": item.id,
        "name": item.name,
        "product_id": item.product_id,
        "variation_id": item.variation_id,
        "quantity": item.quantity,
        "tax_class": item.tax_class,
        "subtotal": money_text(item.subtotal, dp),
        "subtotal_tax": money_text(item.subtotal_tax, dp),
        "total": money_text(item.total, dp),
        "total_tax": money_text(item.total_tax, dp),
        "taxes": _taxes(item.taxes, item.subtotal_taxes),
        "meta_data": item.meta_data,
        "sku": item.sku,
        "price": float(item.total / quantity),
        "image": {"id": "", "src": ""},
        "parent_name": item.parent_name,
    }


def render_order(orders: Orders, order: Order, site: Site) -> Json:
    """WC_REST_Orders_Controller (wc/v3), without coupons (a discount is a line whose total
    is below its subtotal, as an admin sets it)."""
    total = order.total
    dp = order.decimals
    discount = sum((i.subtotal - i.total for i in order.line_items), Decimal(0))
    discount_tax = sum((i.subtotal_tax - i.total_tax for i in order.line_items), Decimal(0))
    return {
        "id": order.id,
        "parent_id": order.parent_id,
        "status": order.status,
        "currency": order.currency,
        "version": WC_VERSION,
        "prices_include_tax": order.prices_include_tax,
        **_dates(
            site,
            date_created=order.date_created,
            date_modified=order.date_modified,
            date_completed=order.date_completed,
            date_paid=order.date_paid,
        ),
        "discount_total": money_text(discount, dp),
        "discount_tax": money_text(discount_tax, dp),
        "shipping_total": money_text(order.shipping_total, dp),
        "shipping_tax": money_text(order.shipping_tax, dp),
        "cart_tax": money_text(order.cart_tax, dp),
        "total": money_text(total, dp),
        "total_tax": money_text(order.cart_tax + order.shipping_tax, dp),
        "customer_id": order.customer_id,
        "order_key": order.order_key,
        "billing": dict(order.billing),
        "shipping": dict(order.shipping),
        "payment_method": order.payment_method,
        "payment_method_title": order.payment_method_title,
        "transaction_id": order.transaction_id,
        "customer_ip_address": "",
        "customer_user_agent": "",
        "created_via": "rest-api",
        "customer_note": order.customer_note,
        "cart_hash": "",
        "number": str(order.id),
        "meta_data": order.meta_data,
        "line_items": [_line_item(i, dp) for i in order.line_items],
        "tax_lines": _tax_lines(order),
        "shipping_lines": [_extra(x, dp, shipping=True) for x in order.shipping_lines],
        "fee_lines": [_extra(x, dp, shipping=False) for x in order.fee_lines],
        "coupon_lines": [],
        "refunds": [
            {"id": r.id, "reason": r.reason, "total": money(-r.amount)}
            for r in (orders.refunds.get(i) for i in order.refund_ids)
            if r is not None
        ],
        "payment_url": (
            f"{site.url}/checkout/order-pay/{order.id}/?pay_for_order=true&key={order.order_key}"
        ),
        "is_editable": order.status in ("pending", "on-hold", "auto-draft"),
        "needs_payment": order.status in ("pending", "failed") and total > 0,
        "needs_processing": bool(order.line_items),
        "currency_symbol": unescape(site.currency_symbol),
        "_links": _links(self=f"{site.rest}/orders/{order.id}", collection=f"{site.rest}/orders"),
    }


def _extra(line: Json, dp: int, shipping: bool) -> Json:
    taxes: dict[int, Decimal] = {
        int(k): decimal_of(v) for k, v in (line.get("_taxes") or {}).items()
    }
    base: Json = {
        "total_tax": money_text(sum(taxes.values(), Decimal(0)), dp),
        "taxes": _taxes(taxes, None if shipping else taxes),
        "meta_data": [],
    }
    if shipping:
        base.update(method_title="", method_id="", instance_id="")
    else:
        base.update(name="", tax_class="", tax_status="taxable")
    shown = {k: v for k, v in line.items() if k != "_taxes"}
    shown["total"] = money_text(decimal_of(shown.get("total")), dp)
    return {**base, **shown}


def _tax_lines(order: Order) -> list[Json]:
    """One WC_Order_Item_Tax per rate the order was charged (its data as the REST API
    answers it, `rate_percent` included)."""
    out: list[Json] = []
    for rate_id, item_id in order.tax_items.items():
        rate = order.tax_rates[rate_id]
        items = sum((i.taxes.get(rate_id, Decimal(0)) for i in order.line_items), Decimal(0)) + sum(
            (decimal_of((x.get("_taxes") or {}).get(rate_id)) for x in order.fee_lines),
            Decimal(0),
        )
        shipping = sum(
            (decimal_of((x.get("_taxes") or {}).get(rate_id)) for x in order.shipping_lines),
            Decimal(0),
        )
        out.append(
            {
                "id": item_id,
                "rate_code": rate.code,
                "rate_id": rate_id,
                "label": rate.name,
                "compound": rate.compound,
                "tax_total": money_text(items, order.decimals),
                "shipping_tax_total": money_text(shipping, order.decimals),
                "rate_percent": float(rate.rate),
                "meta_data": [],
            }
        )
    return out


def _refund_line(line: RefundLine, with_refund_total: bool) -> Json:
    item = line.item
    data: Json = {
        "id": line.id,
        "name": item.name,
        "product_id": item.product_id,
        "variation_id": item.variation_id,
        "quantity": -line.quantity,
        "tax_class": "",
        "subtotal": money(-line.refund_total),
        "subtotal_tax": "0.00",
        "total": money(-line.refund_total),
        "total_tax": "0.00",
        "taxes": [],
        "meta_data": [],
        "sku": item.sku,
        "price": float(-line.refund_total / max(1, line.quantity)),
    }
    if with_refund_total:  # 'edit' context only, as create answers
        data["refund_total"] = float(line.refund_total)
    return data


def render_refund(refund: Refund, site: Site, edit: bool = False) -> Json:
    """WC_REST_Order_Refunds_Controller (wc/v3)."""
    base = f"{site.rest}/orders/{refund.order_id}"
    return {
        "id": refund.id,
        **_dates(site, date_created=refund.date_created),
        "amount": money(refund.amount),
        "reason": refund.reason,
        "refunded_by": refund.refunded_by,
        "refunded_payment": refund.refunded_payment,
        "meta_data": refund.meta_data,
        "line_items": [_refund_line(line, edit) for line in refund.line_items],
        "shipping_lines": [],
        "tax_lines": [],
        "fee_lines": [],
        "_links": _links(self=f"{base}/refunds/{refund.id}", collection=f"{base}/refunds", up=base),
    }


def render_webhook(webhook: Webhook, site: Site, edit: bool = False) -> Json:
    """WC_REST_Webhooks_Controller (wc/v3); the secret only in the 'edit' context."""
    data: Json = {
        "id": webhook.id,
        "name": webhook.name,
        "status": webhook.status,
        "topic": webhook.topic,
        "resource": webhook.resource,
        "event": webhook.event,
        "hooks": webhook.hooks,
        "delivery_url": webhook.delivery_url,
        **_dates(site, date_created=webhook.date_created, date_modified=webhook.date_modified),
        "_links": _links(
            self=f"{site.rest}/webhooks/{webhook.id}", collection=f"{site.rest}/webhooks"
        ),
    }
    if edit:
        data["secret"] = webhook.secret
    return data
