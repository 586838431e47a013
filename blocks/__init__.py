"""Prefect Blocks: one credentials Block per vendor (made from its config model, see
blocks/credentials.py), plus the shop's SyncSettings.

Secrets are `SecretStr` fields, read only when a connector is built; the Blocks turn into the
library's plain config objects, so the library never imports Prefect.
"""

from blocks.credentials import CREDENTIALS, CredentialsBlock, credentials_block, credentials_for
from blocks.settings import SyncSettings

# The names the flows, tests and docs use for the registry's Blocks.
SquareCredentials = CREDENTIALS["square"]
WooCommerceCredentials = CREDENTIALS["woocommerce"]
ShopifyCredentials = CREDENTIALS["shopify"]
MagentoCredentials = CREDENTIALS["magento"]
XeroCredentials = CREDENTIALS["xero"]
EconomicCredentials = CREDENTIALS["economic"]

ALL_BLOCKS: tuple[type[CredentialsBlock] | type[SyncSettings], ...] = (
    *CREDENTIALS.values(),
    SyncSettings,
)

SETTINGS_BLOCK = "possync-settings"

__all__ = [
    "ALL_BLOCKS",
    "CREDENTIALS",
    "SETTINGS_BLOCK",
    "CredentialsBlock",
    "EconomicCredentials",
    "MagentoCredentials",
    "ShopifyCredentials",
    "SquareCredentials",
    "SyncSettings",
    "WooCommerceCredentials",
    "XeroCredentials",
    "credentials_block",
    "credentials_for",
]
