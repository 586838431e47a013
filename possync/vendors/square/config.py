"""Square: what possync needs to reach it. The credentials Block (blocks/credentials.py)
is made from this model, so a field added here shows in the Prefect UI."""

from __future__ import annotations

from pydantic import Field, SecretStr

from possync.domain.config import FrozenConfig

TIMEOUT = "Seconds to wait per call"


class SquareConfig(FrozenConfig):
    """Square POS: an access token for one seller, and the location whose stock we sync."""

    base_url: str = Field(
        "https://connect.squareup.com", description="Square API address (sandbox too)"
    )
    access_token: SecretStr = Field(description="Square access token (personal or OAuth)")
    location_id: str = Field(description="The Square location whose stock is synced")
    api_version: str = Field("2025-08-20", description="Square-Version header")
    timeout_seconds: float = Field(30.0, gt=0, description=TIMEOUT)
