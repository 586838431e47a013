"""Turnover planning without I/O: local days, figures, the voucher, corrections."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from possync.domain.config import AccountMapping
from possync.domain.turnover import PosRefund, PosSale, TaxedAmount, Tender
from possync.planning import turnover as tv

CPH = "Europe/Copenhagen"
D = Decimal


def sale(
    sid: str, at: datetime, lines: list[tuple[str, str, str]], tenders: dict[str, str]
) -> PosSale:
    return PosSale(
        sale_id=sid,
        closed_at=at,
        currency="DKK",
        lines=tuple(TaxedAmount(vat_rate=D(r), net=D(n), vat=D(v)) for r, n, v in lines),
        tenders=tuple(Tender(kind=k, amount=D(a)) for k, a in tenders.items()),
    )


def test_dst_days_are_23_and_25_hours_long() -> None:
    spring = tv.day_bounds(date(2026, 3, 29), CPH)
    autumn = tv.day_bounds(date(2026, 10, 25), CPH)
    normal = tv.day_bounds(date(2026, 6, 1), CPH)
    assert spring[1] - spring[0] == timedelta(hours=23)
    assert autumn[1] - autumn[0] == timedelta(hours=25)
    assert normal == (datetime(2026, 5, 31, 22, tzinfo=UTC), datetime(2026, 6, 1, 22, tzinfo=UTC))


def test_a_sale_at_23_59_59_local_is_in_its_day_and_midnight_in_the_next() -> None:
    start, end = tv.day_bounds(date(2026, 1, 15), CPH)
    late = datetime(2026, 1, 15, 22, 59, 59, tzinfo=UTC)  # 23:59:59 in Copenhagen (UTC+1)
    midnight = datetime(2026, 1, 15, 23, 0, 0, tzinfo=UTC)  # 00:00:00 on the 16th
    assert start <= late < end
    assert not start <= midnight < end
    assert tv.day_bounds(date(2026, 1, 16), CPH)[0] == midnight


def test_figures_per_rate_and_tender_with_rounding() -> None:
    at = datetime(2026, 1, 15, 12, tzinfo=UTC)
    sales = [
        sale("A", at, [("25", "80.00", "20.00"), ("0", "10.00", "0.00")], {"card": "110.00"}),
        sale("B", at, [("25", "39.96", "9.99")], {"cash": "50.00"}),  # 49.95 rounded to 50
    ]
    figures = tv.figures(date(2026, 1, 15), "DKK", sales, [], {})
    assert figures.net_by_rate == {"0": D("10.00"), "25": D("119.96")}
    assert figures.vat_by_rate == {"0": D("0.00"), "25": D("29.99")}
    assert figures.tenders == {"card": D("110.00"), "cash": D("50.00")}
    assert figures.rounding == D("0.05")
    voucher = tv.voucher(figures, AccountMapping(), shop="S1")
    assert voucher.imbalance == 0
    by_account = {line.account: line.amount for line in voucher.lines}
    mapping = AccountMapping()
    assert by_account[mapping.revenue["25"]] == D("-119.96")
    assert by_account[mapping.vat] == D("-29.99")
    assert by_account[mapping.tenders["card"]] == D("110.00")
    assert by_account[mapping.rounding] == D("-0.05")
    assert voucher.reference == "possync turnover S1 2026-01-15"


def test_a_refund_of_an_earlier_sale_counts_today_at_that_sales_rates() -> None:
    yesterday = sale(
        "OLD",
        datetime(2026, 1, 14, 12, tzinfo=UTC),
        [("25", "80.00", "20.00"), ("0", "100.00", "0.00")],
        {"card": "200.00"},
    )
    refund = PosRefund(
        refund_id="R1",
        sale_id="OLD",
        created_at=datetime(2026, 1, 15, 9, tzinfo=UTC),
        currency="DKK",
        amount=D("50.00"),
        tender="card",
    )
    figures = tv.figures(date(2026, 1, 15), "DKK", [], [refund], {"OLD": yesterday})
    assert figures.tenders == {"card": D("-50.00")}
    assert figures.net_by_rate["25"] + figures.vat_by_rate["25"] == D("-25.00")
    assert figures.vat_by_rate["25"] == D("-5.00")
    assert figures.net_by_rate["0"] == D("-25.00")
    assert tv.voucher(figures, AccountMapping(), shop="S1").imbalance == 0


def test_a_day_without_sales_makes_an_empty_voucher() -> None:
    figures = tv.figures(date(2026, 1, 15), "DKK", [], [], {})
    assert figures.sales == 0 and figures.gross == 0
    assert tv.voucher(figures, AccountMapping(), shop="S1").lines == ()


def test_an_unmapped_rate_is_refused_naming_the_day_and_the_difference() -> None:
    at = datetime(2026, 1, 15, 12, tzinfo=UTC)
    figures = tv.figures(
        date(2026, 1, 15),
        "DKK",
        [sale("A", at, [("12", "100.00", "12.00")], {"card": "112.00"})],
        [],
        {},
    )
    with pytest.raises(tv.UnbalancedVoucher, match=r"2026-01-15.*differ by 100\.00 DKK.*12 %"):
        tv.voucher(figures, AccountMapping(), shop="S1")


def test_a_correction_posts_only_the_difference() -> None:
    at = datetime(2026, 1, 15, 12, tzinfo=UTC)
    first = tv.voucher(
        tv.figures(
            date(2026, 1, 15), "DKK", [sale("A", at, [("25", "80", "20")], {"card": "100"})], [], {}
        ),
        AccountMapping(),
        shop="S1",
    )
    more = [
        sale("A", at, [("25", "80", "20")], {"card": "100"}),
        sale("B", at, [("25", "8", "2")], {"cash": "10"}),
    ]
    wanted = tv.voucher(
        tv.figures(date(2026, 1, 15), "DKK", more, [], {}), AccountMapping(), shop="S1"
    )
    correction = tv.difference(first.lines, wanted)
    assert correction is not None and correction.imbalance == 0
    assert sorted(line.amount for line in correction.lines) == [D("-8.00"), D("-2.00"), D("10.00")]
    assert tv.difference(wanted.lines, wanted) is None


def test_a_difference_beyond_cash_rounding_is_refused() -> None:
    at = datetime(2026, 1, 15, 12, tzinfo=UTC)
    figures = tv.figures(
        date(2026, 1, 15), "DKK", [sale("A", at, [("25", "40", "10")], {"cash": "100"})], [], {}
    )
    with pytest.raises(tv.UnbalancedVoucher, match=r"differ by 50\.00.*beyond rounding"):
        tv.voucher(figures, AccountMapping(), shop="S1")


def test_figures_keep_each_currencys_own_minor_units() -> None:
    """Issue 12, defect 3: CENTS = 100 for every currency rounded a Kuwaiti dinar's third
    decimal away (1.005 became 1.01) and booked yen at two decimals. Figures are exact in
    the currency's ISO 4217 minor units: KWD 3, JPY 0."""
    at = datetime(2026, 1, 15, 12, tzinfo=UTC)
    kwd = PosSale(
        sale_id="K",
        closed_at=at,
        currency="KWD",
        lines=(TaxedAmount(vat_rate=D("5"), net=D("1.005"), vat=D("0.050")),),
        tenders=(Tender(kind="card", amount=D("1.055")),),
    )
    figures = tv.figures(date(2026, 1, 15), "KWD", [kwd], [], {})
    assert figures.net_by_rate == {"5": D("1.005")}
    assert figures.vat_by_rate == {"5": D("0.050")}
    assert figures.tenders == {"card": D("1.055")}
    assert figures.rounding == 0
    refund = PosRefund(
        refund_id="R", sale_id="K", created_at=at, currency="KWD", amount=D("0.525"), tender="card"
    )
    back = tv.figures(date(2026, 1, 15), "KWD", [], [refund], {"K": kwd})
    assert back.net_by_rate["5"] + back.vat_by_rate["5"] == D("-0.525")
    assert back.vat_by_rate["5"] == D("-0.025")  # 0.525 x 5/105, in fils

    jpy = PosSale(
        sale_id="J",
        closed_at=at,
        currency="JPY",
        lines=(TaxedAmount(vat_rate=D("10"), net=D("1137"), vat=D("113")),),
        tenders=(Tender(kind="cash", amount=D("1250")),),
    )
    yen = tv.figures(date(2026, 1, 15), "JPY", [jpy], [], {})
    assert [str(v) for v in yen.net_by_rate.values()] == ["1137"]
    assert str(yen.tenders["cash"]) == "1250"
    assert yen.rounding == 0


