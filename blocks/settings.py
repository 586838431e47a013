"""The shop's choices, shared by every flow: one Block, editable in the Prefect UI."""

from __future__ import annotations

from typing import Any, Literal

from prefect.blocks.core import Block
from pydantic import Field, SecretStr

from possync.domain.config import AccountMapping, ShopChoices, SyncConfig
from possync.vendors.registry import Kind, names


def _choice(kind: Kind) -> Any:
    """ShopChoices' field of this vendor kind (same name), its choices the registry's rows
    of that kind: a drop-down in the Prefect UI, and a clear error for any other name."""
    declared = ShopChoices.model_fields[kind]
    choices = names(kind)
    return Field(
        default=declared.default,
        description=f"{declared.description} ({', '.join(choices)})",
        json_schema_extra={"enum": list(choices)},
        pattern="^(" + "|".join(choices) + ")$",
    )


class SyncSettings(Block, ShopChoices):
    """Which systems the shop runs, who is master, and where their credentials are. The
    shop's choices are `ShopChoices`' fields (declared once, in possync/domain/config.py);
    this Block adds where the credentials are, the account mapping and the webhooks'."""

    _block_type_name = "possync Settings"
    _description = "Which POS and webshop the shop runs, and who is master of what."

    # The vendor choices, narrowed to the registry's rows (a drop-down in the UI).
    pos: str = _choice("pos")
    webshop: str = _choice("webshop")
    accounting: str = _choice("accounting")
    pos_block: str = Field(default="possync-square", description="Name of the POS credentials")
    webshop_block: str = Field(
        default="", description="Name of the webshop credentials Block ('' = possync-<webshop>)"
    )
    accounting_block: str = Field(
        default="possync-xero", description="Name of the accounting credentials Block"
    )
    revenue_accounts: dict[str, str] = Field(
        default_factory=lambda: dict(AccountMapping().revenue),
        description="Revenue account per VAT rate in percent, e.g. {'25': '200', '0': '260'}",
    )
    vat_account: str = Field(default=AccountMapping().vat, description="Output VAT account")
    tender_accounts: dict[Literal["cash", "card", "other"], str] = Field(
        default_factory=lambda: dict(AccountMapping().tenders),
        description="Clearing account per tender (cash, card, other)",
    )
    rounding_account: str = Field(
        default=AccountMapping().rounding, description="Account for cash rounding"
    )
    webhook_secret: SecretStr | None = Field(
        default=None,
        description="What the webshop signs its webhooks with (WooCommerce: the webhooks' "
        "secret; Shopify: the app's client secret). Magento sends none; its orders are polled",
    )
    webhook_retention_hours: float = Field(
        default=168.0,
        ge=48,
        description="Hours the webhook receiver remembers a delivery, so a redelivery is "
        "acted on once; older ones are forgotten hourly. Must outlast the webshops' retries: "
        "Shopify retries 8 times over 4 hours (48 hours before September 2024), WooCommerce "
        "never retries. Default 7 days (168), minimum 48",
    )

    @property
    def webshop_block_name(self) -> str:
        return self.webshop_block or f"possync-{self.webshop}"

    def config(self) -> SyncConfig:
        """The shop's choices as the flows take them, with the account mapping."""
        return SyncConfig(
            **{name: getattr(self, name) for name in ShopChoices.model_fields},
            accounts=AccountMapping(
                revenue=dict(self.revenue_accounts),
                vat=self.vat_account,
                tenders=dict(self.tender_accounts),
                rounding=self.rounding_account,
            ),
        )
