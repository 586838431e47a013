"""The shop's choices, shared by every flow: one Block, editable in the Prefect UI."""

from __future__ import annotations

from typing import Any, Literal

from prefect.blocks.core import Block
from pydantic import Field, SecretStr

from possync.domain.config import AccountMapping, SyncConfig
from possync.vendors.registry import Kind, names


def _choice(kind: Kind, default: str, description: str) -> Any:
    """A vendor setting whose choices are the registry's rows of that kind: a drop-down in
    the Prefect UI, and a clear error for any other name."""
    choices = names(kind)
    return Field(
        default=default,
        description=f"{description} ({', '.join(choices)})",
        json_schema_extra={"enum": list(choices)},
        pattern="^(" + "|".join(choices) + ")$",
    )


class SyncSettings(Block):
    """Which systems the shop runs, who is master, and where their credentials are."""

    _block_type_name = "possync Settings"
    _description = "Which POS and webshop the shop runs, and who is master of what."

    setup: Literal["pos_master", "webshop_products", "webshop_master"] = Field(
        default="pos_master",
        description="pos_master: POS owns products and stock; webshop_products: webshop "
        "owns products, POS owns stock; webshop_master: webshop owns both",
    )
    pos: str = _choice("pos", "square", "The POS")
    webshop: str = _choice("webshop", "woocommerce", "The webshop")
    pos_block: str = Field(default="possync-square", description="Name of the POS credentials")
    webshop_block: str = Field(
        default="", description="Name of the webshop credentials Block ('' = possync-<webshop>)"
    )
    stock_overlap_seconds: float = Field(
        default=0.0,
        ge=0,
        description="Re-read this much before the stock cursor. 0 suits Square (the cursor "
        "is Square's own calculated_at); counts re-read that already synced are skipped",
    )

    order_accepted_statuses: list[str] = Field(
        default_factory=list,
        description="Webshop order statuses that transfer the order to the POS (paid); empty "
        "= the webshop's paid statuses (WooCommerce processing, completed; Shopify paid, "
        "partially_refunded; Magento processing, complete)",
    )
    order_mode: Literal["sale", "adjustment"] = Field(
        default="sale",
        description="sale: a POS order with an external payment (counts in turnover); "
        "adjustment: a plain stock transaction",
    )
    orders_first_run_lookback_hours: float = Field(
        default=24.0,
        ge=0,
        description="The first order run takes web orders changed this many hours back only "
        "(older ones are history the POS already knows)",
    )
    product_fields: list[Literal["name", "description", "price", "sku", "barcode", "state"]] = (
        Field(
            default=["name", "description", "price", "sku", "barcode", "state"],
            description="Fields the product sync copies from the master side; the other side "
            "keeps its own values of the others (e.g. leave out description to keep the "
            "webshop's own texts). Images are never touched",
        )
    )
    archive_on_delete: bool = Field(
        default=True,
        description="A product deleted on the master side is archived (not deleted) on the "
        "other side",
    )
    shop: str = Field(default="shop", description="The shop's name in voucher references")
    timezone: str = Field(
        default="Europe/Copenhagen",
        description="The shop's timezone (IANA name): business days are its local days",
    )
    accounting: str = _choice(
        "accounting", "xero", "The accounting system the daily turnover goes to"
    )
    web_sales: Literal["exclude", "include"] = Field(
        default="exclude",
        description="Web orders in the daily turnover. exclude: the webshop's revenue reaches "
        "the books from the webshop (e.g. its own accounting integration), so the POS sales "
        "possync books for web orders, and their refunds, are left out (no double booking); "
        "include: they are booked with the day's turnover at the price paid, VAT as charged",
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
        return SyncConfig(
            setup=self.setup,
            pos=self.pos,
            webshop=self.webshop,
            stock_overlap_seconds=self.stock_overlap_seconds,
            order_accepted_statuses=tuple(self.order_accepted_statuses),
            order_mode=self.order_mode,
            orders_first_run_lookback_hours=self.orders_first_run_lookback_hours,
            product_fields=tuple(self.product_fields),
            archive_on_delete=self.archive_on_delete,
            shop=self.shop,
            timezone=self.timezone,
            accounting=self.accounting,
            web_sales=self.web_sales,
            accounts=AccountMapping(
                revenue=dict(self.revenue_accounts),
                vat=self.vat_account,
                tenders=dict(self.tender_accounts),
                rounding=self.rounding_account,
            ),
        )
