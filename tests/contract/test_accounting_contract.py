"""The accounting contract: what every registered accounting connector promises the daily
turnover, checked against its emulator over real sockets. Parametrised over the registry,
so a new accounting system is held to the same promises without a new test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest

from emulators.systems import BOOKS, EmulatedBooks
from possync.domain.turnover import Voucher, VoucherLine
from possync.vendors.errors import FatalError, RetriableError
from possync.vendors.http import RetryPolicy
from possync.vendors.ports import Accounting
from possync.vendors.registry import names, vendor

pytestmark = pytest.mark.xdist_group("accounting-contract")

FAST = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05, max_retry_after=0.2)
DAY = date(2026, 3, 14)


@pytest.fixture(scope="module", params=sorted(names("accounting")))
def emulated(request: pytest.FixtureRequest) -> Iterator[EmulatedBooks]:
    if request.param not in BOOKS:
        pytest.fail(f"{request.param!r} is registered but has no emulator in emulators/systems.py")
    started = BOOKS[request.param]()
    yield started
    started.stop()


@pytest.fixture
def books(emulated: EmulatedBooks) -> Iterator[Accounting]:
    emulated.control.reset()
    made: Accounting = vendor(emulated.name, "accounting").connector_class()(
        emulated.config(), retry=FAST
    )
    yield made
    made.close()
    emulated.control.reset()


def day_voucher(emulated: EmulatedBooks, day: date = DAY, **accounts: str) -> Voucher:
    """A balanced day: card 700 + cash 550.50 = sales 1,000.40 + VAT 250.10."""
    a = {**emulated.accounts, **accounts}
    return Voucher(
        reference=f"possync turnover contract-shop {day.isoformat()} {uuid.uuid4().hex[:8]}",
        day=day,
        currency=emulated.currency,
        narration=f"Shop turnover {day.isoformat()}",
        lines=(
            VoucherLine(account=a["card"], amount=Decimal("700.00"), description="Card"),
            VoucherLine(account=a["cash"], amount=Decimal("550.50"), description="Cash"),
            VoucherLine(
                account=a["revenue"],
                amount=Decimal("-1000.40"),
                description="Sales at 25%",
                vat_rate=Decimal(25),
            ),
            VoucherLine(account=a["vat"], amount=Decimal("-250.10"), description="Output VAT"),
        ),
    )


def test_it_is_an_accounting_system(books: Accounting, emulated: EmulatedBooks) -> None:
    assert isinstance(books, Accounting)
    assert books.system == emulated.name


def test_a_posted_voucher_is_found_again_by_its_reference_and_day(
    books: Accounting, emulated: EmulatedBooks
) -> None:
    voucher = day_voucher(emulated)
    assert books.find_voucher(voucher) is None
    posted = books.post_voucher(voucher, key=str(uuid.uuid4()))
    found = books.find_voucher(voucher)
    assert found is not None and found.voucher_id == posted.voucher_id
    other_day = day_voucher(emulated, day=date(2026, 3, 15))
    assert books.find_voucher(other_day.model_copy(update={"reference": voucher.reference})) is None


def test_an_unknown_account_is_fatal_and_named(books: Accounting, emulated: EmulatedBooks) -> None:
    voucher = day_voucher(emulated, revenue="99999")
    with pytest.raises(FatalError) as raised:
        books.post_voucher(voucher, key=str(uuid.uuid4()))
    assert "99999" in str(raised.value)
    assert books.find_voucher(voucher) is None, "nothing was posted"


def test_bad_credentials_are_fatal_and_never_echoed(emulated: EmulatedBooks) -> None:
    made: Accounting = vendor(emulated.name, "accounting").connector_class()(
        emulated.bad_config(), retry=FAST
    )
    try:
        with pytest.raises(FatalError) as raised:
            made.post_voucher(day_voucher(emulated), key=str(uuid.uuid4()))
        assert emulated.bad_secret not in str(raised.value)
        assert emulated.bad_secret not in repr(raised.value)
    finally:
        made.close()


def test_throttling_is_retried_and_posts_once(books: Accounting, emulated: EmulatedBooks) -> None:
    voucher = day_voucher(emulated)
    emulated.faults(rate_429=1.0, retry_after_seconds=0)
    with pytest.raises(RetriableError):
        books.post_voucher(voucher, key=str(uuid.uuid4()))
    emulated.faults(rate_429=0.5, seed=5, retry_after_seconds=0)
    posted = books.post_voucher(voucher, key=str(uuid.uuid4()))
    emulated.faults()
    found = books.find_voucher(voucher)
    assert found is not None and found.voucher_id == posted.voucher_id
