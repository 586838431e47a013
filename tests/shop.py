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
    woo = WooState()
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


def save_blocks(shop: EmulatedShop) -> None:
    SquareCredentials(
        base_url=shop.square_server.url, access_token=SecretStr(TOKEN), location_id=LOCATION
    ).save("possync-square", overwrite=True)
    WooCommerceCredentials(
        url=shop.woo_server.url, consumer_key=SecretStr(CK), consumer_secret=SecretStr(CS)
    ).save("possync-woocommerce", overwrite=True)
    SyncSettings(stock_overlap_seconds=0).save("possync-settings", overwrite=True)


def running_shop(
    catalogue: list[DemoProduct], pos_only: list[DemoProduct] | None = None
) -> Iterator[EmulatedShop]:
    shop = start_shop(catalogue, pos_only)
    try:
        save_blocks(shop)
        yield shop
    finally:
        shop.stop()
