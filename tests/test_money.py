"""possync.domain.money: amounts in each currency's own minor units, exactly or not at all."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from possync.domain.money import (
    INT64_MAX,
    MoneyError,
    exact_amount,
    from_minor,
    minor_units,
    parse_amount,
    to_minor,
)


@pytest.mark.parametrize(("currency", "decimals"), [("EUR", 2), ("dkk", 2), ("JPY", 0), ("KWD", 3)])
def test_minor_units_follow_iso_4217(currency: str, decimals: int) -> None:
    assert minor_units(currency) == decimals


@pytest.mark.parametrize("currency", ["XXX", "EURO", "", "XAU"])
def test_unknown_or_non_money_currencies_are_refused(currency: str) -> None:
    with pytest.raises(MoneyError):
        minor_units(currency)


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [("12.50", "EUR", 1250), ("1250", "JPY", 1250), ("1.005", "KWD", 1005), ("0.01", "EUR", 1)],
)
def test_to_minor_is_exact(amount: str, currency: str, minor: int) -> None:
    assert to_minor(Decimal(amount), currency) == minor
    assert from_minor(minor, currency) == Decimal(amount)


@pytest.mark.parametrize(
    ("amount", "currency"),
    [("12.345", "EUR"), ("0.001", "EUR"), ("10.5", "JPY"), ("1.0005", "KWD")],
)
def test_an_amount_the_currency_cannot_hold_is_refused_not_rounded(
    amount: str, currency: str
) -> None:
    with pytest.raises(MoneyError, match="rounded"):
        to_minor(Decimal(amount), currency)
    with pytest.raises(MoneyError):
        exact_amount(Decimal(amount), currency)


def test_int64_is_the_limit_of_a_minor_unit_amount() -> None:
    largest = from_minor(INT64_MAX, "EUR")
    assert to_minor(largest, "EUR") == INT64_MAX
    with pytest.raises(MoneyError, match="beyond"):
        to_minor(largest + Decimal("0.01"), "EUR")
    with pytest.raises(MoneyError, match="beyond"):
        to_minor(Decimal(10) ** 17, "EUR")


@pytest.mark.parametrize(
    "raw", ["abc", "", "NaN", "Infinity", "1e999999", "9" * 29 + "." + "9" * 20, None, True]
)
def test_parse_amount_refuses_what_is_not_a_usable_number(raw: object) -> None:
    with pytest.raises(MoneyError):
        parse_amount(raw)


def test_parse_amount_keeps_the_digits_given() -> None:
    assert parse_amount(" 12.345 ") == Decimal("12.345")
    assert parse_amount(19.99) == Decimal("19.99")


@given(
    st.integers(min_value=-INT64_MAX, max_value=INT64_MAX), st.sampled_from(["EUR", "JPY", "KWD"])
)
def test_minor_units_round_trip(minor: int, currency: str) -> None:
    assert to_minor(from_minor(minor, currency), currency) == minor
