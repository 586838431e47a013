"""e-conomic: what possync needs to reach it. The credentials Block (blocks/credentials.py)
is made from this model, so a field added here shows in the Prefect UI."""

from __future__ import annotations

from pydantic import Field, SecretStr

from possync.domain.config import FrozenConfig

TIMEOUT = "Seconds to wait per call"


class EconomicConfig(FrozenConfig):
    """Visma e-conomic: the app's secret token, the shop's agreement grant token, and the
    journal ("kassekladde") the daily turnover vouchers go to."""

    base_url: str = Field("https://restapi.e-conomic.com", description="e-conomic REST API address")
    app_secret_token: SecretStr = Field(
        description="X-AppSecretToken: identifies the integration (from the developer agreement)"
    )
    agreement_grant_token: SecretStr = Field(
        description="X-AgreementGrantToken: the grant the shop's agreement gave the app"
    )
    journal_number: int = Field(
        1, ge=1, description="The journal (kassekladde) that receives the vouchers"
    )
    timeout_seconds: float = Field(30.0, gt=0, description=TIMEOUT)
