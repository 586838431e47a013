"""Credentials Blocks, one per external system."""

from __future__ import annotations

from prefect.blocks.core import Block
from pydantic import Field, SecretStr

from possync.domain.config import SquareConfig, WooCommerceConfig


class SquareCredentials(Block):
    """Square POS: an access token for one seller, and the location whose stock we sync."""

    _block_type_name = "possync Square"
    _description = "Square access token, API address and the shop's location."

    base_url: str = Field(
        default="https://connect.squareup.com", description="Square API address (sandbox too)"
    )
    access_token: SecretStr = Field(description="Square access token (personal or OAuth)")
    location_id: str = Field(description="The Square location whose stock is synced")
    api_version: str = Field(default="2025-08-20", description="Square-Version header")
    timeout_seconds: float = Field(default=30.0, gt=0, description="Seconds to wait per call")

    def config(self) -> SquareConfig:
        return SquareConfig(
            base_url=self.base_url,
            access_token=self.access_token,
            location_id=self.location_id,
            api_version=self.api_version,
            timeout_seconds=self.timeout_seconds,
        )


class WooCommerceCredentials(Block):
    """WooCommerce REST API keys (WooCommerce → Settings → Advanced → REST API)."""

    _block_type_name = "possync WooCommerce"
    _description = "WooCommerce site address and REST API consumer key and secret."

    url: str = Field(description="The shop's site address, e.g. https://shop.example")
    consumer_key: SecretStr = Field(description="REST API consumer key (ck_…)")
    consumer_secret: SecretStr = Field(description="REST API consumer secret (cs_…)")

    def config(self) -> WooCommerceConfig:
        return WooCommerceConfig(
            url=self.url, consumer_key=self.consumer_key, consumer_secret=self.consumer_secret
        )
