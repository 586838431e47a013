"""Xero: what possync needs to reach it. The credentials Block (blocks/credentials.py)
is made from this model, so a field added here shows in the Prefect UI."""

from __future__ import annotations

from pydantic import Field, SecretStr

from possync.domain.config import FrozenConfig

TIMEOUT = "Seconds to wait per call"


class XeroConfig(FrozenConfig):
    """Xero Accounting API: an OAuth 2.0 access token and the organisation it acts for.
    Xero needs the organisation (tenant) on every call in the xero-tenant-id header; an app
    connected to several organisations picks one with it."""

    base_url: str = Field(
        "https://api.xero.com/api.xro/2.0",
        description="Xero Accounting API address (an emulator's for tests and demos)",
    )
    access_token: SecretStr = Field(description="OAuth 2.0 access token (Bearer)")
    tenant_id: str = Field(
        description="The organisation's tenant id, from GET https://api.xero.com/connections"
    )
    timeout_seconds: float = Field(30.0, gt=0, description=TIMEOUT)
