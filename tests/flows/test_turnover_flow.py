"""The daily-turnover flow end to end: a real Prefect run, the Square emulator's sales over
real sockets, the voucher posted to the emulated Xero, the ledger on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import SecretStr

from blocks import SyncSettings, XeroCredentials
from emulators.control import EmulatorControl, FaultConfig
from emulators.square_seed import SeedLine, SeedSale
from emulators.xero import DEMO_TOKEN, PREFIX, create_xero_app
from emulators.xero_state import DEMO_TENANT_ID, XeroState
from flows.turnover import send_daily_turnover
from possync.serving import RunningServer, serve_in_thread
from tests.shop import EmulatedShop, running_shop

CPH = ZoneInfo("Europe/Copenhagen")
DAY = date(2026, 11, 18)


@dataclass
class Books:
    state: XeroState
    server: RunningServer
    control: EmulatorControl


@pytest.fixture
def shop(db_url: str) -> Iterator[EmulatedShop]:
    yield from running_shop([])


@pytest.fixture
def xero(shop: EmulatedShop) -> Iterator[Books]:
    state = XeroState()
    app = create_xero_app(state, access_token=DEMO_TOKEN, tenant_id=DEMO_TENANT_ID)
    server = serve_in_thread(app)
    XeroCredentials(
        base_url=f"{server.url}{PREFIX}",
        access_token=SecretStr(DEMO_TOKEN),
        tenant_id=DEMO_TENANT_ID,
    ).save("possync-xero", overwrite=True)
    SyncSettings(shop="test-shop").save("possync-settings", overwrite=True)
    try:
        yield Books(state, server, app.state.control)
    finally:
        server.stop()


def local(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute, second), tzinfo=CPH)


def ring_up(shop: EmulatedShop, *sales: tuple[datetime, int, str | None, str]) -> list[str]:
    """Sales (closed at, price in øre incl. VAT, VAT rate or None, tender)."""
    ids = shop.square.seed_sales(
        SeedSale(closed_at=at, lines=(SeedLine(price=price, vat=vat),), tender=tender)  # type: ignore[arg-type]
        for at, price, vat, tender in sales
    )
    return list(ids)


def journal_lines(books: Books) -> list[dict[str, Decimal]]:
    found = []
    for journal in books.state.journals():
        amounts: dict[str, Decimal] = {}
        for line in journal.lines:
            code = line.account.code if line.account else "?"
            amounts[code] = amounts.get(code, Decimal(0)) + line.amount
        found.append(amounts)
    return found


def test_a_day_is_posted_once_balanced_and_matching_the_pos(
    shop: EmulatedShop, xero: Books
) -> None:
    ring_up(
        shop,
        (local(DAY, 0, 0, 0), 12500, "25", "CARD"),  # 100.00 + 25.00 VAT
        (local(DAY, 12), 5000, None, "CASH"),  # 50.00 without VAT
        (local(DAY, 23, 59, 59), 2500, "25", "EXTERNAL"),  # 20.00 + 5.00, still this day
        (local(DAY + timedelta(days=1), 0, 0, 0), 99900, "25", "CARD"),  # the next day
        (local(DAY - timedelta(days=1), 23, 59, 59), 77700, "25", "CARD"),  # the day before
    )
    [result] = send_daily_turnover(day=DAY)
    assert result["outcome"] == "posted"
    [lines] = journal_lines(xero)
    assert sum(lines.values()) == 0
    assert lines == {
        "091": Decimal("125.00"),
        "092": Decimal("50.00"),
        "090": Decimal("25.00"),
        "200": Decimal("-120.00"),
        "260": Decimal("-50.00"),
        "820": Decimal("-30.00"),
    }
    again = send_daily_turnover(day=DAY)
    assert again[0]["outcome"] == "already posted"
    assert len(xero.state.journals()) == 1


def test_a_correction_posts_only_the_difference(shop: EmulatedShop, xero: Books) -> None:
    ring_up(shop, (local(DAY, 10), 12500, "25", "CARD"))
    send_daily_turnover(day=DAY)
    ring_up(shop, (local(DAY, 11), 2500, "25", "CASH"))  # a late sale reaches the POS
    assert send_daily_turnover(day=DAY)[0]["outcome"] == "already posted"
    assert send_daily_turnover(day=DAY, correction=True)[0]["outcome"] == "corrected"
    _first, correction = journal_lines(xero)
    assert correction == {
        "092": Decimal("25.00"),
        "200": Decimal("-20.00"),
        "820": Decimal("-5.00"),
    }
    assert send_daily_turnover(day=DAY, correction=True)[0]["outcome"] == "no change"
    assert len(xero.state.journals()) == 2


def test_a_refund_of_an_earlier_sale_is_booked_on_its_own_day(
    shop: EmulatedShop, xero: Books
) -> None:
    [order] = ring_up(shop, (local(DAY - timedelta(days=1), 15), 12500, "25", "CARD"))
    shop.square.seed_refund(shop.square.seeded_payment_id(order), 5000, local(DAY, 9))
    ring_up(shop, (local(DAY, 10), 2500, "25", "CASH"))
    send_daily_turnover(day=DAY)
    [lines] = journal_lines(xero)
    assert lines["091"] == Decimal("-50.00")  # card money back
    assert lines["092"] == Decimal("25.00")
    assert lines["200"] == Decimal("20.00")  # 25.00 sold, 50.00 refunded, both at 25 %
    assert lines["820"] == Decimal("5.00")
    assert sum(lines.values()) == 0


def test_daylight_saving_days_take_their_23_and_25_hours(shop: EmulatedShop, xero: Books) -> None:
    spring, autumn = date(2026, 3, 29), date(2026, 10, 25)
    ring_up(
        shop,
        (local(spring, 0, 30), 1000, None, "CASH"),
        (local(spring, 23, 30), 1000, None, "CASH"),
        (local(autumn, 0, 30), 2000, None, "CASH"),
        (local(autumn, 23, 30), 2000, None, "CASH"),
        (local(autumn + timedelta(days=1), 0, 0), 9900, None, "CASH"),
    )
    send_daily_turnover(day=spring)
    send_daily_turnover(day=autumn)
    spring_lines, autumn_lines = journal_lines(xero)
    assert spring_lines["092"] == Decimal("20.00")
    assert autumn_lines["092"] == Decimal("40.00")


def test_a_day_without_sales_posts_nothing(shop: EmulatedShop, xero: Books) -> None:
    assert send_daily_turnover(day=DAY)[0]["outcome"] == "empty day"
    assert xero.state.journals() == []


def test_an_unbalanced_mapping_fails_the_run_and_posts_nothing(
    shop: EmulatedShop, xero: Books
) -> None:
    SyncSettings(shop="test-shop", revenue_accounts={"0": "260"}).save(
        "possync-settings", overwrite=True
    )
    ring_up(shop, (local(DAY, 10), 12500, "25", "CARD"))
    state: Any = send_daily_turnover(day=DAY, return_state=True)
    assert state.is_failed()
    message = str(state.data) + str(state.message)
    with pytest.raises(Exception, match=r"2026-11-18.*differ by 100\.00") as raised:
        state.result()
    assert "25 %" in str(raised.value), message
    assert xero.state.journals() == []


def test_a_lost_answer_mid_post_is_found_not_posted_again(shop: EmulatedShop, xero: Books) -> None:
    ring_up(shop, (local(DAY, 10), 12500, "25", "CARD"))
    # Xero saves the journal, but its answer never arrives (every PUT of this run).
    xero.control.set_faults(
        FaultConfig(rate_drop_after_commit=1.0, only_paths=[f"PUT {PREFIX}/ManualJournals"])
    )
    [result] = send_daily_turnover(day=DAY)
    assert xero.control.injected["drop_after_commit"] > 0
    assert result["outcome"] == "posted"  # the task's retry found it instead of posting again
    assert len(xero.state.journals()) == 1
    xero.control.set_faults(FaultConfig())
    assert send_daily_turnover(day=DAY)[0]["outcome"] == "already posted"
    assert len(xero.state.journals()) == 1


def test_a_failed_run_then_a_rerun_posts_exactly_one_voucher(
    shop: EmulatedShop, xero: Books
) -> None:
    ring_up(shop, (local(DAY, 10), 12500, "25", "CARD"))
    xero.control.set_faults(FaultConfig(rate_500=1.0, only_paths=[f"PUT {PREFIX}/ManualJournals"]))
    state: Any = send_daily_turnover(day=DAY, return_state=True)
    assert state.is_failed() and xero.state.journals() == []
    xero.control.set_faults(FaultConfig())
    assert send_daily_turnover(day=DAY)[0]["outcome"] == "posted"
    assert len(xero.state.journals()) == 1
    assert send_daily_turnover(day=DAY)[0]["outcome"] == "already posted"
    assert len(xero.state.journals()) == 1


# -- e-conomic, and the report ------------------------------------------------------------


def test_a_day_goes_to_e_conomic_once_as_one_balanced_voucher(
    shop: EmulatedShop, xero: Books
) -> None:
    from blocks import EconomicCredentials
    from emulators.economic import create_economic_app
    from emulators.economic_state import EconomicState

    state = EconomicState()
    server = serve_in_thread(
        create_economic_app(state, app_secret_token="app", agreement_grant_token="grant")
    )
    try:
        EconomicCredentials(
            base_url=server.url,
            app_secret_token=SecretStr("app"),
            agreement_grant_token=SecretStr("grant"),
        ).save("possync-economic", overwrite=True)
        SyncSettings(
            shop="test-shop",
            accounting="economic",
            accounting_block="possync-economic",
            revenue_accounts={"25": "1010", "0": "1020"},
            vat_account="6902",
            tender_accounts={"cash": "5810", "card": "5830", "other": "5820"},
            rounding_account="3690",
        ).save("possync-settings", overwrite=True)
        ring_up(shop, (local(DAY, 10), 12500, "25", "CARD"), (local(DAY, 11), 5000, None, "CASH"))
        assert send_daily_turnover(day=DAY)[0]["outcome"] == "posted"
        assert send_daily_turnover(day=DAY)[0]["outcome"] == "already posted"
        [(year, number)] = state.vouchers(1)
        entries = state.voucher_entries(1, year, number)
        by_account = {e.account_number: e.amount for e in entries}
        assert by_account == {
            5830: Decimal("125.00"),
            5810: Decimal("50.00"),
            1010: Decimal("-100.00"),
            1020: Decimal("-50.00"),
            6902: Decimal("-25.00"),
        }
        assert all(e.date == DAY for e in entries)
        assert xero.state.journals() == []
    finally:
        server.stop()


def test_the_report_writes_a_csv_and_a_chart_of_turnover_by_tender(
    shop: EmulatedShop, xero: Books, tmp_path: Path
) -> None:
    ring_up(
        shop,
        (local(DAY, 10), 12500, "25", "CARD"),
        (local(DAY + timedelta(days=1), 10), 5000, None, "CASH"),
    )
    from typer.testing import CliRunner

    from possync.cli import app

    end = DAY + timedelta(days=2)
    result = CliRunner().invoke(
        app,
        [
            "turnover",
            "report",
            "--from",
            DAY.isoformat(),
            "--to",
            end.isoformat(),
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    rows = (tmp_path / "turnover.csv").read_text().splitlines()
    assert len(rows) == 4  # a header and three days
    header = rows[0].split(",")
    first = dict(zip(header, rows[1].split(","), strict=True))
    second = dict(zip(header, rows[2].split(","), strict=True))
    assert first["tender card"] == "125.00" and second["tender cash"] == "50.00"
    assert rows[3].split(",")[header.index("gross")] in {"0", "0.00"}
    assert (tmp_path / "turnover.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
