"""Connector classes by name: settings say "square" or "woocommerce", this builds them."""

from __future__ import annotations

from possync.config import EconomicConfig, SquareConfig, WooCommerceConfig, XeroConfig
from possync.connectors.base import Accounting, Pos, Webshop
from possync.connectors.square import SquarePos
from possync.connectors.woocommerce import WooCommerceShop


def build_pos(name: str, config: object) -> Pos:
    if name == "square" and isinstance(config, SquareConfig):
        return SquarePos(config)
    raise ValueError(f"no POS connector {name!r} for {type(config).__name__}")


def build_webshop(name: str, config: object) -> Webshop:
    if name == "woocommerce" and isinstance(config, WooCommerceConfig):
        return WooCommerceShop(config)
    raise ValueError(f"no webshop connector {name!r} for {type(config).__name__}")


POS_CONNECTORS = {"square": SquarePos}
WEBSHOP_CONNECTORS = {"woocommerce": WooCommerceShop}


def build_accounting(name: str, config: object) -> Accounting:
    """Accounting connectors are imported only when a flow needs one."""
    if name == "xero" and isinstance(config, XeroConfig):
        from possync.connectors.xero import XeroAccounting

        return XeroAccounting(config)
    if name == "economic" and isinstance(config, EconomicConfig):
        from possync.connectors.economic import EconomicAccounting

        return EconomicAccounting(config)
    raise ValueError(f"no accounting connector {name!r} for {type(config).__name__}")
