"""The day's sales as the POS holds them and the voucher they become in accounting, in
shapes that know no vendor. Money is Decimal in the shop's currency; VAT rates are percent.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

TenderKind = Literal["cash", "card", "other"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TaxedAmount(_Model):
    """Sales at one VAT rate: the amount without VAT and the VAT on it."""

    vat_rate: Decimal = Field(description="percent, e.g. 25 (0 for zero-rated or exempt)")
    net: Decimal
    vat: Decimal


class Tender(_Model):
    """How (part of) a sale was paid, or a refund paid back."""

    kind: TenderKind
    amount: Decimal


class PosSale(_Model):
    """A completed POS sale (Square: a COMPLETED order), closed at `closed_at`."""

    sale_id: str
    closed_at: AwareDatetime
    currency: str
    lines: tuple[TaxedAmount, ...] = Field(description="one per line item (or per rate)")
    tenders: tuple[Tender, ...] = ()
    web: bool = Field(
        False,
        description="a web order's sale, booked in the POS by possync (its source says so); "
        "the turnover leaves it out or takes it in by the `web_sales` setting",
    )


class PosRefund(_Model):
    """Money paid back on a sale, possibly an earlier day's; booked on its own day."""

    refund_id: str
    sale_id: str | None = Field(None, description="the sale refunded, when the POS says")
    created_at: AwareDatetime
    currency: str
    amount: Decimal = Field(gt=0, description="positive: the money paid back")
    tender: TenderKind = "other"
    lines: tuple[TaxedAmount, ...] = Field(
        (),
        description="what was refunded per VAT rate, when the POS itemises it; else the "
        "amount is spread over the refunded sale's rates",
    )


class VoucherLine(_Model):
    """One line of a journal voucher: positive debits, negative credits."""

    account: str
    amount: Decimal
    description: str
    vat_rate: Decimal | None = Field(None, description="the rate a revenue line is taxed at")


class Voucher(_Model):
    """One shop day's turnover as a balanced journal voucher (lines sum to zero)."""

    reference: str = Field(description="unique per shop and day, e.g. 'possync turnover ...'")
    day: date
    currency: str
    narration: str
    lines: tuple[VoucherLine, ...]

    @property
    def imbalance(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal(0))


class PostedVoucher(_Model):
    """Where a voucher landed in the accounting system."""

    system: str
    voucher_id: str
