"""The WooCommerce emulator as an `EmulatedWebshop`: customers and the shop admin act
through the REST API wc/v3 over HTTP, as a storefront and WP admin would."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import httpx
from pydantic import SecretStr

from emulators.client_tls import CLIENT_TLS
from emulators.control import EmulatorControl
from emulators.demo import DemoProduct
from emulators.webshops import Pricing, count_writes, inside, percent_of
from emulators.woocommerce import WooState, create_woocommerce_app
from emulators.woocommerce_params import price_text
from possync.domain.money import minor_units
from possync.serving import RunningServer, serve_in_thread
from possync.vendors.woocommerce.config import WooCommerceConfig

CK, CS = "ck_demo", "cs_demo"  # the emulator's documented demo key
ORDER_TOPICS = ("order.created", "order.updated")
# The tax classes a VAT rate is given, in this order (WooCommerce's built-in classes).
RATE_CLASSES = ("standard", "reduced-rate")


class WooCommerceWebshop:
    """A running WooCommerce emulator with its customers and admin."""

    system = "woocommerce"

    def __init__(self, state: WooState, server: RunningServer, control: EmulatorControl) -> None:
        self.state = state
        self.server = server
        self.control = control

    def config(self) -> WooCommerceConfig:
        return WooCommerceConfig(
            url=self.server.url, consumer_key=SecretStr(CK), consumer_secret=SecretStr(CS)
        )

    def http(self) -> httpx.Client:
        return httpx.Client(
            base_url=f"{self.server.url}/wp-json/wc/v3",
            auth=(CK, CS),
            timeout=30,
            verify=CLIENT_TLS,
        )

    # -- the admin ----------------------------------------------------------------------

    def _path(self, sku: str) -> str:
        """The REST path of the product or variation holding this SKU."""
        item_id = self.state.id_for_sku(sku)
        product = self.state.product_json(item_id)
        parent = product.get("parent_id")
        if parent:
            return f"/products/{parent}/variations/{item_id}"
        return f"/products/{item_id}"

    def stock(self, sku: str) -> int | None:
        return self.state.stock(self.state.id_for_sku(sku))

    def set_stock(self, sku: str, quantity: int) -> None:
        body = {"manage_stock": True, "stock_quantity": quantity}
        with self.http() as http:
            http.put(self._path(sku), json=body).raise_for_status()

    def set_price(self, sku: str, price: Decimal) -> None:
        with self.http() as http:
            http.put(self._path(sku), json={"regular_price": price_text(price)}).raise_for_status()

    def price(self, sku: str) -> Decimal | None:
        with self.http() as http:
            value = http.get(self._path(sku)).raise_for_status().json().get("regular_price")
        return Decimal(value) if value else None

    # -- customers ----------------------------------------------------------------------

    def place_order(
        self, lines: Mapping[str, int], *, paid: bool = True, pricing: Pricing | None = None
    ) -> str:
        """The order through POST /orders. With `pricing`, the admin first sets up the VAT
        (a tax rate per class, each product's tax class, "prices entered with tax"), and a
        discount is the line's total below its subtotal, as WooCommerce stores a coupon's
        effect (totals without tax)."""
        items = []
        with self.http() as http:
            classes = self._tax_classes(http, pricing) if pricing else {}
            for sku, quantity in lines.items():
                item_id = self.state.id_for_sku(sku)
                product = self.state.product_json(item_id)
                if product.get("parent_id"):
                    item = {"product_id": product["parent_id"], "variation_id": item_id}
                else:
                    item = {"product_id": item_id}
                item = {**item, "quantity": quantity}
                if pricing is not None:
                    rate = pricing.vat.get(sku, Decimal(0))
                    tax_class = classes.get(rate, "zero-rate")
                    if product.get("tax_class") != tax_class:
                        http.put(self._path(sku), json={"tax_class": tax_class}).raise_for_status()
                    if pricing.discount_percent:
                        item.update(_discounted(product, quantity, rate, pricing, self._dp))
                items.append(item)
            body: dict[str, Any] = {
                "status": "processing" if paid else "pending",
                "line_items": items,
                "payment_method": "stripe",
            }
            if pricing is not None and pricing.shipping is not None:
                body["shipping_lines"] = [
                    {
                        "method_id": "flat_rate",
                        "method_title": "Flat rate",
                        "total": f"{pricing.shipping:f}",
                    }
                ]
            return str(http.post("/orders", json=body).raise_for_status().json()["id"])

    @property
    def _dp(self) -> int:
        return minor_units(self.state.orders.currency)

    def _tax_classes(self, http: httpx.Client, pricing: Pricing) -> dict[Decimal, str]:
        """VAT rate -> the tax class holding it, adding the rates the shop lacks; shipping
        is taxed by the standard class. The demo shop has two classes with a rate."""
        self.state.set_prices_include_tax(pricing.prices_include_tax)
        existing = http.get("/taxes", params={"per_page": "100"}).raise_for_status().json()
        classes = {Decimal(t["rate"]): t["class"] for t in existing}
        wanted = sorted({r for r in pricing.vat.values() if r} - set(classes))
        if pricing.shipping_vat and pricing.shipping_vat not in classes:
            wanted = [pricing.shipping_vat, *[r for r in wanted if r != pricing.shipping_vat]]
        free = [c for c in RATE_CLASSES if c not in classes.values()]
        if len(wanted) > len(free):
            raise ValueError(f"the emulated shop holds {len(RATE_CLASSES)} VAT rates, not more")
        for rate, tax_class in zip(wanted, free, strict=False):
            body = {
                "rate": f"{rate:.4f}",
                "name": "VAT",
                "class": tax_class,
                "shipping": tax_class == "standard",
            }
            http.post("/taxes", json=body).raise_for_status()
            classes[rate] = tax_class
        if pricing.shipping_vat and classes[pricing.shipping_vat] != "standard":
            raise ValueError("shipping is taxed at the standard class's rate")
        return classes

    def set_status(self, order_id: str, status: str) -> None:
        with self.http() as http:
            http.put(f"/orders/{order_id}", json={"status": status}).raise_for_status()

    def pay_order(self, order_id: str) -> None:
        self.set_status(order_id, "processing")

    def cancel_order(self, order_id: str) -> None:
        self.set_status(order_id, "cancelled")

    def refund(
        self, order_id: str, lines: Mapping[str, int], amount: Decimal, *, restock: bool = True
    ) -> str:
        with self.http() as http:
            order = http.get(f"/orders/{order_id}").raise_for_status().json()
            by_sku = {item["sku"]: item for item in order["line_items"]}
            items = [
                {
                    "id": by_sku[sku]["id"],
                    "quantity": quantity,
                    "refund_total": str(Decimal(by_sku[sku]["price"]) * quantity),
                }
                for sku, quantity in lines.items()
            ]
            body = {
                "amount": f"{amount:.2f}",
                "line_items": items,
                "api_refund": False,
                "api_restock": restock,
            }
            response = http.post(f"/orders/{order_id}/refunds", json=body)
        return str(response.raise_for_status().json()["id"])

    def subscribe_webhooks(self, url: str) -> str | None:
        """Webhooks for order.created and order.updated to `url`, signed with a new secret
        (WooCommerce lets the shop choose it); returns that secret."""
        secret = secrets.token_urlsafe(24)
        with self.http() as http:
            for topic in ORDER_TOPICS:
                body = {
                    "name": f"possync {topic}",
                    "topic": topic,
                    "delivery_url": url,
                    "secret": secret,
                    "status": "active",
                }
                http.post("/webhooks", json=body).raise_for_status()
        return secret

    def write_calls(self) -> int:
        return count_writes(self.control)

    def stop(self) -> None:
        self.server.stop()
        self.state.close()


def start_woocommerce(
    catalogue: list[DemoProduct],
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    currency: str = "DKK",
) -> WooCommerceWebshop:
    state = WooState(currency=currency)
    state.seed(catalogue)
    app = create_woocommerce_app(state, consumer_key=CK, consumer_secret=CS)
    return WooCommerceWebshop(state, serve_in_thread(app, host, port), app.state.control)


def _discounted(
    product: Mapping[str, Any], quantity: int, rate: Decimal, pricing: Pricing, dp: int
) -> dict[str, str]:
    """A line's subtotal and total without tax once the discount is taken off: what a
    percentage coupon leaves of the catalogue price (with tax taken out first when the
    shop's prices include it)."""
    gross = Decimal(str(product["price"])) * quantity
    paid = gross - percent_of(gross, pricing.discount_percent, dp)
    if pricing.prices_include_tax:
        return {
            "subtotal": f"{gross - inside(gross, rate, dp):f}",
            "total": f"{paid - inside(paid, rate, dp):f}",
        }
    return {"subtotal": f"{gross:f}", "total": f"{paid:f}"}
