"""The Magento emulator as an `EmulatedWebshop`: the shop admin acts through the admin REST
API over HTTP; a customer's checkout goes through the storefront, which has no admin REST
call, so `place_order` books the order in the emulator's state (taking its stock at the
default source) and, when paid, invoices it through `POST /V1/order/{id}/invoice`.

Magento Open Source sends no outgoing webhooks (Adobe Commerce's webhooks are a separate
paid module), so `subscribe_webhooks` subscribes nothing and returns None: orders are
polled by `updated_at`.

A paid (invoiced) order cannot be canceled in Magento (Order::canCancel); a shop admin
refunds it instead. So `cancel_order` of a paid order makes a full offline credit memo
with every item returned to stock, which closes the order (our connector reads "refunded").
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import SecretStr

from emulators.client_tls import CLIENT_TLS
from emulators.control import EmulatorControl
from emulators.demo import DemoProduct
from emulators.magento import DEFAULT_TOKEN, MagentoState, create_magento_app
from emulators.magento_catalog import DEFAULT_SOURCE
from emulators.webshops import Pricing, count_writes
from possync.serving import RunningServer, serve_in_thread
from possync.vendors.magento.config import MagentoConfig

__all__ = ["TOKEN", "MagentoWebshop", "start_magento"]

TOKEN = DEFAULT_TOKEN
Json = dict[str, Any]


class MagentoWebshop:
    """A running Magento emulator with its customers and admin."""

    system = "magento"

    def __init__(
        self, state: MagentoState, server: RunningServer, control: EmulatorControl
    ) -> None:
        self.state = state
        self.server = server
        self.control = control

    def config(self) -> MagentoConfig:
        return MagentoConfig(
            url=self.server.url,
            access_token=SecretStr(TOKEN),
            bulk_poll_seconds=0.05,
            bulk_timeout_seconds=30.0,
        )

    def http(self) -> httpx.Client:
        return httpx.Client(
            base_url=f"{self.server.url}/rest/all/V1",
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=30,
            verify=CLIENT_TLS,
        )

    # -- the admin ----------------------------------------------------------------------

    def stock(self, sku: str) -> int | None:
        quantity = self.state.stock(sku)
        return int(quantity) if quantity is not None else None

    def set_stock(self, sku: str, quantity: int) -> None:
        item = {"sku": sku, "source_code": DEFAULT_SOURCE, "quantity": quantity,
                "status": 1 if quantity > 0 else 0}  # fmt: skip
        with self.http() as http:
            http.post("/inventory/source-items", json={"sourceItems": [item]}).raise_for_status()

    def set_price(self, sku: str, price: Decimal) -> None:
        body = {"product": {"sku": sku, "price": float(price)}}
        with self.http() as http:
            http.put(f"/products/{quote(sku, safe='')}", json=body).raise_for_status()

    def price(self, sku: str) -> Decimal | None:
        with self.http() as http:
            value = http.get(f"/products/{quote(sku, safe='')}").raise_for_status().json()
        price = value.get("price")
        return Decimal(str(price)) if price is not None else None

    # -- customers ----------------------------------------------------------------------

    def place_order(
        self, lines: Mapping[str, int], *, paid: bool = True, pricing: Pricing | None = None
    ) -> str:
        with self.state.lock:
            order = self.state.sales.place(dict(lines), pricing)
        if paid:
            self.pay_order(str(order.entity_id))
        return str(order.entity_id)

    def pay_order(self, order_id: str) -> None:
        with self.http() as http:
            http.post(f"/order/{int(order_id)}/invoice", json={"capture": True}).raise_for_status()

    def cancel_order(self, order_id: str) -> None:
        with self.http() as http:
            canceled = http.post(f"/orders/{int(order_id)}/cancel").raise_for_status().json()
            if canceled is True:
                return
            order = http.get(f"/orders/{int(order_id)}").raise_for_status().json()
            lines = _top_lines(order)
            items = [
                {"order_item_id": x["item_id"], "qty": x["qty_ordered"] - x["qty_refunded"]}
                for x in lines
                if x["qty_ordered"] > x["qty_refunded"]
            ]
            # the rest of the money too, so the order closes (Magento closes on money)
            left = Decimal(str(order["total_paid"])) - Decimal(str(order["total_refunded"]))
            price = {x["item_id"]: Decimal(str(x["price"])) for x in lines}
            goods = sum(
                (price[i["order_item_id"]] * Decimal(str(i["qty"])) for i in items), Decimal(0)
            )
            body = {
                "items": items,
                "arguments": {
                    **_adjustments(left - goods),
                    "extension_attributes": {
                        "return_to_stock_items": [i["order_item_id"] for i in items]
                    },
                },
            }
            http.post(f"/order/{int(order_id)}/refund", json=body).raise_for_status()

    def refund(
        self, order_id: str, lines: Mapping[str, int], amount: Decimal, *, restock: bool = True
    ) -> str:
        with self.http() as http:
            order = http.get(f"/orders/{int(order_id)}").raise_for_status().json()
            by_sku = {x["sku"]: x for x in _top_lines(order)}
            items = [
                {"order_item_id": by_sku[sku]["item_id"], "qty": qty} for sku, qty in lines.items()
            ]
            lines_total = sum(
                (Decimal(str(by_sku[sku]["price"])) * qty for sku, qty in lines.items()),
                Decimal(0),
            )
            arguments: Json = _adjustments(amount - lines_total)
            if restock and items:
                arguments["extension_attributes"] = {
                    "return_to_stock_items": [i["order_item_id"] for i in items]
                }
            body = {"items": items, "arguments": arguments}
            response = http.post(f"/order/{int(order_id)}/refund", json=body)
        return str(response.raise_for_status().json())

    def subscribe_webhooks(self, url: str) -> str | None:
        """Magento Open Source has no outgoing webhooks: nothing to subscribe, no secret."""
        del url
        return None

    def write_calls(self) -> int:
        return count_writes(self.control)

    def stop(self) -> None:
        self.server.stop()
        self.state.close()


def _adjustments(difference: Decimal) -> Json:
    """The refund's money beyond (or short of) its items' prices."""
    return {
        "adjustment_positive": float(max(difference, Decimal(0))),
        "adjustment_negative": float(max(-difference, Decimal(0))),
    }


def _top_lines(order: Json) -> list[Json]:
    return [x for x in order.get("items") or [] if not x.get("parent_item_id")]


def start_magento(
    catalogue: list[DemoProduct],
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    currency: str = "DKK",
) -> MagentoWebshop:
    state = MagentoState(currency=currency)
    state.seed(catalogue)
    app = create_magento_app(state, token=TOKEN)
    return MagentoWebshop(state, serve_in_thread(app, host, port), app.state.control)
