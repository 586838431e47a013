"""Plain configuration objects the library runs on (Blocks in `blocks/` produce them).

Secrets are `SecretStr`: they print as '**********' and are read only where a client is built.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from possync.domain.products import PRODUCT_FIELDS, ProductField
from possync.domain.turnover import TenderKind

Setup = Literal["pos_master", "webshop_products", "webshop_master"]


class FrozenConfig(BaseModel):
    """Configuration is read-only once built, and refuses unknown fields (a typo is an error)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


# The defaults fit the Xero emulator's demo chart (Xero's demo-company codes).
_DEMO_TENDERS: dict[TenderKind, str] = {"cash": "092", "card": "091", "other": "090"}


class AccountMapping(FrozenConfig):
    """Where the day's turnover is booked: revenue per VAT rate (percent as text, '25'),
    one VAT account, a clearing account per tender, and one for cash rounding."""

    revenue: dict[str, str] = Field(default_factory=lambda: {"25": "200", "0": "260"})
    vat: str = "820"
    tenders: dict[TenderKind, str] = Field(default_factory=lambda: dict(_DEMO_TENDERS))
    rounding: str = "860"


OrderMode = Literal["sale", "adjustment"]


class ShopChoices(BaseModel):
    """What the shop chose, declared once: the settings Block (blocks/settings.py) takes
    these fields as they are, and SyncConfig is them plus the account mapping. The
    descriptions are what the user reads in the Prefect UI."""

    setup: Setup = Field(
        "pos_master",
        description="pos_master: POS owns products and stock; webshop_products: webshop "
        "owns products, POS owns stock; webshop_master: webshop owns both",
    )
    # Vendor names are rows of possync.vendors.registry (the Block offers exactly those).
    pos: str = Field("square", description="The POS")
    webshop: str = Field("woocommerce", description="The webshop")
    stock_overlap_seconds: float = Field(
        0.0,
        ge=0,
        description="Re-read this much before the stock cursor. 0 suits Square (the cursor "
        "is Square's own calculated_at); counts re-read that already synced are skipped",
    )
    order_accepted_statuses: tuple[str, ...] = Field(
        (),
        description="Webshop order statuses that transfer the order to the POS (paid); empty "
        "= the webshop's paid statuses (WooCommerce processing, completed; Shopify paid, "
        "partially_refunded; Magento processing, complete)",
    )
    order_mode: OrderMode = Field(
        "sale",
        description="sale: a POS order with an external payment (counts in turnover); "
        "adjustment: a plain stock transaction",
    )
    orders_first_run_lookback_hours: float = Field(
        24.0,
        ge=0,
        description="The first order run takes web orders changed this many hours back only "
        "(older ones are history the POS already knows)",
    )
    product_fields: tuple[ProductField, ...] = Field(
        PRODUCT_FIELDS,
        description="Fields the product sync copies from the master side; the other side "
        "keeps its own values of the others (e.g. leave out description to keep the "
        "webshop's own texts). Images are never touched",
    )
    archive_on_delete: bool = Field(
        True,
        description="A product deleted on the master side is archived (not deleted) on the "
        "other side",
    )
    shop: str = Field("shop", description="The shop's name in voucher references")
    timezone: str = Field(
        "Europe/Copenhagen",
        description="The shop's timezone (IANA name): business days are its local days",
    )
    accounting: str = Field("xero", description="The accounting system the daily turnover goes to")
    web_sales: Literal["exclude", "include"] = Field(
        "exclude",
        description="Web orders in the daily turnover. exclude: the webshop's revenue reaches "
        "the books from the webshop (e.g. its own accounting integration), so the POS sales "
        "possync books for web orders, and their refunds, are left out (no double booking); "
        "include: they are booked with the day's turnover at the price paid, VAT as charged",
    )


class SyncConfig(ShopChoices, FrozenConfig):
    """What the shop chose, with its account mapping; shared by every flow."""

    accounts: AccountMapping = Field(default_factory=lambda: AccountMapping())

    @property
    def products_master(self) -> Literal["pos", "webshop"]:
        return "pos" if self.setup == "pos_master" else "webshop"

    @property
    def stock_master(self) -> Literal["pos", "webshop"]:
        return "webshop" if self.setup == "webshop_master" else "pos"
