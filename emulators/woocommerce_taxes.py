"""Tax rates and an order's taxes in the WooCommerce emulator, as WooCommerce core keeps them.

What is copied from WooCommerce (WC_Tax, WC_Abstract_Order::calculate_taxes and
calculate_totals, WC_Order_Item_Tax):

- Tax rates (`/taxes`, the `tax` schema of ../shared/specs/woocommerce) belong to a tax
  class: `standard`, `reduced-rate` or `zero-rate`. A product's `tax_class` "" is the
  standard class; a variation's "parent" (or "") is its parent's. A product whose
  `tax_status` is not `taxable` is not taxed. The emulator's rates match every address
  (WooCommerce's empty country, state, postcode and city).
- A line's taxes are per rate, on the line's total without tax: non-compound rates on the
  total, compound ones on the total plus the taxes before them (by priority). Each is
  rounded half up to the shop's price decimals (wc_round_tax_total, with "round tax at
  subtotal level" off, WooCommerce's default). Shipping lines are taxed by the standard
  class's rates marked `shipping`; fee lines by their own `tax_class` when `taxable`.
- When the shop's prices include tax (`woocommerce_prices_include_tax`), a product line
  added without totals is priced as the checkout stores it: the catalogue price times the
  quantity is the gross, each rate's tax is taken out of it (gross x rate / (100 + the
  rates), rounded half up), and the total without tax is the gross less those taxes, so
  total + tax is exactly the price the customer saw. (WooCommerce's REST controller keeps
  such a total unrounded instead; the emulator stores what a storefront checkout stores.)
  Totals given in the request are taken as WooCommerce takes them: without tax.
- The order's `tax_lines` are one WC_Order_Item_Tax per rate used, with `rate_percent`
  (part of the tax item's data since WooCommerce 3.7, so in every order the REST API
  answers, though the 2021 spec file does not list it).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from emulators.woocommerce_params import (
    BOOL,
    INT,
    STR,
    Arg,
    WooError,
    arg,
    decimal_of,
    to_bool,
    to_int,
    to_str,
)

TAX_CLASSES = ("standard", "reduced-rate", "zero-rate")
TAX_ARGS: dict[str, Arg] = {
    "country": STR,
    "state": STR,
    "rate": STR,
    "name": STR,
    "priority": INT,
    "compound": BOOL,
    "shipping": BOOL,
    "order": INT,
    "class": arg("string", enum=TAX_CLASSES),
}

_HUNDRED = Decimal(100)


@dataclass
class TaxRate:
    """One row of woocommerce_tax_rates."""

    id: int
    rate: Decimal
    name: str
    tax_class: str = "standard"
    priority: int = 1
    compound: bool = False
    shipping: bool = True
    order: int = 0

    @property
    def code(self) -> str:
        """WC_Tax::get_rate_code: country, state, name and priority joined (empty ones left
        out), upper case."""
        return "-".join(part for part in ((self.name or "TAX").upper(), str(self.priority)) if part)

    def json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "country": "",
            "state": "",
            "postcode": "",
            "city": "",
            "postcodes": [],
            "cities": [],
            "rate": f"{self.rate:.4f}",
            "name": self.name,
            "priority": self.priority,
            "compound": self.compound,
            "shipping": self.shipping,
            "order": self.order,
            "class": self.tax_class,
        }


class TaxTable:
    """The shop's tax rates and its prices-include-tax setting."""

    def __init__(self) -> None:
        self.rates: dict[int, TaxRate] = {}
        self.prices_include_tax = False
        self._next = 1

    def create(self, body: dict[str, Any]) -> TaxRate:
        """POST /taxes."""
        tax_class = to_str(body.get("class") or "standard")
        if tax_class not in TAX_CLASSES:
            raise WooError("rest_invalid_param", "Invalid parameter(s): class", 400)
        rate = TaxRate(
            id=self._next,
            rate=decimal_of(body.get("rate") or "0"),
            name=to_str(body.get("name") or ""),
            tax_class=tax_class,
            priority=to_int(body.get("priority") or 1),
            compound=to_bool(body.get("compound", False)),
            shipping=to_bool(body.get("shipping", True)),
            order=to_int(body.get("order") or 0),
        )
        self._next += 1
        self.rates[rate.id] = rate
        return rate

    def for_class(self, tax_class: str) -> list[TaxRate]:
        """The rates of a class, by priority then order (WC_Tax::find_rates)."""
        wanted = tax_class or "standard"
        found = [r for r in self.rates.values() if r.tax_class == wanted]
        return sorted(found, key=lambda r: (r.priority, r.order, r.id))

    def for_shipping(self) -> list[TaxRate]:
        return [r for r in self.for_class("standard") if r.shipping]


def round_tax(value: Decimal, decimals: int) -> Decimal:
    """wc_round_tax_total: half up to the price decimals."""
    return value.quantize(Decimal(1).scaleb(-decimals), ROUND_HALF_UP)


def exclusive_taxes(total: Decimal, rates: Sequence[TaxRate], decimals: int) -> dict[int, Decimal]:
    """WC_Tax::calc_exclusive_tax, each tax rounded: rate id -> tax on `total`."""
    taxes: dict[int, Decimal] = {}
    for rate in rates:
        if rate.compound:
            continue
        taxes[rate.id] = round_tax(total * rate.rate / _HUNDRED, decimals)
    for rate in rates:
        if rate.compound:
            base = total + sum(taxes.values(), Decimal(0))
            taxes[rate.id] = round_tax(base * rate.rate / _HUNDRED, decimals)
    return taxes


def inclusive_taxes(gross: Decimal, rates: Sequence[TaxRate], decimals: int) -> dict[int, Decimal]:
    """The taxes inside a gross price (non-compound rates; WC_Tax::calc_inclusive_tax)."""
    plain = [r for r in rates if not r.compound]
    combined = sum((r.rate for r in plain), Decimal(0))
    return {r.id: round_tax(gross * r.rate / (_HUNDRED + combined), decimals) for r in plain}


def money_text(value: Decimal, decimals: int) -> str:
    """An amount as the REST API prints it (wc_format_decimal with the price decimals)."""
    return f"{round_tax(value, decimals):f}"


def rate_ids(taxes: Iterable[dict[int, Decimal]]) -> list[int]:
    return sorted({rate_id for line in taxes for rate_id in line})
