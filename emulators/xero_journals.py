"""Manual journals: reading a posted ManualJournal element, Xero's rules for it, its answer.

Rules, with where each comes from (spec = shared/specs/xero/xero_accounting.yaml; docs =
developer.xero.com/documentation/api/accounting/manualjournals):

- Narration is required (spec: `required: [Narration]`).
- JournalLines: at least two (docs: "must contain at least two individual ... lines");
  LineAmount: debits positive, credits negative (spec); amounts keep two decimals.
- A POSTED journal balances: "The total debits (100.00) must equal total credits (-10.00)"
  (Xero's wording, from the spec's createManualJournals example). A DRAFT need not.
- An AccountCode Xero does not know is dropped with the warning "Account code '476' has been
  removed as it does not match a recognised account." (spec example); a POSTED line without
  an account is then refused: "Account code or ID must be specified" (Xero's wording).
- Date "YYYY-MM-DD" (spec); Xero takes today's date when none is given (docs of Xero
  integrations: "If left blank, it defaults to the current date").
- LineAmountTypes defaults to NoTax for manual journals; with NoTax every line's TaxType is
  NONE unless given and its TaxAmount is 0; Exclusive/Inclusive compute TaxAmount from the
  line's tax rate (the account's when none is given) and balance on the gross amounts.
- Status on create: DRAFT or POSTED (default DRAFT); on update DRAFT→POSTED/DELETED and
  POSTED→VOIDED, as Xero's manual journal status codes allow.

Messages marked "emulator wording" below are rules Xero enforces whose exact text we have
not seen; a client should match on the rule, never on these words.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from emulators.xero_accounts import Account, TaxRate
from emulators.xero_common import Json, messages, ms_date, ms_datetime, post_data_invalid

__all__ = [
    "JOURNAL_FIELDS",
    "Books",
    "Checked",
    "Journal",
    "Line",
    "check_element",
    "journal_record",
    "render_journal",
]

LINE_AMOUNT_TYPES = ("Exclusive", "Inclusive", "NoTax")
CREATE_STATUSES = ("DRAFT", "POSTED")
TRANSITIONS = {
    "DRAFT": ("DRAFT", "POSTED", "DELETED"),
    "POSTED": ("POSTED", "VOIDED"),
    "VOIDED": ("VOIDED",),
    "DELETED": ("DELETED",),
    "ARCHIVED": ("ARCHIVED",),
}
UNUSABLE_SYSTEM_ACCOUNTS = ("DEBTORS", "CREDITORS")  # control accounts of invoices and bills
JOURNAL_FIELDS = (
    "ManualJournalID", "Narration", "Date", "Status", "LineAmountTypes", "UpdatedDateUTC",
    "Url", "ShowOnCashBasisReports", "HasAttachments",
)  # fmt: skip
_CENT = Decimal("0.01")
_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")


@dataclass(frozen=True)
class Line:
    amount: Decimal
    account: Account | None
    description: str | None
    tax_type: str
    tax_amount: Decimal

    @property
    def gross(self) -> Decimal:
        return self.amount + self.tax_amount


@dataclass
class Journal:
    journal_id: str
    narration: str
    day: date
    status: str
    line_amount_types: str
    lines: list[Line]
    updated: datetime
    url: str | None = None
    show_on_cash_basis: bool = True


@dataclass
class Checked:
    """One element read and checked: the journal to store, or the reasons it cannot be."""

    element: Json
    journal: Journal | None = None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def echo(self) -> Json:
        """The element as Xero hands it back inside a ValidationException."""
        return {
            **self.element,
            "ValidationErrors": messages(self.errors),
            **({"Warnings": messages(self.warnings)} if self.warnings else {}),
        }


@dataclass(frozen=True)
class Books:
    """What a journal is checked against: the organisation's accounts and tax rates."""

    accounts: Mapping[str, Account]
    tax_rates: Mapping[str, TaxRate]

    def by_id(self, account_id: str) -> Account | None:
        wanted = account_id.lower()
        return next((a for a in self.accounts.values() if a.account_id == wanted), None)


