"""e-conomic accounting connector (Visma e-conomic REST API, restapi.e-conomic.com).

A shop day's turnover becomes one voucher in a journal ("kassekladde"): one finance voucher
entry per `VoucherLine` (account, signed amount: + debit, - credit), all on the voucher number
e-conomic gives the voucher. Journal entries are drafts until the journal is booked; posting
to the journal is what integrations do, booking stays the accountant's step (and is where
e-conomic makes a journal balance).

What the connector relies on, from e-conomic's REST docs (github.com/e-conomic/slate,
source/includes/: _tldr.md, _introduction.md, _journals.md, _accounting-years.md):

- auth: `X-AppSecretToken` (the app) and `X-AgreementGrantToken` (the shop's grant) headers;
- GET /accounting-years, filterable on fromDate/toDate: the year holding the day, and whether
  it is `closed`;
- POST /journals/{n}/vouchers: `accountingYear.year`, `journal.journalNumber`,
  `entries.financeVouchers[]` with `account.accountNumber`, `amount`, `date`, `text` (at most
  250 characters) and `currency.code`; the answer lists the created vouchers with their
  `voucherNumber`;
- GET /journals/{n}/entries (drafts) and GET /accounting-years/{year}/entries (booked), both
  filterable on `date`, carry each entry's `text` and voucher number;
- errors: `{"message", "errorCode", "developerHint", "errors": <annotated like the request>}`.

e-conomic's REST API documents no idempotency key (only its newer OpenAPI services at
apis.e-conomic.com do), so the POST is never repeated after a lost answer. Instead every
entry's text starts with the voucher's reference, and `post_voucher` first asks
`find_voucher` whether that reference is already in the journal or the books for that day:
a rerun, or a retry after a lost answer, posts nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx

from possync.domain.turnover import PostedVoucher, Voucher
from possync.vendors.economic.config import EconomicConfig
from possync.vendors.errors import FatalError
from possync.vendors.http import ApiClient, RetryPolicy

__all__ = ["EconomicAccounting", "economic_error", "entry_text"]

log = logging.getLogger(__name__)

TEXT_MAX = 250  # entries.financeVouchers.text maxLength
TEXT_SEPARATOR = " | "
PAGE_SIZE = 1000  # the largest page e-conomic serves
_CENT = Decimal("0.01")

# e-conomic's "custom resource self-link encoding" for ids in URLs (a year like 2024/2025).
_ID_CODES = {
    "<": "_0_",
    ">": "_1_",
    "*": "_2_",
    "%": "_3_",
    ":": "_4_",
    "&": "_5_",
    "/": "_6_",
    "\\": "_7_",
    "_": "_8_",
    " ": "_9_",
    "?": "_10_",
    ".": "_11_",
    "#": "_12_",
    "+": "_13_",
}


def economic_error(response: httpx.Response) -> tuple[str | None, str]:
    """e-conomic's error body as (errorCode, message): the message, then each annotated
    property error as "path: message (value ...)", so a refused account is named."""
    body = response.json()
    if not isinstance(body, dict):
        return None, response.reason_phrase
    message = str(body.get("message") or response.reason_phrase).strip()
    details = list(_annotated(body.get("errors"), ""))
    code = body.get("errorCode") or next((d[1] for d in details if d[1]), None)
    if details:
        shown = [_detail(path, text, value) for path, _code, text, value in details[:5]]
        more = f" (+{len(details) - 5} more)" if len(details) > 5 else ""
        message = f"{message.rstrip('.')}: {'; '.join(shown)}{more}"
    elif body.get("developerHint"):
        message = f"{message} ({body['developerHint']})"
    return (str(code) if code else None), message


def _detail(path: str, text: str | None, value: Any) -> str:
    shown = f"{path}: {text or 'invalid'}" if path else str(text or "invalid")
    return f"{shown} (value {value!r})" if value is not None else shown


def _annotated(node: Any, path: str) -> Iterator[tuple[str, str | None, str | None, Any]]:
    """(path, errorCode, message, value) for every error in an annotated `errors` document;
    array items carry `arrayIndex`."""
    if isinstance(node, list):
        for item in node:
            if not isinstance(item, dict):
                continue
            if "errorMessage" in item or "propertyName" in item:  # older flat error lists
                where = f"{path}.{item.get('propertyName')}" if path else item.get("propertyName")
                yield str(where or ""), item.get("errorCode"), item.get("errorMessage"), None
                continue
            index = item.get("arrayIndex")
            where = f"{path}[{index}]" if index is not None else path
            rest = {k: v for k, v in item.items() if k != "arrayIndex"}
            yield from _annotated(rest, where)
    elif isinstance(node, dict):
        leaves = node.get("errors")
        if isinstance(leaves, list) and all(isinstance(e, dict) and "message" in e for e in leaves):
            for e in leaves:
                yield path, e.get("errorCode"), e.get("message"), e.get("value")
        for key, value in node.items():
            if key != "errors" and isinstance(value, (dict, list)):
                yield from _annotated(value, f"{path}.{key}" if path else key)


def entry_text(reference: str, description: str) -> str:
    """An entry's text: the voucher reference first (what `find_voucher` looks for), then
    the line's description, cut to e-conomic's 250 characters."""
    if not description:
        return reference
    return f"{reference}{TEXT_SEPARATOR}{description}"[:TEXT_MAX]


def _has_reference(text: Any, reference: str) -> bool:
    """Whether an entry text is `entry_text(reference, ...)` (possibly cut short)."""
    if not isinstance(text, str) or not text.startswith(reference):
        return False
    rest = text[len(reference) :]
    return rest.startswith(TEXT_SEPARATOR) or TEXT_SEPARATOR.startswith(rest)


def _encode_id(value: str) -> str:
    return quote("".join(_ID_CODES.get(ch, ch) for ch in value), safe="_")


@dataclass(frozen=True)
class _Year:
    year: str
    from_date: date
    to_date: date
    closed: bool


class EconomicAccounting:
    """e-conomic as the accounting system: one journal voucher per shop day."""

    system = "economic"

    def __init__(
        self,
        config: EconomicConfig,
        *,
        retry: RetryPolicy | None = None,
        event_hooks: Mapping[str, list[Callable[..., Any]]] | None = None,
    ) -> None:
        self.config = config
        self._journal = config.journal_number
        self._api = ApiClient(
            self.system,
            config.base_url,
            headers={
                "X-AppSecretToken": config.app_secret_token.get_secret_value(),
                "X-AgreementGrantToken": config.agreement_grant_token.get_secret_value(),
                "Content-Type": "application/json",
                "Accept": "application/json",
            },
            timeout=config.timeout_seconds,
            retry=retry,
            error_parser=economic_error,
            event_hooks=event_hooks,
        )

    def close(self) -> None:
        self._api.close()

    @property
    def _vouchers_path(self) -> str:
        return f"/journals/{self._journal}/vouchers"

    def post_voucher(self, voucher: Voucher, *, key: str) -> PostedVoucher:
        """Post the voucher to the journal, unless its reference is already there or booked
        for its day (then that voucher is returned). `key` only labels the log line: the
        REST API takes no idempotency key, so a lost answer is never blindly re-sent."""
        body = self._voucher_body(voucher)
        year = self._open_year(voucher.day)
        found = self._find(voucher, year)
        if found is not None:
            log.info("voucher %s already in e-conomic as %s", voucher.reference, found.voucher_id)
            return found
        body["accountingYear"] = {"year": year.year}
        log.info("posting voucher %s (key %s) to journal %s", voucher.reference, key, self._journal)
        response = self._api.post(self._vouchers_path, json=[body], safe_to_repeat=False)
        posted = self._posted_from(response)
        if posted is None:
            posted = self._find(voucher, year)
        if posted is None:
            raise FatalError(
                self.system,
                "POST",
                self._vouchers_path,
                "e-conomic accepted the voucher but its answer names no voucher number, and "
                f"no entry with reference {voucher.reference!r} was found",
                status=response.status_code,
            )
        return posted

    def find_voucher(self, voucher: Voucher) -> PostedVoucher | None:
        """The voucher with this reference on its day: first among the journal's drafts,
        then among the entries booked in the accounting year (after the accountant booked
        the journal, the drafts are gone)."""
        self._check_reference(voucher.reference)
        year = self._year_for(voucher.day)
        return None if year is None else self._find(voucher, year)

    # -- helpers ---------------------------------------------------------------------------

    def _find(self, voucher: Voucher, year: _Year) -> PostedVoucher | None:
        """Entries of the voucher's day, drafts then booked, whose text carries its reference."""
        day_filter = f"date$eq:{voucher.day.isoformat()}"
        for entry in self._pages(f"/journals/{self._journal}/entries", day_filter):
            if entry.get("entryType", "financeVoucher") != "financeVoucher":
                continue
            if _has_reference(entry.get("text"), voucher.reference):
                handle = entry.get("voucher") or {}
                entry_year = (handle.get("accountingYear") or {}).get("year") or year.year
                return self._posted(str(entry_year), handle.get("voucherNumber"))
        booked = f"/accounting-years/{_encode_id(year.year)}/entries"
        for entry in self._pages(booked, day_filter):
            if _has_reference(entry.get("text"), voucher.reference):
                return self._posted(year.year, entry.get("voucherNumber"))
        return None

    def _posted(self, year: str, number: Any) -> PostedVoucher:
        return PostedVoucher(system=self.system, voucher_id=f"{year}-{number}")

    def _posted_from(self, response: httpx.Response) -> PostedVoucher | None:
        """The created voucher's id from the POST answer (an array of vouchers; a single
        object is read too)."""
        try:
            data = response.json()
        except ValueError:
            return None
        first = data[0] if isinstance(data, list) and data else data
        if not isinstance(first, dict):
            return None
        number = first.get("voucherNumber")
        year = (first.get("accountingYear") or {}).get("year")
        if number is None or not year:
            return None
        return self._posted(str(year), int(number))

    def _voucher_body(self, voucher: Voucher) -> dict[str, Any]:
        """The voucher as e-conomic takes it (its accounting year is added once known);
        refuses, before any call, what e-conomic could not book as one voucher."""
        self._check_reference(voucher.reference)
        refuse = self._refuser()
        if not voucher.lines:
            refuse("the voucher has no lines")
        if voucher.imbalance != 0:
            refuse(f"the voucher does not balance (debits - credits = {voucher.imbalance})")
        entries = []
        for line in voucher.lines:
            account = line.account.strip()
            if not account.isdigit() or int(account) < 1:
                refuse(f"account {line.account!r} is not an e-conomic account number")
            if line.amount != line.amount.quantize(_CENT):
                refuse(f"amount {line.amount} on account {account} has more than 2 decimals")
            entries.append(
                {
                    "account": {"accountNumber": int(account)},
                    "amount": float(line.amount),
                    "currency": {"code": voucher.currency},
                    "date": voucher.day.isoformat(),
                    "text": entry_text(voucher.reference, line.description),
                }
            )
        return {
            "journal": {"journalNumber": self._journal},
            "entries": {"financeVouchers": entries},
        }

    def _refuser(self) -> Callable[[str], None]:
        def refuse(message: str) -> None:
            raise FatalError(self.system, "POST", self._vouchers_path, message)

        return refuse

    def _check_reference(self, reference: str) -> None:
        if not reference.strip() or len(reference) > TEXT_MAX:
            self._refuser()(
                f"the voucher reference must be 1..{TEXT_MAX} characters to fit an entry text"
            )

    def _year_for(self, day: date) -> _Year | None:
        """The accounting year whose fromDate..toDate holds the day, if the agreement has one."""
        iso = day.isoformat()
        for item in self._pages("/accounting-years", f"fromDate$lte:{iso}$and:toDate$gte:{iso}"):
            try:
                year = _Year(
                    year=str(item["year"]),
                    from_date=date.fromisoformat(item["fromDate"]),
                    to_date=date.fromisoformat(item["toDate"]),
                    closed=bool(item.get("closed", False)),
                )
            except (KeyError, TypeError, ValueError):
                continue
            if year.from_date <= day <= year.to_date:
                return year
        return None

    def _open_year(self, day: date) -> _Year:
        year = self._year_for(day)
        if year is None:
            raise FatalError(
                self.system,
                "GET",
                "/accounting-years",
                f"no accounting year contains {day.isoformat()}; create it in e-conomic first",
            )
        if year.closed:
            raise FatalError(
                self.system,
                "GET",
                "/accounting-years",
                f"accounting year {year.year} (holding {day.isoformat()}) is closed",
            )
        return year

    def _pages(self, path: str, filter_expression: str) -> Iterator[dict[str, Any]]:
        """Every item of a filtered collection, page by page (skippages/pagesize)."""
        skip = 0
        while True:
            params = {"filter": filter_expression, "skippages": skip, "pagesize": PAGE_SIZE}
            data = self._api.get(path, params=params).json(parse_float=Decimal)
            if not isinstance(data, dict):
                return
            items = data.get("collection") or []
            yield from (item for item in items if isinstance(item, dict))
            if not items or not (data.get("pagination") or {}).get("nextPage"):
                return
            skip += 1
