"""WooCommerce: what possync needs to reach it. The credentials Block (blocks/credentials.py)
is made from this model, so a field added here shows in the Prefect UI."""

from __future__ import annotations

from pydantic import Field, SecretStr

from possync.domain.config import FrozenConfig

TIMEOUT = "Seconds to wait per call"


class WooCommerceConfig(FrozenConfig):
    """WooCommerce REST API keys (WooCommerce → Settings → Advanced → REST API); `url` is the
    shop's site address, the API lives under /wp-json/wc/v3."""

    url: str = Field(description="The shop's site address, e.g. https://shop.example")
    consumer_key: SecretStr = Field(description="REST API consumer key (ck_…)")
    consumer_secret: SecretStr = Field(description="REST API consumer secret (cs_…)")
    timeout_seconds: float = Field(30.0, gt=0, description=TIMEOUT)
