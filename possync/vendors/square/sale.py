"""A web order as a Square order that charges exactly what the customer paid, with the VAT
as the webshop charged it (pure: the CreateOrder body and the totals Square will compute).

Square computes an order's money itself (Orders API, Square-Version 2025-08-20, fields
checked in ../shared/specs/square/api.json): a line costs `base_price_money` x `quantity`;
each order-level tax (`OrderLineItemTax`: `percentage`, `type` ADDITIVE or INCLUSIVE,
`scope` LINE_ITEM) applies to the lines that name it in `applied_taxes`
(`OrderLineItemAppliedTax.tax_uid`), computed per line and rounded half to even ("The
Orders API performs its adjustment calculations using Bankers' Rounding"); an ADDITIVE tax
is added to the line, an INCLUSIVE one is taken out of it (several on one line share the
pre-tax base: gross x 100 / (100 + their percentages)). We cannot give Square a tax
amount, only a percentage, so the sale is planned here with the same rules and booked only
if Square's figures come out exactly as the webshop's:

- the price paid is `base_price_money` (no Square discount: the docs do not say whether a
  LINE_ITEM FIXED_AMOUNT discount is taken once per line or per unit, and a percentage
  discount would round on Square's side); what the webshop's discount took off is in the
  line's `note`. A line whose paid amount does not divide by its quantity becomes two
  lines of the same variant, the remainder's units one minor unit dearer, so the line's
  amount stays exact to the minor unit;
- each line is tried with the tax as the shop priced it (INCLUSIVE when its prices include
  tax, else ADDITIVE) and then the other way; the first whose predicted VAT per rate equals
  what the webshop charged on that line is used (a webshop rounding half up per line is
  always met by one of the two: an INCLUSIVE tax recovers a per-line tax from the gross);
- a line no way matches (the webshop rounded its tax over the whole order, a compound
  tax, a price with more decimals than the currency has) raises MoneyError naming the line
  and both amounts: the order is quarantined, never booked at a price or VAT the customer
  was not charged.

Shipping and fees are lines without a catalogue object (`item_type` CUSTOM_AMOUNT, which
Square takes for a non-itemized sale), so the sale's total is the order's total. Every
amount goes through `possync.domain.money` (the currency's ISO 4217 decimals, within int64).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Literal

from possync.domain.models import LinePrice, SaleLine
from possync.domain.money import INT64_MAX, MoneyError, from_minor, to_minor

__all__ = ["PlannedSale", "plan_sale"]

TaxType = Literal["ADDITIVE", "INCLUSIVE"]
PERCENTAGE_MAX = 10  # OrderLineItemTax.percentage maxLength
NAME_MAX = 512  # OrderLineItem.name maxLength
TAX_NAME_MAX = 255  # OrderLineItemTax.name maxLength
_HUNDRED = Decimal(100)


@dataclass
class PlannedSale:
    """The order's `line_items` and `taxes`, and what Square will compute for them:
    `total` and `tax` in minor units; `priced` False when a line is at the POS's own price,
    which only Square knows."""

    line_items: list[dict[str, Any]] = field(default_factory=list)
    taxes: list[dict[str, Any]] = field(default_factory=list)
    total: int = 0
    tax: int = 0
    priced: bool = True


@dataclass(frozen=True)
class _Tax:
    rate: Decimal
    amount: int  # minor units charged on the line
    name: str


def plan_sale(lines: Sequence[SaleLine], currency: str) -> PlannedSale:
    """The CreateOrder line items and taxes for these lines, or MoneyError (see above)."""
    plan = PlannedSale()
    uids: dict[tuple[str, TaxType, str], str] = {}
    for index, line in enumerate(lines):
        if line.paid is None:
            if line.pos_id is None:
                raise MoneyError(
                    f"line {index + 1} ({line.name}) has neither a product nor a price"
                )
            plan.line_items.append(
                {"catalog_object_id": line.pos_id, "quantity": str(line.quantity)}
            )
            plan.priced = False
            continue
        _add_line(plan, uids, line, line.paid, currency, index)
    if plan.total > INT64_MAX:
        raise MoneyError(f"the sale's total {plan.total} is beyond what Square holds")
    return plan


def _add_line(
    plan: PlannedSale,
    uids: dict[tuple[str, TaxType, str], str],
    line: SaleLine,
    paid: LinePrice,
    currency: str,
    index: int,
) -> None:
    what = f"line {index + 1} ({line.name or line.pos_id or 'charge'})"
    try:
        net = to_minor(paid.net, currency)
        taxes = [
            _Tax(_rate(t.rate, what), to_minor(t.amount, currency), t.name) for t in paid.taxes
        ]
    except MoneyError as exc:
        raise MoneyError(f"{what}: {exc}") from None
    gross = net + sum(t.amount for t in taxes)
    kinds: list[TaxType] = (
        ["INCLUSIVE", "ADDITIVE"] if paid.tax_included else ["ADDITIVE", "INCLUSIVE"]
    )
    tried: list[str] = []
    for kind in kinds:
        basis = gross if kind == "INCLUSIVE" else net
        if basis < 0:
            raise MoneyError(f"{what} costs {paid.gross} {currency}, less than nothing")
        chunks = _chunks(basis, line.quantity)
        predicted = _predict(kind, chunks, [t.rate for t in taxes])
        if predicted == [t.amount for t in taxes]:
            _book(plan, uids, line, paid, currency, kind, chunks, taxes)
            plan.total += gross
            plan.tax += sum(predicted)
            return
        tried.append(f"{kind.lower()} {_minor_text(predicted, currency)}")
    charged = _minor_text([t.amount for t in taxes], currency)
    raise MoneyError(
        f"{what}: the webshop charged VAT {charged} at "
        f"{', '.join(f'{t.rate} %' for t in taxes)}; Square's rounding would give "
        f"{' or '.join(tried)}, so the sale would not carry the VAT as charged"
    )


def _rate(rate: Decimal, what: str) -> Decimal:
    if rate <= 0:
        raise MoneyError(f"{what} is charged tax at a rate of {rate} %")
    if len(_percentage(rate)) > PERCENTAGE_MAX:
        raise MoneyError(f"{what}: a VAT rate of {rate} % is longer than Square's percentage")
    return rate


def _percentage(rate: Decimal) -> str:
    """25 -> '25', 12.50 -> '12.5' (Square's `percentage` is decimal text)."""
    text = format(rate.normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _chunks(basis: int, quantity: int) -> list[tuple[int, int]]:
    """(quantity, unit price) pairs that add up to `basis` exactly."""
    base, extra = divmod(basis, quantity)
    chunks = [(quantity - extra, base)] if quantity > extra else []
    if extra:
        chunks.append((extra, base + 1))
    return chunks


def _half_even(value: Decimal) -> int:
    return int(value.to_integral_value(ROUND_HALF_EVEN))


def _predict(
    kind: TaxType, chunks: Sequence[tuple[int, int]], rates: Sequence[Decimal]
) -> list[int]:
    """Each tax as Square computes it, summed over the chunks (each its own line item)."""
    totals = [0] * len(rates)
    inclusive = sum(rates, Decimal(0)) if kind == "INCLUSIVE" else Decimal(0)
    for quantity, price in chunks:
        pre_tax = Decimal(price * quantity) * _HUNDRED / (_HUNDRED + inclusive)
        for k, rate in enumerate(rates):
            totals[k] += _half_even(pre_tax * rate / _HUNDRED)
    return totals


def _book(
    plan: PlannedSale,
    uids: dict[tuple[str, TaxType, str], str],
    line: SaleLine,
    paid: LinePrice,
    currency: str,
    kind: TaxType,
    chunks: Sequence[tuple[int, int]],
    taxes: Sequence[_Tax],
) -> None:
    applied = []
    for tax in taxes:
        percentage = _percentage(tax.rate)
        key = (percentage, kind, tax.name)
        if key not in uids:
            uids[key] = f"vat-{len(uids) + 1}"
            plan.taxes.append(
                {
                    "uid": uids[key],
                    "name": (tax.name or f"VAT {percentage} %")[:TAX_NAME_MAX],
                    "percentage": percentage,
                    "type": kind,
                    "scope": "LINE_ITEM",
                }
            )
        applied.append({"tax_uid": uids[key]})
    for quantity, price in chunks:
        item: dict[str, Any] = {
            "quantity": str(quantity),
            "base_price_money": {"amount": price, "currency": currency.upper()},
        }
        if line.pos_id is not None:
            item["catalog_object_id"] = line.pos_id
        else:
            item["name"] = (line.name or "charge")[:NAME_MAX]
            item["item_type"] = "CUSTOM_AMOUNT"
        if applied:
            item["applied_taxes"] = [dict(a) for a in applied]
        if paid.discount > 0:
            item["note"] = f"web shop discount {paid.discount} {currency.upper()} on the line"
        plan.line_items.append(item)


def _minor_text(amounts: Sequence[int], currency: str) -> str:
    return " + ".join(str(from_minor(a, currency)) for a in amounts) or "0"
