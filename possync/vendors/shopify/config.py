"""Shopify: what possync needs to reach it. The credentials Block (blocks/credentials.py)
is made from this model, so a field added here shows in the Prefect UI."""

from __future__ import annotations

from pydantic import Field, SecretStr

from possync.domain.config import FrozenConfig

TIMEOUT = "Seconds to wait per call"


class ShopifyConfig(FrozenConfig):
    """Shopify Admin GraphQL: a custom app's Admin API access token and the location whose
    `available` quantities follow the POS. (The app's client secret, which Shopify signs
    webhooks with, is the settings' `webhook_secret`.)"""

    shop_url: str = Field(description="The shop's admin address, https://NAME.myshopify.com")
    access_token: SecretStr = Field(description="Admin API access token (shpat_…)")
    location_id: str = Field(description="Location gid, gid://shopify/Location/…")
    api_version: str = Field("2025-01", description="Admin API version")
    timeout_seconds: float = Field(30.0, gt=0, description=TIMEOUT)
    reason: str = Field(
        "correction", description="The reason inventorySetQuantities records for each change"
    )
