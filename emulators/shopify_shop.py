"""The Shopify emulator as an `EmulatedWebshop`: customers and the shop admin act through
the Admin GraphQL API over HTTP, as a checkout and the Shopify admin would.

- A customer's order is `orderCreate` with `inventoryBehaviour: DECREMENT_IGNORING_POLICY`:
  it draws stock like a checkout and always goes through (as when a product continues
  selling out of stock), so a test's order never fails on the demo's stock. Paid means
  `financialStatus: PAID`, else PENDING until `orderMarkAsPaid`.
- Cancelling is `orderCancel(restock: true, refund: false)`; a refund is `refundCreate`
  with restock type RETURN (or NO_RESTOCK) and a manual refund transaction for the amount.
- Order and refund ids are gids, as our connector names them.
- The admin and checkout use their own app token, whose cost bucket is separate from our
  connector's (as another app's is on a real shop).
- Write calls are the mutations the emulator executed (every GraphQL call is a POST).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import httpx
from pydantic import SecretStr

from emulators.client_tls import CLIENT_TLS
from emulators.control import EmulatorControl
from emulators.demo import DemoProduct
from emulators.shopify import GRAPHQL_PATH, create_shopify_app
from emulators.shopify_state import Bucket, ShopifyState
from emulators.shopify_webhooks import WebhookDispatcher
from emulators.webshops import Pricing, inside, percent_of
from possync.domain.money import minor_units
from possync.serving import RunningServer, serve_in_thread
from possync.vendors.shopify.config import ShopifyConfig

__all__ = ["ShopifyWebshop", "start_shopify"]

TOKEN = "shpat_emulated"  # noqa: S105 - the emulator's demo access token (our connector)
ADMIN_TOKEN = "shpat_emulated_admin"  # noqa: S105 - the shop admin's and checkout's app
WEBHOOK_TOPICS = ("ORDERS_CREATE", "ORDERS_PAID", "ORDERS_CANCELLED", "REFUNDS_CREATE")

CREATE_ORDER = """
mutation CustomerCheckout($order: OrderCreateOrderInput!, $options: OrderCreateOptionsInput) {
  orderCreate(order: $order, options: $options) {
    order { id }
    userErrors { field message code }
  }
}
"""
MARK_PAID = """
mutation AdminMarkPaid($input: OrderMarkAsPaidInput!) {
  orderMarkAsPaid(input: $input) { order { id } userErrors { field message } }
}
"""
CANCEL = """
mutation AdminCancel($id: ID!) {
  orderCancel(orderId: $id, refund: false, restock: true, reason: CUSTOMER) {
    job { id done }
    orderCancelUserErrors { field message code }
  }
}
"""
REFUND = """
mutation AdminRefund($input: RefundInput!) {
  refundCreate(input: $input) { refund { id } userErrors { field message } }
}
"""
ORDER_LINES = """
query AdminOrderLines($id: ID!) {
  order(id: $id) { lineItems(first: 250) { nodes { id sku } } }
}
"""
SET_QUANTITY = """
mutation AdminSetQuantity($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input) { userErrors { field message code } }
}
"""
SET_PRICE = """
mutation AdminSetPrice($productId: ID!, $variants: [ProductVariantsBulkInput!]!) {
  productVariantsBulkUpdate(productId: $productId, variants: $variants) {
    userErrors { field message code }
  }
}
"""
VARIANT = """
query AdminVariant($query: String!, $location: ID!) {
  productVariants(first: 1, query: $query) {
    nodes {
      id price product { id }
      inventoryItem { id inventoryLevel(locationId: $location) {
        quantities(names: ["available"]) { name quantity } } }
    }
  }
}
"""
SUBSCRIBE = """
mutation AdminSubscribe($topic: WebhookSubscriptionTopic!, $sub: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $sub) {
    webhookSubscription { id }
    userErrors { field message }
  }
}
"""


class ShopifyAdminError(RuntimeError):
    """The emulator refused an admin or customer action (a userError or GraphQL error)."""


class ShopifyWebshop:
    """A running Shopify emulator with its customers and admin."""

    system = "shopify"

    def __init__(
        self,
        state: ShopifyState,
        server: RunningServer,
        control: EmulatorControl,
        webhooks: WebhookDispatcher,
        webhook_secret: str,
    ) -> None:
        self.state = state
        self.server = server
        self.control = control
        self.webhooks = webhooks
        self.webhook_secret = webhook_secret

    def config(self) -> ShopifyConfig:
        return ShopifyConfig(
            shop_url=self.server.url,
            access_token=SecretStr(TOKEN),
            location_id=self.state.default_location,
        )

    def gql(self, document: str, variables: Mapping[str, Any], field: str) -> Any:
        """Run one admin document and return `data[field]`; raise on any error."""
        with httpx.Client(
            base_url=self.server.url,
            headers={"X-Shopify-Access-Token": ADMIN_TOKEN},
            timeout=30,
            verify=CLIENT_TLS,
        ) as http:
            body = http.post(GRAPHQL_PATH, json={"query": document, "variables": variables})
            answer = body.raise_for_status().json()
        if answer.get("errors"):
            raise ShopifyAdminError(str(answer["errors"]))
        result = answer["data"][field]
        errors = (result or {}).get("userErrors") or (result or {}).get("orderCancelUserErrors")
        if errors:
            raise ShopifyAdminError(str(errors))
        return result

    def _variant(self, sku: str) -> dict[str, Any]:
        variables = {"query": f'sku:"{sku}"', "location": self.state.default_location}
        nodes = self.gql(VARIANT, variables, "productVariants")["nodes"]
        if not nodes:
            raise KeyError(f"no variant with SKU {sku!r}")
        return dict(nodes[0])

    # -- the admin ----------------------------------------------------------------------

    def stock(self, sku: str) -> int | None:
        level = self._variant(sku)["inventoryItem"]["inventoryLevel"]
        if level is None:
            return None
        return next((q["quantity"] for q in level["quantities"]), None)

    def set_stock(self, sku: str, quantity: int) -> None:
        item = self._variant(sku)["inventoryItem"]["id"]
        entry = {
            "inventoryItemId": item,
            "locationId": self.state.default_location,
            "quantity": quantity,
        }
        variables = {
            "input": {
                "name": "available",
                "reason": "correction",
                "ignoreCompareQuantity": True,
                "quantities": [entry],
            }
        }
        self.gql(SET_QUANTITY, variables, "inventorySetQuantities")

    def set_price(self, sku: str, price: Decimal) -> None:
        variant = self._variant(sku)
        variables = {
            "productId": variant["product"]["id"],
            "variants": [{"id": variant["id"], "price": f"{price:f}"}],
        }
        self.gql(SET_PRICE, variables, "productVariantsBulkUpdate")

    def price(self, sku: str) -> Decimal | None:
        value = self._variant(sku).get("price")
        return Decimal(value) if value is not None else None

    # -- customers and orders -----------------------------------------------------------

    def place_order(
        self, lines: Mapping[str, int], *, paid: bool = True, pricing: Pricing | None = None
    ) -> str:
        """`orderCreate` as a checkout calls it. With `pricing` the checkout charges the VAT
        itself (tax lines on each line and on shipping, taxes included or not) and the
        discount is a percentage discount code, which Shopify allocates to the lines."""
        items: list[dict[str, Any]] = []
        for sku, quantity in lines.items():
            variant = self._variant(sku)
            item: dict[str, Any] = {"variantId": variant["id"], "quantity": quantity}
            if pricing is not None and (rate := pricing.vat.get(sku, Decimal(0))):
                gross = Decimal(str(variant["price"])) * quantity
                paid_for = gross - percent_of(gross, pricing.discount_percent, self._dp)
                item["taxLines"] = [self._tax(paid_for, rate, pricing)]
            items.append(item)
        order: dict[str, Any] = {
            "currency": self.state.currency,
            "financialStatus": "PAID" if paid else "PENDING",
            "lineItems": items,
        }
        if pricing is not None:
            order["taxesIncluded"] = pricing.prices_include_tax
            if pricing.discount_percent:
                order["discountCode"] = {
                    "itemPercentageDiscountCode": {
                        "code": "WEB",
                        "percentage": float(pricing.discount_percent),
                    }
                }
            if pricing.shipping is not None:
                price = pricing.shipping
                taxes = []
                if pricing.shipping_vat:
                    tax = percent_of(price, pricing.shipping_vat, self._dp)
                    price += tax if pricing.prices_include_tax else Decimal(0)
                    taxes = [self._tax_line(tax, pricing.shipping_vat)]
                order["shippingLines"] = [
                    {
                        "title": "Standard",
                        "code": "standard",
                        "priceSet": self._money(price),
                        "taxLines": taxes,
                    }
                ]
        variables = {"order": order, "options": {"inventoryBehaviour": "DECREMENT_IGNORING_POLICY"}}
        return str(self.gql(CREATE_ORDER, variables, "orderCreate")["order"]["id"])

    @property
    def _dp(self) -> int:
        return minor_units(self.state.currency)

    def _money(self, amount: Decimal) -> dict[str, Any]:
        return {"shopMoney": {"amount": f"{amount:f}", "currencyCode": self.state.currency}}

    def _tax(self, paid_for: Decimal, rate: Decimal, pricing: Pricing) -> dict[str, Any]:
        """The VAT on what a line costs after its discount, as the checkout computes it."""
        if pricing.prices_include_tax:
            return self._tax_line(inside(paid_for, rate, self._dp), rate)
        return self._tax_line(percent_of(paid_for, rate, self._dp), rate)

    def _tax_line(self, amount: Decimal, rate: Decimal) -> dict[str, Any]:
        return {"title": "VAT", "rate": f"{rate / 100}", "priceSet": self._money(amount)}

    def pay_order(self, order_id: str) -> None:
        self.gql(MARK_PAID, {"input": {"id": order_id}}, "orderMarkAsPaid")

    def cancel_order(self, order_id: str) -> None:
        self.gql(CANCEL, {"id": order_id}, "orderCancel")

    def refund(
        self, order_id: str, lines: Mapping[str, int], amount: Decimal, *, restock: bool = True
    ) -> str:
        order = self.gql(ORDER_LINES, {"id": order_id}, "order")
        by_sku = {line["sku"]: line["id"] for line in order["lineItems"]["nodes"]}
        refund_lines = [
            {
                "lineItemId": by_sku[sku],
                "quantity": quantity,
                "restockType": "RETURN" if restock else "NO_RESTOCK",
                "locationId": self.state.default_location,
            }
            for sku, quantity in lines.items()
        ]
        data: dict[str, Any] = {"orderId": order_id, "refundLineItems": refund_lines}
        if amount > 0:
            data["transactions"] = [
                {
                    "orderId": order_id,
                    "amount": f"{amount:.2f}",
                    "gateway": "manual",
                    "kind": "REFUND",
                }
            ]
        return str(self.gql(REFUND, {"input": data}, "refundCreate")["refund"]["id"])

    def subscribe_webhooks(self, url: str) -> str | None:
        """Subscriptions to orders/create, orders/paid, orders/cancelled and refunds/create
        at `url`; returns the app's client secret, which Shopify signs deliveries with."""
        for topic in WEBHOOK_TOPICS:
            variables = {"topic": topic, "sub": {"callbackUrl": url, "format": "JSON"}}
            self.gql(SUBSCRIBE, variables, "webhookSubscriptionCreate")
        return self.webhook_secret

    def write_calls(self) -> int:
        return self.state.mutations

    def stop(self) -> None:
        self.server.stop()
        self.webhooks.close()


def start_shopify(
    catalogue: list[DemoProduct],
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    currency: str = "DKK",
    webhook_secret: str = "shpss_emulated",  # noqa: S107 - the emulator's demo client secret
    bucket: Bucket | None = None,
) -> ShopifyWebshop:
    """Start a Shopify emulator seeded with `catalogue` (Standard-plan bucket by default)."""
    state = ShopifyState(bucket=bucket, currency=currency)
    state.seed(catalogue)
    app = create_shopify_app(
        state, access_token=TOKEN, webhook_secret=webhook_secret, admin_token=ADMIN_TOKEN
    )
    server = serve_in_thread(app, host=host, port=port)
    return ShopifyWebshop(state, server, app.state.control, app.state.webhooks, webhook_secret)
