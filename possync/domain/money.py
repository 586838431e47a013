"""Money as the vendors hold it: decimal amounts in a currency's own minor units.

Every amount that crosses to another system goes through here, so that no amount is
rounded on the way (a price that the other side cannot hold exactly is refused with the
reason, never changed) and no currency is assumed to have two decimals (ISO 4217: JPY 0,
EUR 2, KWD 3; the table comes from the `iso4217` package, not typed by hand).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from iso4217 import Currency

__all__ = [
    "INT64_MAX",
    "MoneyError",
    "exact_amount",
    "from_minor",
    "minor_units",
    "parse_amount",
    "to_minor",
]

INT64_MAX = 2**63 - 1
"""The largest minor-unit amount Square's Money.amount (int64) holds."""

# Decimal text longer than this is refused before it is parsed: no price has 40 digits,
# and a huge exponent ("1e999999") must not become a number to compute with.
_MAX_TEXT = 40


class MoneyError(ValueError):
    """An amount that cannot be carried exactly; the message says why, for a person."""


def minor_units(currency: str) -> int:
    """How many decimals the currency has (ISO 4217 exponent): EUR 2, JPY 0, KWD 3."""
    code = (currency or "").strip().upper()
    try:
        exponent = Currency(code).exponent
    except ValueError:
        raise MoneyError(f"currency {currency!r} is not an ISO 4217 code") from None
    if exponent is None:
        raise MoneyError(f"currency {code} has no minor units (not money a shop sells in)")
    return int(exponent)


def parse_amount(raw: object) -> Decimal:
    """A finite decimal from text or a number, or MoneyError naming what was given."""
    if isinstance(raw, bool) or raw is None:
        raise MoneyError(f"amount {raw!r} is not a number")
    if isinstance(raw, float):
        raw = repr(raw)
    text = str(raw).strip()
    if len(text) > _MAX_TEXT:
        raise MoneyError(f"amount {text[:20]}… has {len(text)} characters; too long")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise MoneyError(f"amount {text!r} is not a number") from None
    if not value.is_finite():
        raise MoneyError(f"amount {text!r} is not a number")
    if abs(value.adjusted()) > _MAX_TEXT:
        raise MoneyError(f"amount {text!r} is out of range")
    return value


def exact_amount(amount: Decimal, currency: str) -> Decimal:
    """The amount at the currency's decimals, if that changes nothing; else MoneyError."""
    exponent = minor_units(currency)
    step = Decimal(1).scaleb(-exponent)
    try:
        fitted = amount.quantize(step)
    except InvalidOperation:
        raise MoneyError(f"amount {amount} is out of range") from None
    if fitted != amount:
        raise MoneyError(
            f"amount {amount} has more decimals than {currency.upper()} has ({exponent}); "
            "it would have to be rounded"
        )
    return fitted


def to_minor(amount: Decimal, currency: str, *, limit: int = INT64_MAX) -> int:
    """The amount in minor units (12.50 EUR -> 1250, 1250 JPY -> 1250), exactly, within
    ±`limit` (int64 by default); otherwise MoneyError."""
    exact = exact_amount(amount, currency)
    minor = int(exact.scaleb(minor_units(currency)))
    if abs(minor) > limit:
        raise MoneyError(f"amount {amount} {currency.upper()} is beyond what the receiver holds")
    return minor


def from_minor(amount: int, currency: str) -> Decimal:
    """Minor units back to the decimal amount, at the currency's decimals."""
    exponent = minor_units(currency)
    return Decimal(amount).scaleb(-exponent).quantize(Decimal(1).scaleb(-exponent))