def web(s: PosSale) -> PosSale:
    return s.model_copy(update={"web": True})


def test_web_sales_and_their_refunds_are_left_out_or_taken_in_by_the_setting() -> None:
    at = datetime(2026, 1, 15, 12, tzinfo=UTC)
    register = sale("R", at, [("25", "100.00", "25.00")], {"card": "125.00"})
    online = web(
        sale("W", at, [("25", "144.00", "36.00"), ("12", "40.18", "4.82")], {"other": "225.00"})
    )
    earlier = web(sale("W0", at - timedelta(days=2), [("25", "80.00", "20.00")], {}))
    refunds = [
        PosRefund(refund_id="F1", sale_id="W", created_at=at, currency="DKK", amount=D("45.00")),
        PosRefund(refund_id="F2", sale_id="W0", created_at=at, currency="DKK", amount=D("10.00")),
    ]
    refunded = {"W": online, "W0": earlier}
    day = date(2026, 1, 15)
    out = tv.figures(day, "DKK", [register, online], refunds, refunded, web_sales="exclude")
    assert (out.sales, out.refunds) == (1, 0)
    assert out.net_by_rate == {"25": D("100.00")} and out.tenders == {"card": D("125.00")}
    assert (out.web_orders, out.web_refunds, out.web_gross) == (1, 2, D("170.00"))
    assert "excluded" in out.web_note and "170.00 DKK" in out.web_note
    assert "web sales excluded" in tv.voucher(out, AccountMapping(), shop="S1").narration
    both = tv.figures(day, "DKK", [register, online], refunds, refunded, web_sales="include")
    assert (both.sales, both.refunds) == (2, 2)
    assert both.tenders == {"card": D("125.00"), "other": D("170.00")}
    assert sum(both.net_by_rate.values()) + sum(both.vat_by_rate.values()) == D("295.00")
    assert both.vat_by_rate["12"] < D("4.82")  # the refund took some 12 % VAT back
    assert "included" in both.web_note


