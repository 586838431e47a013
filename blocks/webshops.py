"""Credentials Blocks of the webshops besides WooCommerce (blocks/credentials.py)."""

from __future__ import annotations

from prefect.blocks.core import Block
from pydantic import Field, SecretStr

from blocks.credentials import WooCommerceCredentials
from possync.domain.config import MagentoConfig, ShopifyConfig, WebshopConfig, WooCommerceConfig


class ShopifyCredentials(Block):
    """Shopify: a custom app's Admin API access token and the shop's location whose stock
    follows the POS. (The app's client secret, which Shopify signs webhooks with, goes in
    the settings Block's `webhook_secret`.)"""

    _block_type_name = "possync Shopify"
    _description = "Shopify shop address, Admin API access token and location."

    shop_url: str = Field(description="The shop's admin address, https://NAME.myshopify.com")
    access_token: SecretStr = Field(description="Admin API access token (shpat_…)")
    location_id: str = Field(description="Location gid, gid://shopify/Location/…")
    api_version: str = Field(default="2025-01", description="Admin API version")

    def config(self) -> ShopifyConfig:
        return ShopifyConfig(
            shop_url=self.shop_url,
            access_token=self.access_token,
            location_id=self.location_id,
            api_version=self.api_version,
        )


class MagentoCredentials(Block):
    """Magento 2 / Adobe Commerce: an admin or integration bearer token and the MSI source
    whose quantities follow the POS."""

    _block_type_name = "possync Magento"
    _description = "Magento 2 store address, bearer token and inventory source."

    url: str = Field(description="The store's base address, e.g. https://shop.example")
    access_token: SecretStr = Field(description="Integration access token or admin token")
    source_code: str = Field(default="default", description="MSI source that follows the POS")
    store_code: str = Field(default="all", description="Store code in /rest/{store_code}/V1")
    bulk_threshold: int = Field(
        default=500, ge=1, description="Stock writes above this many items use the async bulk API"
    )

    def config(self) -> MagentoConfig:
        return MagentoConfig(
            url=self.url,
            access_token=self.access_token,
            source_code=self.source_code,
            store_code=self.store_code,
            bulk_threshold=self.bulk_threshold,
        )


def webshop_credentials(config: WebshopConfig) -> Block:
    """The credentials Block that holds this webshop config (to save it for the flows)."""
    if isinstance(config, WooCommerceConfig):
        return WooCommerceCredentials(
            url=config.url,
            consumer_key=config.consumer_key,
            consumer_secret=config.consumer_secret,
        )
    if isinstance(config, ShopifyConfig):
        return ShopifyCredentials(
            shop_url=config.shop_url,
            access_token=config.access_token,
            location_id=config.location_id,
            api_version=config.api_version,
        )
    return MagentoCredentials(
        url=config.url,
        access_token=config.access_token,
        source_code=config.source_code,
        store_code=config.store_code,
        bulk_threshold=config.bulk_threshold,
    )
