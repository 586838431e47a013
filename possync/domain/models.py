"""Domain models that know no vendor; each connector maps vendor shapes to these at its edge.

Values read from a vendor stay raw where they may be bad (a stock quantity arrives as the
vendor's text), so the planner can quarantine a bad record with a reason instead of the
whole page failing to parse.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

QuarantineField = Literal[
    "quantity", "sku", "barcode", "link", "write", "price", "name", "description", "variants"
]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class StockCount(_Model):
    """A POS count for one sellable variant at the shop's location, as read."""

    pos_id: str = Field(description="the POS's id of the variant (Square: item variation id)")
    quantity_raw: str = Field(description="the quantity as the POS sent it; validated later")
    updated_at: AwareDatetime


class CatalogVariant(_Model):
    """A sellable variant in the POS catalogue: what stock is matched by."""

    pos_id: str
    product_id: str = Field(description="the POS's id of the parent product (Square: item id)")
    name: str = ""
    sku: str | None = None
    barcode: str | None = None
    deleted: bool = False


class WebshopRef(_Model):
    """Where a variant lives in the webshop: a product, or a variation of a product."""

    product_id: str
    variation_id: str | None = None

    @property
    def key(self) -> str:
        return f"{self.product_id}/{self.variation_id}" if self.variation_id else self.product_id


class WebshopListing(_Model):
    """A webshop product or variation with its current stock, as read."""

    ref: WebshopRef
    sku: str | None = None
    barcode: str | None = None
    stock: int | None = None
    manage_stock: bool = True
    name: str = ""


class StockUpdate(_Model):
    """One quantity to set in the webshop, with what it is traced back to."""

    ref: WebshopRef
    quantity: int = Field(ge=0)
    product_key: str
    pos_id: str
    sku: str | None = None
    previous: int | None = None


class WriteOutcome(_Model):
    """What became of one update: written, or refused with the vendor's reason."""

    update: StockUpdate
    ok: bool
    error: str | None = None


class Problem(_Model):
    """A record that cannot be synced now, with the field at fault and a reason to show."""

    system: str
    record_id: str
    field: QuarantineField
    reason: str
    sku: str | None = None
    payload: dict[str, str | int | None] = Field(default_factory=dict)


def utc_iso(moment: datetime) -> str:
    """RFC 3339 in UTC with milliseconds, as vendors' `updated_after` filters expect."""
    from datetime import UTC

    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class LineTax(_Model):
    """One tax charged on a line, as the webshop charged it."""

    rate: Decimal = Field(description="percent, e.g. 25 (a rate the webshop declared)")
    amount: Decimal = Field(description="the tax on the whole line at this rate")
    name: str = ""


class LinePrice(_Model):
    """What a line really cost the customer: after every discount, with its VAT as charged.

    Amounts are the webshop's own, in the order's currency; whether the POS can hold them
    exactly is for its connector to say (`possync.domain.money`)."""

    net: Decimal = Field(description="the line after discounts, without tax")
    taxes: tuple[LineTax, ...] = ()
    discount: Decimal = Field(
        Decimal(0), description="what the discounts took off (shown in the POS only)"
    )
    tax_included: bool | None = Field(
        None, description="the shop's prices include tax (None: the webshop does not say)"
    )

    @property
    def tax(self) -> Decimal:
        return sum((t.amount for t in self.taxes), Decimal(0))

    @property
    def gross(self) -> Decimal:
        """What the customer paid for the line."""
        return self.net + self.tax


class OrderItem(_Model):
    """One line of a webshop order or refund, as read (quantities positive)."""

    line_id: str
    ref: WebshopRef | None = Field(None, description="the product or variation ordered")
    sku: str | None = None
    quantity: int
    unit_price: Decimal = Decimal(0)
    name: str = ""
    paid: LinePrice | None = Field(
        None, description="what the line cost after discounts, VAT as charged (orders only)"
    )


class WebCharge(_Model):
    """A line of a web order that is no product: shipping, a fee."""

    line_id: str
    name: str
    paid: LinePrice


class WebOrder(_Model):
    """A webshop order as read; `status` is the webshop's own word (e.g. 'processing')."""

    order_id: str
    status: str
    modified_at: AwareDatetime
    currency: str
    total: Decimal
    items: list[OrderItem] = Field(default_factory=list)
    refund_ids: list[str] = Field(default_factory=list)
    charges: list[WebCharge] = Field(default_factory=list)
    price_error: str | None = Field(
        None,
        description="why what the customer paid could not be read (a field the webshop "
        "left out, an amount that is no number): the order is quarantined with it",
    )


class WebRefund(_Model):
    """A webshop refund: money back, and the items it returns (none for money only)."""

    refund_id: str
    order_id: str
    amount: Decimal
    reason: str = ""
    items: list[OrderItem] = Field(default_factory=list)


class SaleLine(_Model):
    """A line to book in the POS: its variant (None: a charge such as shipping, which
    draws no stock), quantity, and what it cost (`paid`; None: at the POS's own price,
    untaxed, as a stock-only booking is)."""

    pos_id: str | None
    quantity: int = Field(gt=0)
    unit_price: Decimal = Decimal(0)
    name: str = ""
    paid: LinePrice | None = None


WEB_SALE_SOURCE = "possync · "
"""How a POS sale booked for a web order is marked: its source name is this and the
webshop's name ('possync · woocommerce'), which is how the daily turnover tells web sales
from the register's."""


def web_sale_source(webshop: str) -> str:
    return f"{WEB_SALE_SOURCE}{webshop}"


def is_web_sale_source(name: object) -> bool:
    return isinstance(name, str) and name.startswith(WEB_SALE_SOURCE)


# A stock transaction without money: out of stock as sold (a web order booked as an
# adjustment), or back into stock as returned (a refund or cancellation).
StockMovement = Literal["sold", "returned"]


class PosDocument(_Model):
    """What a POS write became: a sale (order + payment) or a stock adjustment."""

    document_id: str
    payment_id: str | None = None
    total: Decimal | None = None
