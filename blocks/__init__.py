"""Prefect Blocks: one credentials Block per external system, plus the shop's SyncSettings.

Secrets are `SecretStr` fields, read only when a connector is built; the Blocks turn into the
library's plain config objects (`possync.config`), so the library never imports Prefect.
"""

from blocks.credentials import SquareCredentials, WooCommerceCredentials
from blocks.settings import SyncSettings

ALL_BLOCKS = (SquareCredentials, WooCommerceCredentials, SyncSettings)

__all__ = ["ALL_BLOCKS", "SquareCredentials", "SyncSettings", "WooCommerceCredentials"]

POS_CREDENTIALS: dict[str, type[SquareCredentials]] = {"square": SquareCredentials}
WEBSHOP_CREDENTIALS: dict[str, type[WooCommerceCredentials]] = {
    "woocommerce": WooCommerceCredentials
}
SETTINGS_BLOCK = "possync-settings"
