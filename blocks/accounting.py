"""Credentials Blocks for the accounting systems the day's turnover is posted to."""

from __future__ import annotations

from prefect.blocks.core import Block
from pydantic import Field, SecretStr

from possync.domain.config import XeroConfig

__all__ = ["XeroCredentials"]


class XeroCredentials(Block):
    """Xero Accounting API: an OAuth 2.0 access token and the organisation it acts for.

    Xero needs the organisation (tenant) on every call in the xero-tenant-id header; an app
    connected to several organisations picks one with it.
    """

    _block_type_name = "possync Xero"
    _description = "Xero access token, API address and the organisation (tenant) id."

    base_url: str = Field(
        default="https://api.xero.com/api.xro/2.0",
        description="Xero Accounting API address (an emulator's for tests and demos)",
    )
    access_token: SecretStr = Field(description="OAuth 2.0 access token (Bearer)")
    tenant_id: str = Field(
        description="The organisation's tenant id, from GET https://api.xero.com/connections"
    )
    timeout_seconds: float = Field(default=30.0, gt=0, description="Seconds to wait per call")

    def config(self) -> XeroConfig:
        return XeroConfig(
            base_url=self.base_url,
            access_token=self.access_token,
            tenant_id=self.tenant_id,
            timeout_seconds=self.timeout_seconds,
        )
