"""The agreement an e-conomic emulator serves: accounting years, accounts, journals, entries.

Rules copied from e-conomic's REST docs (github.com/e-conomic/slate, source/includes/
_journals.md and _accounting-years.md, the JSON schemas they name under
https://restapi.e-conomic.com/schema/):

- a journal ("kassekladde") holds draft entries "that can be modified until the journal is
  booked"; POST /journals/{n}/vouchers creates vouchers and thereby entries, in bulk too;
- a voucher is identified by accounting year and voucher number (1..999,999,999);
- a finance voucher entry needs `amount` and `date`; `text` is at most 250 characters, a VAT
  code at most 5; the sign of `amount` says debit (+) or credit (-);
- an accounting year spans `fromDate`..`toDate`; `closed` years take no more transactions.

What the docs do not say and the emulator assumes: a voucher without `voucherNumber` gets the
journal's next free number in that accounting year; drafts need not balance (booking is where
a journal must balance, so `book_journal` refuses an unbalanced voucher); booked entries of a
finance voucher with a contra account come out as two entries.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

BASE_CURRENCY = "DKK"

# Exchange rates per 100 units of the currency, in DKK (e-conomic quotes rates per 100).
DEMO_RATES: dict[str, Decimal] = {
    "DKK": Decimal(100),
    "EUR": Decimal("746.00"),
    "SEK": Decimal("69.50"),
    "NOK": Decimal("64.00"),
    "USD": Decimal("690.00"),
    "GBP": Decimal("870.00"),
}


@dataclass(frozen=True)
class Account:
    """One account of the chart; `vat_code` is the account's default VAT code, if any."""

    number: int
    name: str
    account_type: str  # "profitAndLoss" or "status"
    debit_credit: str  # "debit" or "credit"
    vat_code: str | None = None


# A small Danish demo chart. 1010, 5820 and 6902 carry e-conomic's standard Danish numbers
# and names (5820 is the contra account in e-conomic's own journal example); the others are
# plausible picks in the same ranges, not confirmed standard numbers.
DEMO_ACCOUNTS: tuple[Account, ...] = (
    Account(1010, "Salg af varer/ydelser m/moms", "profitAndLoss", "credit", "U25"),
    Account(1020, "Salg af varer/ydelser u/moms", "profitAndLoss", "credit"),
    Account(3690, "Øreafrunding", "profitAndLoss", "debit"),
    Account(5810, "Kassebeholdning", "status", "debit"),
    Account(5820, "Bankkonto", "status", "debit"),
    Account(5830, "Betalingskort (clearing)", "status", "debit"),
    Account(6902, "Udgående (salg) moms", "status", "credit"),
)

# VAT codes the demo agreement knows (Danish output and input VAT at 25 %).
DEMO_VAT_CODES: dict[str, Decimal] = {"U25": Decimal(25), "I25": Decimal(25)}


@dataclass
class AccountingYear:
    year: str  # "2025", or "2024/2025" for a year spanning two calendar years
    from_date: date
    to_date: date
    closed: bool = False

    def contains(self, day: date) -> bool:
        return self.from_date <= day <= self.to_date


@dataclass
class Journal:
    number: int
    name: str
    minimum_voucher_number: int = 1
    maximum_voucher_number: int = 999_999_999


@dataclass
class DraftEntry:
    """A finance voucher entry in a journal, not yet booked."""

    journal_entry_number: int
    journal_number: int
    year: str
    voucher_number: int
    amount: Decimal
    currency: str
    date: date
    account_number: int | None = None
    contra_account_number: int | None = None
    text: str | None = None
    vat_code: str | None = None
    exchange_rate: Decimal = Decimal(100)

    @property
    def amount_base(self) -> Decimal:
        return (self.amount * self.exchange_rate / 100).quantize(Decimal("0.01"))


@dataclass
class BookedEntry:
    """An entry booked into an accounting year (what GET /accounting-years/{y}/entries lists)."""

    entry_number: int
    year: str
    voucher_number: int
    account_number: int
    amount: Decimal
    amount_base: Decimal
    currency: str
    date: date
    text: str | None
    vat_code: str | None = None
    entry_type: str = "financeVoucher"


