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


class SyncConfig(FrozenConfig):
    """What the shop chose; shared by every flow."""

    setup: Setup = "pos_master"
    # Vendor names are rows of possync.vendors.registry, checked when a connector is built.
    webshop: str = "woocommerce"
    pos: str = "square"
    stock_overlap_seconds: float = Field(
        0.0,
        ge=0,
        description="re-read this much before the stock cursor; 0 is safe for Square, "
        "whose cursor is its own calculated_at (no second clock involved)",
    )
    order_accepted_statuses: tuple[str, ...] = Field(
        (),
        description="webshop statuses that make an order a sale; () = the connector's "
        "`accepted_statuses`",
    )
    order_mode: OrderMode = Field("sale", description="sale (order + payment) or adjustment")
    orders_first_run_lookback_hours: float = Field(
        24.0, ge=0, description="the first order run takes orders changed this recently only"
    )
    product_fields: tuple[ProductField, ...] = Field(
        PRODUCT_FIELDS,
        description="fields the product sync owns and copies master → other side; the other "
        "side keeps its own values of the rest (images are never touched)",
    )
    archive_on_delete: bool = Field(
        True, description="a product deleted on the master side is archived on the other"
    )

    shop: str = Field("shop", description="the shop's name in voucher references")
    timezone: str = Field("Europe/Copenhagen", description="the shop's timezone (IANA name)")
    accounting: str = "xero"
    accounts: AccountMapping = Field(default_factory=lambda: AccountMapping())
    web_sales: Literal["exclude", "include"] = Field(
        "exclude",
        description="the POS sales possync books for web orders in the daily turnover: "
        "exclude (the webshop's revenue reaches the books from the webshop) or include "
        "(at the price paid, VAT as charged)",
    )

    @property
    def products_master(self) -> Literal["pos", "webshop"]:
        return "pos" if self.setup == "pos_master" else "webshop"

    @property
    def stock_master(self) -> Literal["pos", "webshop"]:
        return "webshop" if self.setup == "webshop_master" else "pos"