def check_element(
    raw: object, books: Books, *, now: datetime, existing: Journal | None = None
) -> Checked:
    """Read one ManualJournal element (merged over `existing` on update) and check it.

    Shape errors (not an object, lines not a list, an amount that is no number) raise
    PostDataInvalidException as Xero's deserialiser does; rule breaks are collected.
    """
    if not isinstance(raw, dict):
        raise post_data_invalid("Each ManualJournal must be a JSON object")
    element = {**_as_element(existing), **raw} if existing is not None else dict(raw)
    checked = Checked(element=_echo_element(element))
    status = str(element.get("Status") or "DRAFT").upper()
    if existing is None and status not in CREATE_STATUSES:
        checked.errors.append(f"The status '{status}' is not valid for a new manual journal.")
    if existing is not None and status not in TRANSITIONS.get(existing.status, ()):
        checked.errors.append(  # emulator wording
            f"A manual journal cannot go from status {existing.status} to {status}."
        )
    narration = element.get("Narration")
    if not isinstance(narration, str) or not narration.strip():
        checked.errors.append("Narration must be specified.")  # emulator wording
    kinds = element.get("LineAmountTypes") or "NoTax"
    if kinds not in LINE_AMOUNT_TYPES:
        checked.errors.append(f"'{kinds}' is not a valid LineAmountTypes value.")
        kinds = "NoTax"
    day = _read_day(element.get("Date"), now)
    settling = status in ("VOIDED", "DELETED")  # closing a journal does not re-check its lines
    lines = _read_lines(
        element.get("JournalLines"), kinds, books, checked, posted=status == "POSTED"
    )
    if not settling:
        _check_lines(lines, status, checked)
    if checked.errors:
        return checked
    checked.journal = Journal(
        journal_id=existing.journal_id if existing is not None else str(uuid.uuid4()),
        narration=str(narration),
        day=day,
        status=status,
        line_amount_types=str(kinds),
        lines=lines,
        updated=now,
        url=_optional_str(element.get("Url")),
        show_on_cash_basis=element.get("ShowOnCashBasisReports") is not False,
    )
    return checked


def _read_lines(
    raw: object, kinds: str, books: Books, checked: Checked, *, posted: bool
) -> list[Line]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise post_data_invalid("JournalLines must be an array")
    lines: list[Line] = []
    for item in raw:
        if not isinstance(item, dict):
            raise post_data_invalid("Each journal line must be a JSON object")
        amount = _read_amount(item.get("LineAmount"))
        account = _read_account(item, books, checked)
        if account is None and posted:
            checked.errors.append("Account code or ID must be specified")
        tracking = item.get("Tracking") or []
        if tracking:
            name = tracking[0].get("Name") if isinstance(tracking[0], dict) else tracking[0]
            checked.errors.append(f"The tracking category '{name}' does not exist.")  # emulator
        default_tax = "NONE" if kinds == "NoTax" or account is None else account.tax_type
        tax_type = str(item.get("TaxType") or default_tax)
        rate = books.tax_rates.get(tax_type)
        if rate is None:
            checked.errors.append(
                f"The TaxType code '{tax_type}' does not exist or cannot be used for this "
                "type of transaction."
            )
        tax = _tax(amount, rate.rate if rate is not None else Decimal(0), kinds)
        lines.append(Line(amount, account, _optional_str(item.get("Description")), tax_type, tax))
    return lines


def _read_account(item: Mapping[str, Any], books: Books, checked: Checked) -> Account | None:
    code = _optional_str(item.get("AccountCode"))
    account_id = _optional_str(item.get("AccountID"))
    account = books.accounts.get(code) if code else None
    if account is None and account_id:
        account = books.by_id(account_id)
    if account is None and (code or account_id):
        checked.warnings.append(
            f"Account code '{code or account_id}' has been removed as it does not match a "
            "recognised account."
        )
        return None
    if account is None:
        return None
    if account.status != "ACTIVE":
        checked.errors.append(f"Account code '{account.code}' has been archived or deleted.")
    if account.system_account in UNUSABLE_SYSTEM_ACCOUNTS:
        checked.errors.append(  # emulator wording
            f"Account code '{account.code}' is a system account and cannot be used on a "
            "manual journal."
        )
    return account


