"""The emulated organisation's chart of accounts and tax rates.

The demo chart follows Xero's demo company: three-digit codes grouped as Xero groups them
(0xx bank and cash, 2xx revenue, 4xx expenses, 6xx current assets, 8xx liabilities), Xero's
account types (spec `AccountType`) and its system accounts (`SystemAccount`: DEBTORS,
CREDITORS, GST, ROUNDING). 091 and 092 hold a shop's card and till money until it is banked,
the accounts a POS day's turnover is booked against:

    code  name                       type       class      system
    090   Business Bank Account      BANK       ASSET
    091   Card Settlements Clearing  CURRENT    ASSET
    092   Cash in Till               CURRENT    ASSET
    200   Sales                      REVENUE    REVENUE
    205   Sales (old, archived)      REVENUE    REVENUE             status ARCHIVED
    260   Other Revenue              OTHERINCOME REVENUE
    404   Bank Fees                  OVERHEADS  EXPENSE
    429   General Expenses           OVERHEADS  EXPENSE
    610   Accounts Receivable        CURRENT    ASSET      DEBTORS
    800   Accounts Payable           CURRLIAB   LIABILITY  CREDITORS
    820   VAT                        CURRLIAB   LIABILITY  GST
    860   Rounding                   CURRLIAB   LIABILITY  ROUNDING

Tax rates are the UK edition's (Xero's demo company is a UK organisation): NONE "No VAT",
OUTPUT2 20% on income, INPUT2 20% on expenses, RROUTPUT 5%, ZERORATEDOUTPUT, EXEMPTOUTPUT.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from emulators.xero_common import Json, ms_datetime

__all__ = [
    "ACCOUNT_FIELDS",
    "DEMO_CHART",
    "DEMO_TAX_RATES",
    "Account",
    "TaxRate",
    "account_record",
    "render_account",
]

_NAMESPACE = uuid.UUID("5b0f4c1e-7a55-4f1e-9a53-0c0de0f0e2a0")

_CLASS_BY_TYPE = {
    "BANK": "ASSET", "CURRENT": "ASSET", "FIXED": "ASSET", "INVENTORY": "ASSET",
    "NONCURRENT": "ASSET", "PREPAYMENT": "ASSET", "CURRLIAB": "LIABILITY",
    "LIABILITY": "LIABILITY", "TERMLIAB": "LIABILITY", "PAYG": "LIABILITY",
    "EQUITY": "EQUITY", "DEPRECIATN": "EXPENSE", "DIRECTCOSTS": "EXPENSE",
    "EXPENSE": "EXPENSE", "OVERHEADS": "EXPENSE", "OTHERINCOME": "REVENUE",
    "REVENUE": "REVENUE", "SALES": "REVENUE",
}  # fmt: skip


@dataclass(frozen=True)
class TaxRate:
    """One of the organisation's tax rates (spec `TaxRate`: TaxType, Name, EffectiveRate)."""

    tax_type: str
    name: str
    rate: Decimal


@dataclass(frozen=True)
class Account:
    """One account of the chart (spec `Account`)."""

    code: str
    name: str
    type: str
    tax_type: str = "NONE"
    status: str = "ACTIVE"
    system_account: str = ""
    bank_account_number: str | None = None

    @property
    def account_id(self) -> str:
        """Stable across runs, so a demo's ids do not change between restarts."""
        return str(uuid.uuid5(_NAMESPACE, self.code))

    @property
    def account_class(self) -> str:
        return _CLASS_BY_TYPE.get(self.type, "ASSET")

    def archived(self) -> Account:
        return replace(self, status="ARCHIVED")


DEMO_TAX_RATES = (
    TaxRate("NONE", "No VAT", Decimal(0)),
    TaxRate("OUTPUT2", "20% (VAT on Income)", Decimal(20)),
    TaxRate("INPUT2", "20% (VAT on Expenses)", Decimal(20)),
    TaxRate("RROUTPUT", "5% (VAT on Income)", Decimal(5)),
    TaxRate("ZERORATEDOUTPUT", "Zero Rated Income", Decimal(0)),
    TaxRate("EXEMPTOUTPUT", "Exempt Income", Decimal(0)),
)

DEMO_CHART = (
    Account("090", "Business Bank Account", "BANK", bank_account_number="12-3456-7890123"),
    Account("091", "Card Settlements Clearing", "CURRENT"),
    Account("092", "Cash in Till", "CURRENT"),
    Account("200", "Sales", "REVENUE", tax_type="OUTPUT2"),
    Account("205", "Sales (old)", "REVENUE", tax_type="OUTPUT2", status="ARCHIVED"),
    Account("260", "Other Revenue", "OTHERINCOME", tax_type="OUTPUT2"),
    Account("404", "Bank Fees", "OVERHEADS", tax_type="NONE"),
    Account("429", "General Expenses", "OVERHEADS", tax_type="INPUT2"),
    Account("610", "Accounts Receivable", "CURRENT", system_account="DEBTORS"),
    Account("800", "Accounts Payable", "CURRLIAB", system_account="CREDITORS"),
    Account("820", "VAT", "CURRLIAB", system_account="GST"),
    Account("860", "Rounding", "CURRLIAB", system_account="ROUNDING"),
)

ACCOUNT_FIELDS = (
    "AccountID", "Code", "Name", "Type", "TaxType", "Status", "Class", "SystemAccount",
    "BankAccountNumber", "EnablePaymentsToAccount", "ShowInExpenseClaims", "UpdatedDateUTC",
)  # fmt: skip


def account_record(account: Account, updated: datetime) -> dict[str, Any]:
    """The account as `where`/`order` see it."""
    return {
        "AccountID": account.account_id,
        "Code": account.code,
        "Name": account.name,
        "Type": account.type,
        "TaxType": account.tax_type,
        "Status": account.status,
        "Class": account.account_class,
        "SystemAccount": account.system_account or None,
        "BankAccountNumber": account.bank_account_number,
        "EnablePaymentsToAccount": False,
        "ShowInExpenseClaims": False,
        "UpdatedDateUTC": updated,
    }


def render_account(account: Account, updated: datetime, currency: str) -> Json:
    """The account as GET /Accounts answers it (`currency`: the organisation's base one)."""
    body: Json = {
        "AccountID": account.account_id,
        "Code": account.code,
        "Name": account.name,
        "Status": account.status,
        "Type": account.type,
        "TaxType": account.tax_type,
        "Class": account.account_class,
        "EnablePaymentsToAccount": False,
        "ShowInExpenseClaims": False,
        "ReportingCode": "",
        "HasAttachments": False,
        "UpdatedDateUTC": ms_datetime(updated),
        "AddToWatchlist": False,
    }
    if account.system_account:
        body["SystemAccount"] = account.system_account
    if account.type == "BANK":
        body["BankAccountNumber"] = account.bank_account_number or ""
        body["BankAccountType"] = "BANK"
        body["CurrencyCode"] = currency
    return body
