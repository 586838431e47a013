"""An emulated shop for flow tests: Square and WooCommerce on real loopback sockets, the
Blocks pointing at them, and helpers that act like a cashier or a shop admin."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import httpx
from pydantic import SecretStr

from blocks import SquareCredentials, SyncSettings, WooCommerceCredentials
from possync.emulators.control import EmulatorControl
from possync.emulators.demo import DemoProduct
from possync.emulators.server import RunningServer, serve_in_thread
from possync.emulators.square import SquareState, create_square_app
from possync.emulators.woocommerce import WooState, create_woocommerce_app

TOKEN = "sq-test-token"
LOCATION = "L-TEST"
CK, CS = "ck_test", "cs_test"


@dataclass
class EmulatedShop:
    square: SquareState
    woo: WooState
    square_server: RunningServer
    woo_server: RunningServer
    square_control: EmulatorControl
    woo_control: EmulatorControl

    def sell_at_pos(self, sku: str, quantity: int) -> None:
        """A cashier rings up a sale: Square inventory adjustment IN_STOCK → SOLD."""
        self._adjust(sku, "IN_STOCK", "SOLD", quantity)

    def square_restock(self, sku: str, quantity: int) -> None:
        """Goods received at the register: adjustment NONE → IN_STOCK."""
        self._adjust(sku, "NONE", "IN_STOCK", quantity)

    def _adjust(self, sku: str, from_state: str, to_state: str, quantity: int) -> None:
        change = {
            "type": "ADJUSTMENT",
            "adjustment": {
                "catalog_object_id": self.square.variation_id_for_sku(sku),
                "location_id": LOCATION,
                "from_state": from_state,
                "to_state": to_state,
                "quantity": str(quantity),
                "occurred_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
            },
        }
        httpx.post(
            f"{self.square_server.url}/v2/inventory/changes/batch-create",
            headers={"Authorization": f"Bearer {TOKEN}"},
            json={"idempotency_key": str(uuid.uuid4()), "changes": [change]},
        ).raise_for_status()

    # -- the webshop's customers and admin ----------------------------------------------

    def _woo(self) -> httpx.Client:
        return httpx.Client(base_url=f"{self.woo_server.url}/wp-json/wc/v3", auth=(CK, CS))

    def web_order(self, lines: dict[str, int], status: str = "processing") -> str:
        """A customer orders these SKUs; `processing` means paid."""
        items = []
        for sku, quantity in lines.items():
            item_id = self.woo.id_for_sku(sku)
            product = self.woo.product_json(item_id)
            if product.get("type") == "variation" or product.get("parent_id"):
                item = {"product_id": product["parent_id"], "variation_id": item_id}
            else:
                item = {"product_id": item_id}
            items.append({**item, "quantity": quantity})
        body = {"status": status, "line_items": items, "payment_method": "stripe"}
        with self._woo() as http:
            response = http.post("/orders", json=body)
        response.raise_for_status()
        return str(response.json()["id"])

    def set_order_status(self, order_id: str, status: str) -> None:
        with self._woo() as http:
            http.put(f"/orders/{order_id}", json={"status": status}).raise_for_status()

    def refund(
        self, order_id: str, lines: dict[str, int], amount: str, restock: bool = True
    ) -> str:
        """The shop admin refunds `lines` (SKU → quantity) and `amount` of an order."""
        with self._woo() as http:
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
                "amount": amount,
                "line_items": items,
                "api_refund": False,
                "api_restock": restock,
            }
            response = http.post(f"/orders/{order_id}/refunds", json=body)
        response.raise_for_status()
        return str(response.json()["id"])

    def pos_orders(self) -> list[dict[str, object]]:
        """Every order in the POS (SearchOrders), oldest first."""
        found: list[dict[str, object]] = []
        cursor = None
        with httpx.Client(
            base_url=self.square_server.url, headers={"Authorization": f"Bearer {TOKEN}"}
        ) as http:
            while True:
                body: dict[str, object] = {"location_ids": [LOCATION], "limit": 500}
                if cursor:
                    body["cursor"] = cursor
                page = http.post("/v2/orders/search", json=body).raise_for_status().json()
                found += page.get("orders") or []
                cursor = page.get("cursor")
                if not cursor:
                    return found

    def pos_payments(self) -> int:
        """Payments the register has taken (each completes one sale)."""
        return len(self.square.sales.payments)

    def pos_count(self, sku: str) -> Decimal:
        return self.square.count(self.square.variation_id_for_sku(sku))

    def web_stock(self, sku: str) -> int | None:
        return self.woo.stock(self.woo.id_for_sku(sku))

    def woo_writes(self) -> int:
        """Write calls the webshop has received (POST/PUT/PATCH/DELETE)."""
        return sum(
            n
            for key, n in self.woo_control.counts.items()
            if key.split(" ")[0] in {"POST", "PUT", "PATCH", "DELETE"}
        )

    def stop(self) -> None:
        self.square_server.stop()
        self.woo_server.stop()


def start_shop(
    catalogue: list[DemoProduct], pos_only: list[DemoProduct] | None = None
) -> EmulatedShop:
    square = SquareState(location_id=LOCATION)
    square.seed(catalogue + (pos_only or []))
    woo = WooState(currency="DKK")
    woo.seed(catalogue)
    square_app = create_square_app(square, access_token=TOKEN)
    woo_app = create_woocommerce_app(woo, consumer_key=CK, consumer_secret=CS)
    return EmulatedShop(
        square,
        woo,
        serve_in_thread(square_app),
        serve_in_thread(woo_app),
        square_app.state.control,
        woo_app.state.control,
    )


def save_blocks(shop: EmulatedShop, overlap_seconds: float = 0.0) -> None:
    SquareCredentials(
        base_url=shop.square_server.url, access_token=SecretStr(TOKEN), location_id=LOCATION
    ).save("possync-square", overwrite=True)
    WooCommerceCredentials(
        url=shop.woo_server.url, consumer_key=SecretStr(CK), consumer_secret=SecretStr(CS)
    ).save("possync-woocommerce", overwrite=True)
    SyncSettings(stock_overlap_seconds=overlap_seconds).save("possync-settings", overwrite=True)


def running_shop(
    catalogue: list[DemoProduct], pos_only: list[DemoProduct] | None = None
) -> Iterator[EmulatedShop]:
    shop = start_shop(catalogue, pos_only)
    try:
        save_blocks(shop)
        yield shop
    finally:
        shop.stop()
