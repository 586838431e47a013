"""Connector classes by name: settings say "square" or "shopify", this builds them.

A webshop is registered by one line in `WEBSHOP_CONNECTORS` (its name, config class and
connector class, imported when first used); the flows, the Blocks and the webshop contract
suite pick it up from there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from typing import Any

from possync.connectors.base import Accounting, Pos, Webshop
from possync.connectors.square import SquarePos
from possync.domain.config import (
    EconomicConfig,
    MagentoConfig,
    ShopifyConfig,
    SquareConfig,
    WooCommerceConfig,
    XeroConfig,
)


@dataclass(frozen=True)
class WebshopEntry:
    """A registered webshop: its config class and where its connector class lives."""

    config: type[Any]
    module: str
    cls: str

    def connector(self) -> Callable[..., Webshop]:
        built: Callable[..., Webshop] = getattr(import_module(self.module), self.cls)
        return built


WEBSHOP_CONNECTORS: dict[str, WebshopEntry] = {
    "woocommerce": WebshopEntry(
        WooCommerceConfig, "possync.connectors.woocommerce", "WooCommerceShop"
    ),
    "shopify": WebshopEntry(ShopifyConfig, "possync.connectors.shopify", "ShopifyShop"),
    "magento": WebshopEntry(MagentoConfig, "possync.connectors.magento", "MagentoShop"),
}
POS_CONNECTORS = {"square": SquarePos}


def build_pos(name: str, config: object) -> Pos:
    if name == "square" and isinstance(config, SquareConfig):
        return SquarePos(config)
    raise ValueError(f"no POS connector {name!r} for {type(config).__name__}")


def build_webshop(name: str, config: object, **options: Any) -> Webshop:
    """The named webshop's connector on `config` (options go to its constructor)."""
    entry = WEBSHOP_CONNECTORS.get(name)
    if entry is None or not isinstance(config, entry.config):
        raise ValueError(f"no webshop connector {name!r} for {type(config).__name__}")
    return entry.connector()(config, **options)


def build_accounting(name: str, config: object) -> Accounting:
    """Accounting connectors are imported only when a flow needs one."""
    if name == "xero" and isinstance(config, XeroConfig):
        from possync.connectors.xero import XeroAccounting

        return XeroAccounting(config)
    if name == "economic" and isinstance(config, EconomicConfig):
        from possync.connectors.economic import EconomicAccounting

        return EconomicAccounting(config)
    raise ValueError(f"no accounting connector {name!r} for {type(config).__name__}")