@dataclass
class EconomicState:
    """One e-conomic agreement: demo years 2024-2027, journal 1 "Daily turnover", the demo
    chart. Thread-safe: the app's handlers run in a thread pool."""

    years: list[AccountingYear] = field(
        default_factory=lambda: [
            AccountingYear(str(y), date(y, 1, 1), date(y, 12, 31)) for y in range(2024, 2028)
        ]
    )
    accounts: dict[int, Account] = field(
        default_factory=lambda: {a.number: a for a in DEMO_ACCOUNTS}
    )
    journals: dict[int, Journal] = field(default_factory=lambda: {1: Journal(1, "Daily turnover")})
    vat_codes: dict[str, Decimal] = field(default_factory=lambda: dict(DEMO_VAT_CODES))
    rates: dict[str, Decimal] = field(default_factory=lambda: dict(DEMO_RATES))
    drafts: list[DraftEntry] = field(default_factory=list)
    booked: list[BookedEntry] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _journal_entry_numbers: Iterator[int] = field(
        default_factory=lambda: itertools.count(1), repr=False
    )
    _entry_numbers: Iterator[int] = field(default_factory=lambda: itertools.count(1), repr=False)

    # -- lookups ---------------------------------------------------------------------------

    def year(self, year: str) -> AccountingYear | None:
        return next((y for y in self.years if y.year == year), None)

    def year_for(self, day: date) -> AccountingYear | None:
        return next((y for y in self.years if y.contains(day)), None)

    def voucher_entries(self, journal: int, year: str, number: int) -> list[DraftEntry]:
        with self.lock:
            return [
                e
                for e in self.drafts
                if (e.journal_number, e.year, e.voucher_number) == (journal, year, number)
            ]

    def vouchers(self, journal: int) -> list[tuple[str, int]]:
        """The journal's draft vouchers as (year, voucher number), in first-entry order."""
        with self.lock:
            seen: dict[tuple[str, int], None] = {}
            for e in self.drafts:
                if e.journal_number == journal:
                    seen.setdefault((e.year, e.voucher_number), None)
            return list(seen)

    # -- writes ----------------------------------------------------------------------------

    def next_voucher_number(self, journal: Journal, year: str) -> int:
        used = [
            e.voucher_number
            for e in self.drafts
            if (e.journal_number, e.year) == (journal.number, year)
        ] + [e.voucher_number for e in self.booked if e.year == year]
        return max([journal.minimum_voucher_number - 1, *used]) + 1

    def add_entries(self, entries: list[DraftEntry]) -> None:
        """Append validated entries, giving each its journal entry number."""
        with self.lock:
            for entry in entries:
                entry.journal_entry_number = next(self._journal_entry_numbers)
                self.drafts.append(entry)

    def delete_entry(self, journal: int, journal_entry_number: int) -> bool:
        with self.lock:
            before = len(self.drafts)
            self.drafts = [
                e
                for e in self.drafts
                if (e.journal_number, e.journal_entry_number) != (journal, journal_entry_number)
            ]
            return len(self.drafts) != before

    def book_journal(self, journal: int) -> list[tuple[str, int]]:
        """Book every draft of the journal (the accountant's step in e-conomic's UI); refuses,
        booking nothing, while a voucher does not balance in the base currency."""
        with self.lock:
            drafts = [e for e in self.drafts if e.journal_number == journal]
            vouchers = self.vouchers(journal)
            for key in vouchers:
                entries = [e for e in drafts if (e.year, e.voucher_number) == key]
                total = sum(
                    (e.amount_base for e in entries if e.contra_account_number is None),
                    Decimal(0),
                )
                if total != 0:
                    raise ValueError(f"voucher {key[0]}-{key[1]} does not balance: {total}")
            for e in drafts:
                for account, sign in ((e.account_number, 1), (e.contra_account_number, -1)):
                    if account is None:
                        continue
                    self.booked.append(
                        BookedEntry(
                            entry_number=next(self._entry_numbers),
                            year=e.year,
                            voucher_number=e.voucher_number,
                            account_number=account,
                            amount=sign * e.amount,
                            amount_base=sign * e.amount_base,
                            currency=e.currency,
                            date=e.date,
                            text=e.text,
                            vat_code=e.vat_code,
                        )
                    )
            self.drafts = [e for e in self.drafts if e.journal_number != journal]
            return vouchers
