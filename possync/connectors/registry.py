"""Connector classes by name: settings say "square" or "woocommerce", this builds them."""

from __future__ import annotations

from possync.config import SquareConfig, WooCommerceConfig
from possync.connectors.base import Pos, Webshop
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
