"""Every emulated webshop behind one face, so tests, benchmarks and `make run` start and
drive WooCommerce, Shopify or Magento 2 by name.

A shop's customers and admins act through the vendor's own API over HTTP (raw requests,
not our connectors), except where the vendor's admin API has no such call (a Magento
customer's checkout goes through the storefront, so the adapter books it in the state).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from importlib import import_module
from typing import Protocol

from emulators.control import EmulatorControl
from emulators.demo import DemoProduct
from possync.domain.config import FrozenConfig
from possync.serving import RunningServer

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class Pricing:
    """How a customer's order is priced beyond SKUs and quantities: the shop's VAT, a
    discount and shipping. Each webshop sets it up and charges it its own way (WooCommerce
    tax classes and rates, Shopify tax lines and a discount code, Magento's totals), so
    what our connectors read is each vendor's own shape of it."""

    vat: Mapping[str, Decimal] = field(default_factory=dict)
    """SKU -> VAT rate in percent; SKUs not listed are not taxed."""
    discount_percent: Decimal = Decimal(0)
    """A discount on every line (a coupon or discount code), in percent."""
    prices_include_tax: bool = False
    """The shop's catalogue prices include VAT (else VAT is added on top)."""
    shipping: Decimal | None = None
    """Shipping charged, before VAT."""
    shipping_vat: Decimal = Decimal(0)
    """VAT rate on shipping, in percent."""


def percent_of(amount: Decimal, rate: Decimal, decimals: int) -> Decimal:
    """`rate` percent of `amount`, rounded half up to the currency's decimals (how a
    storefront in the emulators rounds a tax or a discount)."""
    return (amount * rate / 100).quantize(Decimal(1).scaleb(-decimals), ROUND_HALF_UP)


def inside(gross: Decimal, rate: Decimal, decimals: int) -> Decimal:
    """The VAT at `rate` percent inside a price that includes it, rounded half up."""
    return (gross * rate / (100 + rate)).quantize(Decimal(1).scaleb(-decimals), ROUND_HALF_UP)


class EmulatedWebshop(Protocol):
    """One running webshop emulator with the shop's customers and admin at hand."""

    system: str  # the connector's name: "woocommerce", "shopify", "magento"
    server: RunningServer
    control: EmulatorControl

    def config(self) -> FrozenConfig:
        """How our connector reaches this emulator (address and credentials)."""
        ...

    def stock(self, sku: str) -> int | None:
        """The stock the webshop shows for this SKU (None: not managed)."""
        ...

    def set_stock(self, sku: str, quantity: int) -> None:
        """A shop admin sets this SKU's stock in the webshop's back office."""
        ...

    def set_price(self, sku: str, price: Decimal) -> None:
        """A shop admin changes this SKU's price in the webshop's back office."""
        ...

    def price(self, sku: str) -> Decimal | None:
        """This SKU's price as the webshop shows it."""
        ...

    def place_order(
        self, lines: Mapping[str, int], *, paid: bool = True, pricing: Pricing | None = None
    ) -> str:
        """A customer orders these SKUs (SKU → quantity) at the catalogue prices, priced by
        `pricing` (none: no VAT, no discount, no shipping); `paid` False leaves the order
        awaiting payment. Returns the order id as our connector names it (`WebOrder.order_id`).
        The webshop reduces its stock as the real one does."""
        ...

    def pay_order(self, order_id: str) -> None:
        """The order awaiting payment is paid (WooCommerce: processing)."""
        ...

    def cancel_order(self, order_id: str) -> None:
        """The shop admin cancels the order."""
        ...

    def refund(
        self, order_id: str, lines: Mapping[str, int], amount: Decimal, *, restock: bool = True
    ) -> str:
        """The shop admin refunds `lines` (SKU → quantity) and `amount` of an order, putting
        the items back in stock when `restock`. Returns the refund id as our connector names
        it (`WebRefund.refund_id`)."""
        ...

    def subscribe_webhooks(self, url: str) -> str | None:
        """Subscribe `url` to the webshop's order and refund webhooks; returns the secret the
        deliveries are signed with, or None for a webshop without webhooks (polled only)."""
        ...

    def write_calls(self) -> int:
        """Write requests the webshop has received (what a sync that changes nothing must
        not send)."""
        ...

    def stop(self) -> None: ...


def count_writes(control: EmulatorControl) -> int:
    """Write requests counted by an emulator's control (by HTTP method)."""
    return sum(n for key, n in control.counts.items() if key.split(" ")[0] in WRITE_METHODS)


class Starter(Protocol):
    def __call__(
        self, catalogue: list[DemoProduct], *, host: str, port: int, currency: str
    ) -> EmulatedWebshop: ...


# name → (module, function): start(catalogue, *, host, port, currency) -> EmulatedWebshop.
# Imported when used, so one webshop's emulator does not load the others'.
EMULATED_WEBSHOPS: dict[str, tuple[str, str]] = {
    "woocommerce": ("emulators.woocommerce_shop", "start_woocommerce"),
    "shopify": ("emulators.shopify_shop", "start_shopify"),
    "magento": ("emulators.magento_shop", "start_magento"),
}


def start_webshop(
    system: str,
    catalogue: list[DemoProduct],
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    currency: str = "DKK",
) -> EmulatedWebshop:
    """Start the named webshop's emulator seeded with `catalogue` on a real socket."""
    try:
        module, name = EMULATED_WEBSHOPS[system]
    except KeyError:
        raise ValueError(f"no emulated webshop {system!r}") from None
    starter: Starter = getattr(import_module(module), name)
    return starter(catalogue, host=host, port=port, currency=currency)