def _check_lines(lines: list[Line], status: str, checked: Checked) -> None:
    if len(lines) < 2:
        checked.errors.append(  # emulator wording
            "A manual journal must contain at least two journal lines."
        )
    if status == "POSTED":
        debits = sum((line.gross for line in lines if line.gross > 0), Decimal(0))
        credits = sum((line.gross for line in lines if line.gross < 0), Decimal(0))
        if debits + credits != 0:
            checked.errors.append(
                f"The total debits ({debits:.2f}) must equal total credits ({credits:.2f})"
            )


def _tax(amount: Decimal, rate: Decimal, kinds: str) -> Decimal:
    if kinds == "Exclusive":
        return (amount * rate / 100).quantize(_CENT, ROUND_HALF_UP)
    if kinds == "Inclusive":
        return (amount * rate / (100 + rate)).quantize(_CENT, ROUND_HALF_UP)
    return Decimal("0.00")


def _read_amount(value: object) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise post_data_invalid("LineAmount must be a number")
    try:
        return Decimal(str(value)).quantize(_CENT, ROUND_HALF_UP)
    except InvalidOperation as exc:
        raise post_data_invalid(f"LineAmount '{value}' is not a number") from exc


def _read_day(value: object, now: datetime) -> date:
    if value is None or value == "":
        return now.astimezone(UTC).date()
    text = str(value)
    match = _MS_DATE.match(text)
    if match:
        return datetime.fromtimestamp(int(match.group(1)) / 1000, UTC).date()
    try:
        return date.fromisoformat(text[:10])
    except ValueError as exc:
        raise post_data_invalid(f"'{text}' is not a valid date") from exc


def _optional_str(value: object) -> str | None:
    return None if value is None or value == "" else str(value)


def _as_element(journal: Journal) -> Json:
    """A stored journal as the element an update is laid over."""
    return {
        "ManualJournalID": journal.journal_id,
        "Narration": journal.narration,
        "Date": journal.day.isoformat(),
        "Status": journal.status,
        "LineAmountTypes": journal.line_amount_types,
        "Url": journal.url,
        "ShowOnCashBasisReports": journal.show_on_cash_basis,
        "JournalLines": [
            {
                "LineAmount": line.amount,
                "AccountCode": line.account.code if line.account else None,
                "Description": line.description,
                "TaxType": line.tax_type,
            }
            for line in journal.lines
        ],
    }


def _echo_element(element: Mapping[str, Any]) -> Json:
    """JSON-safe copy of a posted element (Decimals as numbers, no nulls)."""

    def clean(value: Any) -> Any:
        if isinstance(value, Decimal):
            return float(value)
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items() if v is not None}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    echoed: Json = clean(dict(element))
    return echoed


def render_journal(journal: Journal, *, with_lines: bool = True) -> Json:
    """The journal as Xero answers it (spec `ManualJournal`)."""
    body: Json = {
        "Date": ms_date(journal.day),
        "Status": journal.status,
        "LineAmountTypes": journal.line_amount_types,
        "UpdatedDateUTC": ms_datetime(journal.updated),
        "ManualJournalID": journal.journal_id,
        "Narration": journal.narration,
        "JournalLines": [_render_line(line) for line in journal.lines] if with_lines else [],
        "ShowOnCashBasisReports": journal.show_on_cash_basis,
        "HasAttachments": False,
    }
    if journal.url:
        body["Url"] = journal.url
    return body


def _render_line(line: Line) -> Json:
    body: Json = {
        "TaxType": line.tax_type,
        "TaxAmount": float(line.tax_amount),
        "LineAmount": float(line.amount),
        "Tracking": [],
        "IsBlank": False,
    }
    if line.description is not None:
        body["Description"] = line.description
    if line.account is not None:
        body["AccountCode"] = line.account.code
        body["AccountID"] = line.account.account_id
    return body


def journal_record(journal: Journal) -> dict[str, Any]:
    """The journal as `where`/`order` see it (Date is midnight UTC of its day)."""
    return {
        "ManualJournalID": journal.journal_id,
        "Narration": journal.narration,
        "Date": datetime(journal.day.year, journal.day.month, journal.day.day, tzinfo=UTC),
        "Status": journal.status,
        "LineAmountTypes": journal.line_amount_types,
        "UpdatedDateUTC": journal.updated,
        "Url": journal.url,
        "ShowOnCashBasisReports": journal.show_on_cash_basis,
        "HasAttachments": False,
    }
