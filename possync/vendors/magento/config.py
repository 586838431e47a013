"""Magento 2: what possync needs to reach it. The credentials Block (blocks/credentials.py)
is made from this model, so a field added here shows in the Prefect UI."""

from __future__ import annotations

from pydantic import Field, SecretStr

from possync.domain.config import FrozenConfig

TIMEOUT = "Seconds to wait per call"


class MagentoConfig(FrozenConfig):
    """Magento 2 / Adobe Commerce REST: the store's base address (the API is under
    /rest/{store_code}/V1), an admin or integration bearer token, and the MSI source whose
    quantities follow the POS. Stock writes of more than `bulk_threshold` items go through
    the asynchronous bulk API."""

    url: str = Field(description="The store's base address, e.g. https://shop.example")
    access_token: SecretStr = Field(description="Integration access token or admin token")
    source_code: str = Field("default", description="MSI source that follows the POS")
    store_code: str = Field("all", description="Store code in /rest/{store_code}/V1")
    bulk_threshold: int = Field(
        500, ge=1, description="Stock writes above this many items use the async bulk API"
    )
    bulk_poll_seconds: float = Field(
        0.5, gt=0, description="Seconds between checks of an async bulk write's status"
    )
    bulk_timeout_seconds: float = Field(
        600.0, gt=0, description="Seconds an async bulk write may take before it fails"
    )
    timeout_seconds: float = Field(30.0, gt=0, description=TIMEOUT)
    barcode_attribute: str = Field(
        "ean", description="The product attribute (custom_attributes code) holding the barcode"
    )
    option_attribute: str = Field(
        "size", description="The select attribute configurable products vary by"
    )
