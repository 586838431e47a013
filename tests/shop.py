"""An emulated shop for flow tests: Square and a webshop (WooCommerce, Shopify or Magento 2)
on real loopback sockets, the Blocks pointing at them, and helpers that act like a cashier
or a shop admin."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import httpx
from pydantic import SecretStr

from blocks import SquareCredentials, SyncSettings, credentials_for
from emulators.control import EmulatorControl
from emulators.demo import DemoProduct
from emulators.magento_shop import MagentoWebshop
from emulators.shopify_shop import ShopifyWebshop
from emulators.square import SquareState, create_square_app
from emulators.webshops import EmulatedWebshop, Pricing, start_webshop
from emulators.woocommerce import WooState
from emulators.woocommerce_shop import CK, CS, WooCommerceWebshop
from possync.domain.references import fit_reference, order_reference
from possync.planning.orders import order_key
from possync.serving import RunningServer, serve_in_thread
from possync.vendors.square.pos import REFERENCE_ID_MAX

__all__ = [
    "CK",
    "CS",
    "LOCATION",
    "TOKEN",
    "Charged",
    "EmulatedShop",
    "running_shop",
    "save_blocks",
    "web_charged",
]

TOKEN = "sq-test-token"
LOCATION = "L-TEST"


@dataclass(frozen=True)
class Charged:
    """A web order's money as its webshop answers it: the total the customer paid, all of
    its VAT, and the VAT per rate (percent -> amount, lines and shipping together)."""

    total: Decimal
    tax: Decimal
    tax_by_rate: dict[Decimal, Decimal]


def _add(into: dict[Decimal, Decimal], rate: object, amount: object) -> None:
    key = Decimal(str(rate)).normalize()
    into[key] = into.get(key, Decimal(0)) + Decimal(str(amount))


_SHOPIFY_CHARGED = """
query TestCharged($id: ID!) {
  order(id: $id) {
    totalPriceSet { shopMoney { amount } }
    totalTaxSet { shopMoney { amount } }
    lineItems(first: 50) { nodes { taxLines { rate priceSet { shopMoney { amount } } } } }
    shippingLines(first: 5) {
      nodes { taxLines { rate priceSet { shopMoney { amount } } } }
    }
  }
}
"""


def web_charged(web: EmulatedWebshop, order_id: str) -> Charged:
    """Read through each vendor's own fields (WooCommerce tax_lines, Shopify taxLines,
    Magento item_applied_taxes), not through our connectors."""
    by_rate: dict[Decimal, Decimal] = {}
    if isinstance(web, ShopifyWebshop):
        order = web.gql(_SHOPIFY_CHARGED, {"id": order_id}, "order")
        lines = order["lineItems"]["nodes"] + order["shippingLines"]["nodes"]
        for line in lines:
            for tax in line["taxLines"]:
                _add(
                    by_rate, Decimal(str(tax["rate"])) * 100, tax["priceSet"]["shopMoney"]["amount"]
                )
        total = Decimal(order["totalPriceSet"]["shopMoney"]["amount"])
        tax_total = Decimal(order["totalTaxSet"]["shopMoney"]["amount"])
        return Charged(total, tax_total, by_rate)
    if isinstance(web, MagentoWebshop):
        with web.http() as http:
            found = http.get(f"/orders/{int(order_id)}").raise_for_status().json()
        for item in found["extension_attributes"]["item_applied_taxes"]:
            for tax in item["applied_taxes"]:
                _add(by_rate, tax["percent"], tax["amount"])
        return Charged(
            Decimal(str(found["grand_total"])), Decimal(str(found["tax_amount"])), by_rate
        )
    assert isinstance(web, WooCommerceWebshop)
    with web.http() as http:
        found = http.get(f"/orders/{order_id}").raise_for_status().json()
    for line in found["tax_lines"]:
        _add(
            by_rate,
            line["rate_percent"],
            Decimal(line["tax_total"]) + Decimal(line["shipping_tax_total"]),
        )
    return Charged(Decimal(found["total"]), Decimal(found["total_tax"]), by_rate)


@dataclass
class EmulatedShop:
    """Square and one webshop (`web`, any of the three); `woo*` are the WooCommerce
    emulator's parts for the tests that are about WooCommerce itself."""

    square: SquareState
    square_server: RunningServer
    square_control: EmulatorControl
    web: EmulatedWebshop

    @property
    def woo(self) -> WooState:
        assert isinstance(self.web, WooCommerceWebshop), "a WooCommerce-only test"
        return self.web.state

    @property
    def woo_server(self) -> RunningServer:
        return self.web.server

    @property
    def woo_control(self) -> EmulatorControl:
        return self.web.control

    def sell_at_pos(self, sku: str, quantity: int) -> None:
        """A cashier rings up a sale: Square inventory adjustment IN_STOCK → SOLD."""
        self._adjust(sku, "IN_STOCK", "SOLD", quantity)

    def square_restock(self, sku: str, quantity: int) -> None:
        """Goods received at the register: adjustment NONE → IN_STOCK."""
        self._adjust(sku, "NONE", "IN_STOCK", quantity)

    def count_at_pos(self, sku: str, quantity: str) -> None:
        """A stocktake at the register: PHYSICAL_COUNT of `quantity` (Square's decimal
        string, up to 26 characters) IN_STOCK."""
        self._change(
            {
                "type": "PHYSICAL_COUNT",
                "physical_count": {
                    "catalog_object_id": self.square.variation_id_for_sku(sku),
                    "location_id": LOCATION,
                    "state": "IN_STOCK",
                    "quantity": quantity,
                    "occurred_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
                },
            }
        )

    def _adjust(self, sku: str, from_state: str, to_state: str, quantity: int) -> None:
        self._change(
            {
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
        )

    def _change(self, change: dict[str, object]) -> None:
        httpx.post(
            f"{self.square_server.url}/v2/inventory/changes/batch-create",
            headers={"Authorization": f"Bearer {TOKEN}"},
            json={"idempotency_key": str(uuid.uuid4()), "changes": [change]},
        ).raise_for_status()

    # -- the webshop's customers and admin ----------------------------------------------

    def web_order(
        self, lines: dict[str, int], status: str = "processing", pricing: Pricing | None = None
    ) -> str:
        """A customer orders these SKUs; `processing` means paid (WooCommerce's word;
        `pending` leaves it unpaid, on any webshop)."""
        if self.web.system == "woocommerce" and status not in {"processing", "pending"}:
            order_id = self.web.place_order(lines, paid=False, pricing=pricing)
            self.set_order_status(order_id, status)
            return order_id
        return self.web.place_order(lines, paid=status != "pending", pricing=pricing)

    def web_charged(self, order_id: str) -> Charged:
        """What the webshop charged for the order, read raw from its own API."""
        return web_charged(self.web, order_id)

    def set_order_status(self, order_id: str, status: str) -> None:
        """WooCommerce words: processing pays the order, cancelled cancels it."""
        if status == "processing":
            self.web.pay_order(order_id)
        elif status == "cancelled":
            self.web.cancel_order(order_id)
        else:
            assert isinstance(self.web, WooCommerceWebshop), f"status {status} is WooCommerce's"
            self.web.set_status(order_id, status)

    def refund(
        self, order_id: str, lines: dict[str, int], amount: str, restock: bool = True
    ) -> str:
        """The shop admin refunds `lines` (SKU → quantity) and `amount` of an order."""
        return self.web.refund(order_id, lines, Decimal(amount), restock=restock)

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

    def pos_reference(self, order_id: str) -> str:
        """The reference_id Square holds for a web order: the readable one where it fits the
        field, else the order's ledger key (`possync.domain.references`)."""
        system = self.web.system
        reference = order_reference(system, order_id)
        return fit_reference(reference, order_key(system, order_id), REFERENCE_ID_MAX)

    def pos_payments(self) -> int:
        """Payments the register has taken (each completes one sale)."""
        return len(self.square.sales.payments)

    def pos_count(self, sku: str) -> Decimal:
        return self.square.count(self.square.variation_id_for_sku(sku))

    def web_stock(self, sku: str) -> int | None:
        return self.web.stock(sku)

    def web_writes(self) -> int:
        """Write calls the webshop has received."""
        return self.web.write_calls()

    def stop(self) -> None:
        self.square_server.stop()
        self.web.stop()


def start_shop(
    catalogue: list[DemoProduct],
    pos_only: list[DemoProduct] | None = None,
    webshop: str = "woocommerce",
    currency: str = "DKK",
    web_only: list[DemoProduct] | None = None,
) -> EmulatedShop:
    """Square (its location in `currency`) and the webshop (selling in it too), both with
    `catalogue`, plus what only one of them holds."""
    square = SquareState(location_id=LOCATION, currency=currency)
    square.seed(catalogue + (pos_only or []))
    square_app = create_square_app(square, access_token=TOKEN)
    square_server = serve_in_thread(square_app)
    try:
        web = start_webshop(webshop, catalogue + (web_only or []), currency=currency)
    except BaseException:
        square_server.stop()
        raise
    return EmulatedShop(square, square_server, square_app.state.control, web)


def save_blocks(shop: EmulatedShop, overlap_seconds: float = 0.0) -> None:
    SquareCredentials(
        base_url=shop.square_server.url, access_token=SecretStr(TOKEN), location_id=LOCATION
    ).save("possync-square", overwrite=True)
    credentials_for(shop.web.config()).save(f"possync-{shop.web.system}", overwrite=True)
    SyncSettings(stock_overlap_seconds=overlap_seconds, webshop=shop.web.system).save(
        "possync-settings", overwrite=True
    )


def running_shop(
    catalogue: list[DemoProduct],
    pos_only: list[DemoProduct] | None = None,
    webshop: str = "woocommerce",
    currency: str = "DKK",
    web_only: list[DemoProduct] | None = None,
) -> Iterator[EmulatedShop]:
    shop = start_shop(catalogue, pos_only, webshop, currency, web_only)
    try:
        save_blocks(shop)
        yield shop
    finally:
        shop.stop()
