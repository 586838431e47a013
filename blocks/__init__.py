"""Prefect Blocks: one credentials Block per external system, plus the shop's SyncSettings.

Secrets are `SecretStr` fields, read only when a connector is built; the Blocks turn into the
library's plain config objects (`possync.domain.config`), so the library never imports Prefect.
"""

from blocks.accounting import XeroCredentials
from blocks.credentials import SquareCredentials, WooCommerceCredentials
from blocks.economic import EconomicCredentials
from blocks.settings import SyncSettings
from blocks.webshops import MagentoCredentials, ShopifyCredentials

ALL_BLOCKS = (
    SquareCredentials,
    WooCommerceCredentials,
    ShopifyCredentials,
    MagentoCredentials,
    XeroCredentials,
    EconomicCredentials,
    SyncSettings,
)

__all__ = [
    "ACCOUNTING_CREDENTIALS",
    "ALL_BLOCKS",
    "EconomicCredentials",
    "MagentoCredentials",
    "ShopifyCredentials",
    "SquareCredentials",
    "SyncSettings",
    "WooCommerceCredentials",
    "XeroCredentials",
]

POS_CREDENTIALS: dict[str, type[SquareCredentials]] = {"square": SquareCredentials}
WebshopCredentials = WooCommerceCredentials | ShopifyCredentials | MagentoCredentials
WEBSHOP_CREDENTIALS: dict[
    str, type[WooCommerceCredentials] | type[ShopifyCredentials] | type[MagentoCredentials]
] = {
    "woocommerce": WooCommerceCredentials,
    "shopify": ShopifyCredentials,
    "magento": MagentoCredentials,
}
SETTINGS_BLOCK = "possync-settings"
ACCOUNTING_CREDENTIALS: dict[str, type[XeroCredentials] | type[EconomicCredentials]] = {
    "xero": XeroCredentials,
    "economic": EconomicCredentials,
}
