"""POST /journals/{n}/vouchers checked as e-conomic checks it, and the documents it renders.

The request is one voucher object or an array of them (e-conomic: "Bulk creation is
supported"); the answer is the array of created vouchers. Property names, limits and the
annotated error format come from e-conomic's docs (github.com/e-conomic/slate, source/includes/
_journals.md: schema journals-experimental.journalNumber.vouchers.post.schema.json;
_introduction.md: "Annotated errors"). Nothing is written unless every voucher is valid.

Only finance vouchers are emulated; a voucher holding other entry types is refused. The wording
of messages without an `errorCode` is the emulator's own: e-conomic documents `E06000`
("<property> does not exist.") but no codes for the other rules.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from emulators.economic_common import (
    EconomicError,
    JsonDict,
    encode_id,
    field_error,
    validation_error,
)
from emulators.economic_state import DraftEntry, EconomicState, Journal

TEXT_MAX = 250  # entries.financeVouchers.text maxLength
VAT_CODE_MAX = 5
VOUCHER_NUMBER_MAX = 999_999_999
DOES_NOT_EXIST = "E06000"
_OTHER_ENTRY_TYPES = (
    "customerPayments",
    "supplierInvoices",
    "supplierPayments",
    "manualCustomerInvoices",
)


def create_vouchers(state: EconomicState, journal_number: int, body: Any) -> list[tuple[str, int]]:
    """Validate and store the vouchers in `body`; returns them as (year, voucher number) in
    the order posted. Raises EconomicError (400) on any problem, storing nothing."""
    journal = state.journals.get(journal_number)
    if journal is None:
        raise EconomicError(404, f"Journal {journal_number} not found.")
    vouchers = body if isinstance(body, list) else [body]
    if not vouchers:
        raise validation_error({"message": "No vouchers in the request."})
    with state.lock:
        planned: list[tuple[str, int, list[DraftEntry]]] = []
        errors: list[JsonDict] = []
        reserved: dict[str, int] = {}
        for index, voucher in enumerate(vouchers):
            problems, plan = _check_voucher(state, journal, voucher, reserved)
            if problems:
                errors.append(
                    {"arrayIndex": index, **problems} if isinstance(body, list) else problems
                )
            elif plan is not None:
                planned.append(plan)
        if errors:
            raise validation_error(errors if isinstance(body, list) else errors[0])
        for _year, _number, entries in planned:
            state.add_entries(entries)
    return [(year, number) for year, number, _ in planned]


def _check_voucher(
    state: EconomicState, journal: Journal, voucher: Any, reserved: dict[str, int]
) -> tuple[JsonDict, tuple[str, int, list[DraftEntry]] | None]:
    if not isinstance(voucher, dict):
        return {"message": "A voucher must be a JSON object."}, None
    problems: JsonDict = {}
    year = _accounting_year(state, voucher.get("accountingYear"), problems)
    given_journal = _number_in(voucher.get("journal"), "journalNumber")
    if voucher.get("journal") is not None and given_journal != journal.number:
        problems["journal"] = field_error(
            "journal does not match the journal in the URL.", value=given_journal
        )
    number = voucher.get("voucherNumber")
    if number is not None and not _valid_voucher_number(number, journal):
        problems["voucherNumber"] = field_error(
            f"voucherNumber must be between {journal.minimum_voucher_number} and "
            f"{min(journal.maximum_voucher_number, VOUCHER_NUMBER_MAX)}.",
            value=number,
        )
        number = None
    entries = voucher.get("entries")
    finance = entries.get("financeVouchers") if isinstance(entries, dict) else None
    if not isinstance(entries, dict) or not isinstance(finance, list) or not finance:
        problems["entries"] = field_error(
            "entries must hold at least one finance voucher.",
            hint="Put the lines in entries.financeVouchers.",
        )
        return problems, None
    others = [k for k in _OTHER_ENTRY_TYPES if entries.get(k)]
    if others:
        problems["entries"] = field_error(
            "Only financeVouchers are supported by this emulator.", value=others
        )
    drafts: list[DraftEntry] = []
    entry_problems: list[JsonDict] = []
    for index, entry in enumerate(finance):
        found, draft = _check_entry(state, journal, year, entry, number)
        if found:
            entry_problems.append({"arrayIndex": index, **found})
        elif draft is not None:
            drafts.append(draft)
    if entry_problems:
        problems.setdefault("entries", {})["financeVouchers"] = entry_problems
    if problems or year is None:
        return problems, None
    numbers = {d.voucher_number for d in drafts if d.voucher_number}
    if len(numbers) > 1:
        return {"voucherNumber": field_error("All entries of a voucher need one number.")}, None
    chosen = number or (numbers.pop() if numbers else 0)
    if not chosen:
        chosen = max(state.next_voucher_number(journal, year.year), reserved.get(year.year, 0))
    # Later vouchers of the same request number on from here (nothing is stored yet).
    reserved[year.year] = max(reserved.get(year.year, 0), chosen + 1)
    for draft in drafts:
        draft.voucher_number = chosen
    return {}, (year.year, chosen, drafts)


def _check_entry(
    state: EconomicState,
    journal: Journal,
    year: Any,
    entry: Any,
    voucher_number: int | None,
) -> tuple[JsonDict, DraftEntry | None]:
    if not isinstance(entry, dict):
        return {"message": "An entry must be a JSON object."}, None
    problems: JsonDict = {}
    amount = entry.get("amount")
    if amount is None:
        problems["amount"] = field_error("Property amount is required.")
    elif isinstance(amount, bool) or not isinstance(amount, (int, Decimal)):
        problems["amount"] = field_error("amount must be a number.", value=str(amount))
    elif Decimal(amount) != Decimal(amount).quantize(Decimal("0.01")):
        problems["amount"] = field_error(
            "amount scale cannot be greater than two decimal places.", value=str(amount)
        )
    day = _date(entry.get("date"), problems)
    if day is not None and year is not None and not year.contains(day):
        problems["date"] = field_error(
            f"date is not within accounting year {year.year}.", value=day.isoformat()
        )
    accounts: dict[str, int | None] = {}
    for key in ("account", "contraAccount"):
        accounts[key] = _account(state, key, entry.get(key), problems)
    if entry.get("account") is None and entry.get("contraAccount") is None:
        problems["account"] = field_error("Either account or contraAccount is required.")
    currency = _currency(state, entry.get("currency"), problems)
    text = entry.get("text")
    if text is not None and (not isinstance(text, str) or len(text) > TEXT_MAX):
        problems["text"] = field_error(
            f"text cannot be longer than {TEXT_MAX} characters.", value=text
        )
    vat_code = _vat_code(state, entry.get("vatAccount"), problems)
    rate = entry.get("exchangeRate")
    if rate is not None and (isinstance(rate, bool) or not isinstance(rate, (int, Decimal))):
        problems["exchangeRate"] = field_error("exchangeRate must be a number.", value=str(rate))
        rate = None
    entry_type = entry.get("entryType")
    if entry_type not in (None, "financeVoucher"):
        problems["entryType"] = field_error("entryType must be financeVoucher.", value=entry_type)
    own_number = _number_in(entry.get("voucher"), "voucherNumber")
    if own_number is not None and not _valid_voucher_number(own_number, journal):
        problems["voucher"] = field_error("voucherNumber is out of range.", value=own_number)
    elif own_number is not None and voucher_number is not None and own_number != voucher_number:
        problems["voucher"] = field_error(
            "voucher.voucherNumber differs from the voucher's voucherNumber.", value=own_number
        )
    if problems or day is None or year is None or currency is None:
        return problems, None
    return {}, DraftEntry(
        journal_entry_number=0,
        journal_number=journal.number,
        year=year.year,
        voucher_number=own_number or 0,
        amount=Decimal(str(amount)),
        currency=currency,
        date=day,
        account_number=accounts["account"],
        contra_account_number=accounts["contraAccount"],
        text=text,
        vat_code=vat_code,
        exchange_rate=Decimal(rate) if rate is not None else state.rates[currency],
    )


def _accounting_year(state: EconomicState, handle: Any, problems: JsonDict) -> Any:
    if not isinstance(handle, dict) or not (handle.get("year") or handle.get("self")):
        problems["accountingYear"] = field_error("Property accountingYear is required.")
        return None
    name = handle.get("year") or str(handle.get("self", "")).rstrip("/").rsplit("/", 1)[-1]
    year = state.year(str(name))
    if year is None:
        problems["accountingYear"] = field_error(
            "accountingYear does not exist.",
            value=name,
            code=DOES_NOT_EXIST,
            hint="Find a list of accounting years at https://restapi.e-conomic.com/accounting-years.",
        )
        return None
    if year.closed:
        problems["accountingYear"] = field_error("accountingYear is closed.", value=name)
        return None
    return year


def _account(state: EconomicState, key: str, handle: Any, problems: JsonDict) -> int | None:
    if handle is None:
        return None
    number = _number_in(handle, "accountNumber")
    if number is None and isinstance(handle, dict) and handle.get("self"):
        tail = str(handle["self"]).rstrip("/").rsplit("/", 1)[-1]
        number = int(tail) if tail.isdigit() else None
    if number is None or number not in state.accounts:
        problems[key] = field_error(
            f"{key} does not exist.",
            value=number if number is not None else handle,
            code=DOES_NOT_EXIST,
            hint="Find a list of accounts at https://restapi.e-conomic.com/accounts.",
        )
        return None
    return number


def _currency(state: EconomicState, handle: Any, problems: JsonDict) -> str | None:
    if handle is None:
        return "DKK"
    code = handle.get("code") if isinstance(handle, dict) else None
    if not isinstance(code, str) or code.upper() not in state.rates:
        problems["currency"] = field_error(
            "currency does not exist.",
            value=code,
            code=DOES_NOT_EXIST,
            hint="Find a list of currencies at https://restapi.e-conomic.com/currencies.",
        )
        return None
    return code.upper()


def _vat_code(state: EconomicState, handle: Any, problems: JsonDict) -> str | None:
    if handle is None:
        return None
    code = handle.get("vatCode") if isinstance(handle, dict) else None
    if not isinstance(code, str) or len(code) > VAT_CODE_MAX or code not in state.vat_codes:
        problems["vatAccount"] = field_error(
            "vatAccount does not exist.",
            value=code,
            code=DOES_NOT_EXIST,
            hint="Find a list of VAT accounts at https://restapi.e-conomic.com/vat-accounts.",
        )
        return None
    return code


def _date(value: Any, problems: JsonDict) -> date | None:
    if value is None:
        problems["date"] = field_error("Property date is required.")
        return None
    if isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    problems["date"] = field_error("date must be a date (YYYY-MM-DD).", value=str(value))
    return None


def _number_in(handle: Any, key: str) -> int | None:
    value = handle.get(key) if isinstance(handle, dict) else None
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        return None
    return int(value) if Decimal(value) == int(value) else None


def _valid_voucher_number(value: Any, journal: Journal) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)) or value != int(value):
        return False
    top = min(journal.maximum_voucher_number, VOUCHER_NUMBER_MAX)
    return journal.minimum_voucher_number <= int(value) <= top and int(value) >= 1


# -- rendering ----------------------------------------------------------------------------


def voucher_id(year: str, number: int) -> str:
    return f"{encode_id(year)}-{number}"


def render_entry(base: str, entry: DraftEntry, *, base_amount_key: str) -> JsonDict:
    """A draft finance voucher entry; `base_amount_key` is "amountBaseCurrency" inside a
    voucher and "amountDefaultCurrency" in the journal's entries collection (as the two
    schemas name it)."""
    journal = f"{base}/journals/{entry.journal_number}"
    year_self = f"{base}/accounting-years/{encode_id(entry.year)}"
    rendered: JsonDict = {}
    if entry.account_number is not None:
        rendered["account"] = {
            "accountNumber": entry.account_number,
            "self": f"{base}/accounts/{entry.account_number}",
        }
    if entry.contra_account_number is not None:
        rendered["contraAccount"] = {
            "accountNumber": entry.contra_account_number,
            "self": f"{base}/accounts/{entry.contra_account_number}",
        }
    rendered.update(
        {
            "amount": entry.amount,
            base_amount_key: entry.amount_base,
            "currency": {"code": entry.currency, "self": f"{base}/currencies/{entry.currency}"},
            "date": entry.date.isoformat(),
            "entryType": "financeVoucher",
            "exchangeRate": entry.exchange_rate,
            "journal": {"journalNumber": entry.journal_number, "self": journal},
            "journalEntryNumber": entry.journal_entry_number,
        }
    )
    if entry.text is not None:
        rendered["text"] = entry.text
    if entry.vat_code is not None:
        rendered["vatAccount"] = {
            "vatCode": entry.vat_code,
            "self": f"{base}/vat-accounts/{entry.vat_code}",
        }
    rendered["voucher"] = {
        "accountingYear": {"year": entry.year, "self": year_self},
        "voucherNumber": entry.voucher_number,
        "self": f"{journal}/vouchers/{voucher_id(entry.year, entry.voucher_number)}",
    }
    rendered["self"] = f"{journal}/entries/{entry.journal_entry_number}"
    return rendered


def render_voucher(
    base: str, state: EconomicState, journal: int, year: str, number: int
) -> JsonDict:
    entries = state.voucher_entries(journal, year, number)
    journal_self = f"{base}/journals/{journal}"
    return {
        "accountingYear": {"year": year, "self": f"{base}/accounting-years/{encode_id(year)}"},
        "journal": {"journalNumber": journal, "self": journal_self},
        "entries": {
            "financeVouchers": [
                render_entry(base, e, base_amount_key="amountBaseCurrency") for e in entries
            ]
        },
        "voucherNumber": number,
        "self": f"{journal_self}/vouchers/{voucher_id(year, number)}",
    }