def test_a_refund_of_a_sale_the_pos_does_not_name_is_the_registers() -> None:
    at = datetime(2026, 1, 15, 12, tzinfo=UTC)
    refund = PosRefund(refund_id="F", sale_id=None, created_at=at, currency="DKK", amount=D(5))
    out = tv.figures(date(2026, 1, 15), "DKK", [], [refund], {}, web_sales="exclude")
    assert out.refunds == 1 and out.tenders == {"other": D("-5.00")}


def test_yen_are_summed_in_whole_yen() -> None:
    at = datetime(2026, 1, 15, 12, tzinfo=UTC)
    sales = [
        PosSale(
            sale_id="J",
            closed_at=at,
            currency="JPY",
            lines=(TaxedAmount(vat_rate=D(10), net=D(1000), vat=D(100)),),
            tenders=(Tender(kind="card", amount=D(1100)),),
        )
    ]
    refund = PosRefund(
        refund_id="F", sale_id="J", created_at=at, currency="JPY", amount=D(550), tender="card"
    )
    out = tv.figures(date(2026, 1, 15), "JPY", sales, [refund], {"J": sales[0]})
    assert out.net_by_rate == {"10": D(500)} and out.vat_by_rate == {"10": D(50)}
    assert out.tenders == {"card": D(550)} and out.rounding == D(0)
    with pytest.raises(ValueError, match="decimals"):  # a yen amount with sen is refused
        tv.figures(date(2026, 1, 15), "JPY", [sale("X", at, [("0", "1.50", "0")], {})], [], {})
