"""Plain configuration objects the library runs on (Blocks in `blocks/` produce them).

Secrets are `SecretStr`: they print as '**********' and are read only where a client is built.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from possync.domain.products import PRODUCT_FIELDS, ProductField
from possync.domain.turnover import TenderKind

Setup = Literal["pos_master", "webshop_products", "webshop_master"]


class _Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SquareConfig(_Config):
    base_url: str = "https://connect.squareup.com"
    access_token: SecretStr
    location_id: str
    api_version: str = "2025-08-20"
    timeout_seconds: float = 30.0


class WooCommerceConfig(_Config):
    """`url` is the shop's site address; the API lives under /wp-json/wc/v3."""

    url: str
    consumer_key: SecretStr
    consumer_secret: SecretStr
    timeout_seconds: float = 30.0


class ShopifyConfig(_Config):
    """Shopify Admin GraphQL: `shop_url` is the shop's admin address
    (https://NAME.myshopify.com), `location_id` the Location gid whose `available`
    quantities follow the POS. (The app's client secret, which Shopify signs webhooks with,
    is the settings' `webhook_secret`.)"""

    shop_url: str
    access_token: SecretStr
    location_id: str
    api_version: str = "2025-01"
    timeout_seconds: float = 30.0
    reason: str = "correction"


class MagentoConfig(_Config):
    """Magento 2 / Adobe Commerce REST: `url` is the store's base address (the API is under
    /rest/{store_code}/V1), an admin or integration bearer token, and the MSI source whose
    quantities follow the POS. Stock writes of more than `bulk_threshold` items go through
    the asynchronous bulk API."""

    url: str
    access_token: SecretStr
    source_code: str = "default"
    store_code: str = "all"
    bulk_threshold: int = Field(500, ge=1)
    bulk_poll_seconds: float = Field(0.5, gt=0)
    bulk_timeout_seconds: float = Field(600.0, gt=0)
    timeout_seconds: float = 30.0
    barcode_attribute: str = Field(
        "ean", description="the product attribute (custom_attributes code) holding the barcode"
    )
    option_attribute: str = Field(
        "size", description="the select attribute configurable products vary by"
    )


WebshopConfig = WooCommerceConfig | ShopifyConfig | MagentoConfig
WebshopName = Literal["woocommerce", "shopify", "magento"]


class XeroConfig(_Config):
    """Xero Accounting API: an OAuth 2.0 access token and the organisation (tenant) id."""

    base_url: str = "https://api.xero.com/api.xro/2.0"
    access_token: SecretStr
    tenant_id: str
    timeout_seconds: float = 30.0


class EconomicConfig(_Config):
    """e-conomic REST: the app's secret token, the agreement's grant token, the journal
    the vouchers go to."""

    base_url: str = "https://restapi.e-conomic.com"
    app_secret_token: SecretStr
    agreement_grant_token: SecretStr
    journal_number: int = 1
    timeout_seconds: float = 30.0


# The defaults fit the Xero emulator's demo chart (Xero's demo-company codes).
_DEMO_TENDERS: dict[TenderKind, str] = {"cash": "092", "card": "091", "other": "090"}


class AccountMapping(_Config):
    """Where the day's turnover is booked: revenue per VAT rate (percent as text, '25'),
    one VAT account, a clearing account per tender, and one for cash rounding."""

    revenue: dict[str, str] = Field(default_factory=lambda: {"25": "200", "0": "260"})
    vat: str = "820"
    tenders: dict[TenderKind, str] = Field(default_factory=lambda: dict(_DEMO_TENDERS))
    rounding: str = "860"


OrderMode = Literal["sale", "adjustment"]


class SyncConfig(_Config):
    """What the shop chose; shared by every flow."""

    setup: Setup = "pos_master"
    webshop: WebshopName = "woocommerce"
    pos: Literal["square"] = "square"
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
    accounting: Literal["xero", "economic"] = "xero"
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
