"""The e-conomic credentials Block (kept in its own module so blocks/credentials.py stays as it
is; blocks/__init__.py can re-export it)."""

from __future__ import annotations

from prefect.blocks.core import Block
from pydantic import Field, SecretStr

from possync.domain.config import EconomicConfig


class EconomicCredentials(Block):
    """Visma e-conomic: the app's secret token, the shop's agreement grant token, and the
    journal ("kassekladde") the daily turnover vouchers go to."""

    _block_type_name = "possync e-conomic"
    _description = "e-conomic app secret token, agreement grant token and target journal."

    base_url: str = Field(
        default="https://restapi.e-conomic.com", description="e-conomic REST API address"
    )
    app_secret_token: SecretStr = Field(
        description="X-AppSecretToken: identifies the integration (from the developer agreement)"
    )
    agreement_grant_token: SecretStr = Field(
        description="X-AgreementGrantToken: the grant the shop's agreement gave the app"
    )
    journal_number: int = Field(
        default=1, ge=1, description="The journal (kassekladde) that receives the vouchers"
    )

    def config(self) -> EconomicConfig:
        return EconomicConfig(
            base_url=self.base_url,
            app_secret_token=self.app_secret_token,
            agreement_grant_token=self.agreement_grant_token,
            journal_number=self.journal_number,
        )
