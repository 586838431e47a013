"""A shop day's turnover, pure: the day's bounds in the shop's timezone, the figures from the
POS's sales and refunds (pandas, in integer minor units of the day's currency, its own
ISO 4217 decimals through `possync.domain.money`, so sums are exact), and the one balanced
voucher they become.

    day_bounds   [start, end) of a local day in UTC; 23 or 25 hours on DST days
    figures      net sales and VAT per rate, refunds per rate, payments and refunds per
                 tender, and the rounding between what was tendered and what was sold;
                 web orders' sales (and their refunds) left out or taken in by `web_sales`
    voucher      the journal lines under the shop's account mapping; a voucher that does
                 not balance (an unmapped rate, a rounding beyond reason) is refused with
                 the day and the difference
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal
from zoneinfo import ZoneInfo

import pandas as pd

from possync.domain.config import AccountMapping
from possync.domain.money import from_minor, minor_units, to_minor
from possync.domain.turnover import (
    PosRefund,
    PosSale,
    TaxedAmount,
    TenderKind,
    Voucher,
    VoucherLine,
)

__all__ = [
    "DayFigures",
    "UnbalancedVoucher",
    "WebSales",
    "day_bounds",
    "figures",
    "rate_key",
    "voucher",
]

TENDERS: tuple[TenderKind, ...] = ("cash", "card", "other")
WebSales = Literal["exclude", "include"]
"""What the day's turnover does with the POS sales possync booked for web orders:
`exclude` them (the webshop's revenue reaches the books from the webshop, so counting
them here too would book it twice) or `include` them (at the price paid, VAT as charged)."""


class UnbalancedVoucher(ValueError):
    """The voucher would not balance: it is not posted."""


def day_bounds(day: date, timezone: str) -> tuple[datetime, datetime]:
    """The local day as a half-open UTC interval (a DST day is 23 or 25 hours long)."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def rate_key(rate: Decimal) -> str:
    """'25' for 25 %, '12.5' for 12.5 %: how rates are named in the account mapping."""
    text = format(rate.normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


@dataclass(frozen=True)
class DayFigures:
    """One day's turnover, in the shop's currency (amounts as Decimal at its decimals).

    `web_*` say what became of the web orders' sales and refunds of the day: left out
    (`web_sales` "exclude") or counted in the figures above ("include")."""

    day: date
    currency: str
    sales: int
    refunds: int
    net_by_rate: dict[str, Decimal] = field(default_factory=dict)  # sales - refunds
    vat_by_rate: dict[str, Decimal] = field(default_factory=dict)
    tenders: dict[str, Decimal] = field(default_factory=dict)  # payments - refunds paid
    rounding: Decimal = Decimal("0.00")  # tendered - (net + VAT)
    web_sales: WebSales = "exclude"
    web_orders: int = 0
    web_refunds: int = 0
    web_gross: Decimal = Decimal("0.00")  # the web sales' gross less their refunds

    @property
    def web_note(self) -> str:
        """What the voucher did with the day's web sales, in a sentence."""
        if self.web_sales == "exclude":
            return (
                f"web sales excluded: {self.web_orders} web order(s) and {self.web_refunds} "
                f"refund(s), {self.web_gross} {self.currency} gross, reach the books from the "
                "webshop"
            )
        return (
            f"web sales included at the price paid, VAT as charged: {self.web_orders} web "
            f"order(s) and {self.web_refunds} refund(s), {self.web_gross} {self.currency} gross"
        )

    @property
    def gross(self) -> Decimal:
        return sum(self.net_by_rate.values(), Decimal(0)) + sum(
            self.vat_by_rate.values(), Decimal(0)
        )

    def as_rows(self) -> list[dict[str, str]]:
        rows = [
            {"what": f"net sales {rate} %", "amount": str(v)}
            for rate, v in self.net_by_rate.items()
        ]
        rows += [
            {"what": f"VAT {rate} %", "amount": str(v)} for rate, v in self.vat_by_rate.items()
        ]
        rows += [{"what": f"tender {kind}", "amount": str(v)} for kind, v in self.tenders.items()]
        rows.append({"what": "rounding", "amount": str(self.rounding)})
        return rows


def _spread(refund: PosRefund, sale: PosSale | None, currency: str) -> list[TaxedAmount]:
    """A refund's amount over the refunded sale's VAT rates, in proportion to their gross,
    the VAT part of each share taken at its rate; the last share takes the minor units
    left."""
    if refund.lines:
        return list(refund.lines)
    total = to_minor(refund.amount, currency)
    if sale is None or not sale.lines:
        return [TaxedAmount(vat_rate=Decimal(0), net=refund.amount, vat=Decimal(0))]
    gross: dict[Decimal, int] = {}
    for line in sale.lines:
        gross[line.vat_rate] = gross.get(line.vat_rate, 0) + to_minor(line.net + line.vat, currency)
    whole = sum(gross.values()) or 1
    shares: list[TaxedAmount] = []
    left = total
    rates = sorted(gross)
    for i, rate in enumerate(rates):
        share = left if i == len(rates) - 1 else (total * gross[rate]) // whole
        left -= share
        vat = int(
            (Decimal(share) * rate / (100 + rate)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        )
        shares.append(
            TaxedAmount(
                vat_rate=rate,
                net=from_minor(share - vat, currency),
                vat=from_minor(vat, currency),
            )
        )
    return shares


def figures(
    day: date,
    currency: str,
    sales: Iterable[PosSale],
    refunds: Iterable[PosRefund],
    refunded_sales: Mapping[str, PosSale],
    *,
    web_sales: WebSales = "exclude",
) -> DayFigures:
    """The day's figures; refunds count on their own day, at the refunded sale's rates.
    A web order's sale (`PosSale.web`) and a refund of one follow `web_sales`; a refund
    whose sale the POS does not name is the register's. Amounts are summed in the
    currency's minor units (ISO 4217), exactly."""
    minor = minor_units(currency) if currency else 2

    def units(amount: Decimal) -> int:
        return to_minor(amount, currency) if currency else int(amount.scaleb(minor))

    def money(amount: int) -> Decimal:
        return from_minor(amount, currency) if currency else Decimal(amount).scaleb(-minor)

    lines: list[tuple[str, int, int]] = []
    tenders: list[tuple[str, int]] = []
    n_sales = n_refunds = web_orders = web_refunds = web_gross = 0
    for sale in sales:
        if sale.web:
            web_orders += 1
            web_gross += sum(units(x.net + x.vat) for x in sale.lines)
            if web_sales == "exclude":
                continue
        n_sales += 1
        lines += [(rate_key(x.vat_rate), units(x.net), units(x.vat)) for x in sale.lines]
        tenders += [(t.kind, units(t.amount)) for t in sale.tenders]
    for refund in refunds:
        original = refunded_sales.get(refund.sale_id or "")
        if original is not None and original.web:
            web_refunds += 1
            web_gross -= units(refund.amount)
            if web_sales == "exclude":
                continue
        n_refunds += 1
        lines += [
            (rate_key(x.vat_rate), -units(x.net), -units(x.vat))
            for x in _spread(refund, original, currency)
        ]
        tenders.append((refund.tender, -units(refund.amount)))
    by_rate = (
        pd.DataFrame(lines, columns=["rate", "net", "vat"]).groupby("rate", sort=True).sum()
        if lines
        else pd.DataFrame(columns=["net", "vat"])
    )
    by_tender = (
        pd.DataFrame(tenders, columns=["kind", "amount"]).groupby("kind", sort=True)["amount"].sum()
        if tenders
        else pd.Series(dtype="int64")
    )
    tendered = int(by_tender.sum()) if len(by_tender) else 0
    sold = int(by_rate["net"].sum() + by_rate["vat"].sum()) if len(by_rate) else 0
    return DayFigures(
        day=day,
        currency=currency,
        sales=n_sales,
        refunds=n_refunds,
        net_by_rate={str(r): money(int(v)) for r, v in by_rate["net"].items()},
        vat_by_rate={str(r): money(int(v)) for r, v in by_rate["vat"].items()},
        tenders={str(k): money(int(v)) for k, v in by_tender.items()},
        rounding=money(tendered - sold),
        web_sales=web_sales,
        web_orders=web_orders,
        web_refunds=web_refunds,
        web_gross=money(web_gross),
    )


def voucher(
    figures: DayFigures,
    accounts: AccountMapping,
    *,
    shop: str,
    rounding_per_sale: Decimal = Decimal("0.50"),
) -> Voucher:
    """The day as one journal voucher: debit what was tendered (less refunds) to each
    tender's clearing account, credit net sales per rate and the VAT, and the rounding
    (cash rounding: at most `rounding_per_sale` per sale or refund, else it is no rounding
    but a difference the voucher refuses)."""
    day = figures.day
    max_rounding = rounding_per_sale * max(figures.sales + figures.refunds, 1)
    lines: list[VoucherLine] = []
    missing: list[str] = []
    for kind, amount in figures.tenders.items():
        account = accounts.tenders.get(kind)  # type: ignore[call-overload]
        if account is None:
            missing.append(f"tender {kind} ({amount})")
            continue
        lines.append(VoucherLine(account=account, amount=amount, description=f"{kind} {day}"))
    for rate, net in figures.net_by_rate.items():
        account = accounts.revenue.get(rate)
        if account is None:
            missing.append(f"revenue at {rate} % ({net})")
            continue
        lines.append(
            VoucherLine(
                account=account,
                amount=-net,
                description=f"sales {rate} % VAT {day}",
                vat_rate=Decimal(rate),
            )
        )
    vat = sum(figures.vat_by_rate.values(), Decimal("0.00"))
    if vat:
        lines.append(VoucherLine(account=accounts.vat, amount=-vat, description=f"VAT {day}"))
    if figures.rounding and abs(figures.rounding) <= max_rounding:
        lines.append(
            VoucherLine(
                account=accounts.rounding, amount=-figures.rounding, description=f"rounding {day}"
            )
        )
    lines = [line for line in lines if line.amount]
    built = Voucher(
        reference=f"possync turnover {shop} {day.isoformat()}",
        day=day,
        currency=figures.currency,
        narration=f"Daily turnover {day.isoformat()} ({figures.sales} sales, "
        f"{figures.refunds} refunds; web sales {figures.web_sales}d)",
        lines=tuple(lines),
    )
    if built.imbalance:
        why = f"; unmapped: {', '.join(missing)}" if missing else ""
        if figures.rounding and abs(figures.rounding) > max_rounding:
            why += f"; tendered and sold differ by {figures.rounding}, beyond rounding"
        raise UnbalancedVoucher(
            f"the turnover voucher of {day.isoformat()} does not balance: debits and credits "
            f"differ by {built.imbalance} {figures.currency}{why}; nothing was posted"
        )
    return built


def difference(posted: Sequence[VoucherLine], wanted: Voucher) -> Voucher | None:
    """A correction: what `wanted` adds to what was posted, per account (None: nothing)."""
    totals: dict[str, Decimal] = {}
    for line in wanted.lines:
        totals[line.account] = totals.get(line.account, Decimal(0)) + line.amount
    for line in posted:
        totals[line.account] = totals.get(line.account, Decimal(0)) - line.amount
    lines = tuple(
        VoucherLine(account=a, amount=v, description=f"correction {wanted.day}")
        for a, v in sorted(totals.items())
        if v
    )
    if not lines:
        return None
    return wanted.model_copy(
        update={"lines": lines, "narration": f"Correction of {wanted.narration}"}
    )
