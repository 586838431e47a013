"""Order taxes as Square's Orders API computes them (Square-Version 2025-08-20).

What the docs say, and what this module does with it:

- A tax is ADDITIVE ("added on top of the price": 1.00 at 10 % costs 1.10) or INCLUSIVE
  ("already included in the line item price": 1.00 at 10 % is 0.91 plus 0.09 tax), per
  `OrderLineItemTaxType`. So a line's `total_money` is its gross price plus its additive
  taxes, and its `total_tax_money` is all of its taxes.
- "The Orders API performs its adjustment calculations using Bankers' Rounding" (Order Price
  Adjustments, Rounding rules): every rounding to the currency's minor unit is half-even.
- Scope: a LINE_ITEM tax applies to the lines that reference it in `applied_taxes` and is
  computed and rounded per line. An ORDER tax applies to every line ("the price adjustment is
  distributed across all the line item subtotals") and is computed once on the sum of its
  lines, then rounded: Square's own forum answers show the ORDER tax as the rounded tax of the
  subtotal (30.20 at 11.75 % = 3.5485 -> 3.55; 36.90 at 8.875 % -> 3.27 where per-line
  rounding would give 3.28). The rounded amount is then shared out over the lines in
  proportion to what each contributes (largest remainder, ties to the earlier line; the docs
  do not say how Square splits the last minor unit, so that part is this emulator's choice).
- Several taxes on one line all apply to the same pre-tax base (no tax on tax): inclusive
  taxes first take their combined share out of the gross price,
  pre_tax = gross * 100 / (100 + sum of inclusive percentages), and each tax is then
  pre_tax * percentage / 100. (Also the emulator's reading: the docs give no example of
  stacked taxes.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal

ADDITIVE = "ADDITIVE"
INCLUSIVE = "INCLUSIVE"
_HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class TaxDef:
    """One of an order's `taxes`, resolved (a catalog tax's values copied in)."""

    uid: str
    percentage: str
    type: str  # ADDITIVE | INCLUSIVE
    scope: str  # ORDER | LINE_ITEM
    name: str | None = None
    catalog_object_id: str | None = None
    catalog_version: int | None = None

    @property
    def rate(self) -> Decimal:
        return Decimal(self.percentage)


def half_even(value: Decimal) -> int:
    """Bankers' rounding to a whole minor unit."""
    return int(value.to_integral_value(ROUND_HALF_EVEN))


def line_taxes(
    grosses: Sequence[int], refs: Sequence[Sequence[str]], taxes: Sequence[TaxDef]
) -> list[list[int]]:
    """The amount of each tax on each line: `result[i][k]` is the tax `refs[i][k]` on line i,
    whose gross price (base price x quantity, in minor units) is `grosses[i]`."""
    by_uid = {tax.uid: tax for tax in taxes}
    pre_tax = []
    for gross, uids in zip(grosses, refs, strict=True):
        inclusive = sum((by_uid[u].rate for u in uids if by_uid[u].type == INCLUSIVE), Decimal(0))
        pre_tax.append(Decimal(gross) * _HUNDRED / (_HUNDRED + inclusive))
    amounts: list[list[int]] = [[0] * len(uids) for uids in refs]
    for tax in taxes:
        where = [(i, uids.index(tax.uid)) for i, uids in enumerate(refs) if tax.uid in uids]
        raw = [pre_tax[i] * tax.rate / _HUNDRED for i, _ in where]
        if tax.scope == "ORDER":
            shares = apportion(half_even(sum(raw, Decimal(0))), raw)
        else:
            shares = [half_even(r) for r in raw]
        for (i, k), share in zip(where, shares, strict=True):
            amounts[i][k] = share
    return amounts


def apportion(total: int, weights: Sequence[Decimal]) -> list[int]:
    """`total` minor units shared in proportion to `weights` (largest remainder method)."""
    weight = sum(weights, Decimal(0))
    if not weights or weight == 0:
        return [0] * len(weights)
    exact = [Decimal(total) * w / weight for w in weights]
    shares = [int(e.to_integral_value(ROUND_FLOOR)) for e in exact]
    left = total - sum(shares)
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - shares[i]), i))
    for i in order[: max(left, 0)]:
        shares[i] += 1
    return shares


def inclusive_part(amounts: Sequence[int], uids: Sequence[str], taxes: Sequence[TaxDef]) -> int:
    """How much of a line's taxes is inclusive (already in its gross price)."""
    by_uid = {tax.uid: tax for tax in taxes}
    return sum(a for a, u in zip(amounts, uids, strict=True) if by_uid[u].type == INCLUSIVE)


__all__ = [
    "ADDITIVE",
    "INCLUSIVE",
    "TaxDef",
    "apportion",
    "half_even",
    "inclusive_part",
    "line_taxes",
]
