"""Xero accounting connector: one shop day's turnover as one POSTED ManualJournal.

What it relies on (Xero Accounting API 16.1.0, shared/specs/xero/xero_accounting.yaml, and
developer.xero.com):

- `PUT /ManualJournals` creates (operationId createManualJournals); `POST` is "update or
  create", so PUT is the verb that can never overwrite an existing journal.
- Headers: `Authorization: Bearer`, `xero-tenant-id` (required by every operation) and
  `Idempotency-Key` (at most 128 characters). Xero keeps a key 6 minutes and answers a
  repeat of the same request with the first answer, so a create carrying one is safe to
  repeat within that window; after it, `find_voucher` is what prevents a second journal.
- Lines: `LineAmount` is a number, debits positive and credits negative, like our voucher
  lines. The voucher already holds its VAT as lines of its own (to the VAT account), so the
  journal is sent with `LineAmountTypes: NoTax` and every line's `TaxType: NONE`: Xero must
  not compute tax on top. (Xero's VAT return therefore does not see these amounts; an
  organisation that files its VAT return from Xero needs the VAT on taxed lines instead.)
- Manual journals carry no currency: they are in the organisation's base currency, which
  must be the voucher's.
- `GET /ManualJournals?where=Date == DateTime(y, m, d)&page=n` answers up to 100 journals a
  page with their lines; the reference is matched in the Narration on our side.
- Errors: 400 `ValidationException` {ErrorNumber, Type, Message, Elements: [{...,
  ValidationErrors: [{Message}], Warnings}]}; the gateway's 401/403/429 {Title, Status,
  Detail}; 404 as plain text. A 429 says which limit in `X-Rate-Limit-Problem`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx

from possync.domain.money import MoneyError
from possync.domain.turnover import PostedVoucher, Voucher
from possync.vendors.errors import FatalError
from possync.vendors.http import ApiClient, RetryPolicy
from possync.vendors.xero.config import XeroConfig

__all__ = ["XeroAccounting", "journal_body", "narration_for", "xero_error"]

log = logging.getLogger(__name__)

PAGE_SIZE = 100  # "Up to 100 manual journals will be returned in a single API call"
IDEMPOTENCY_KEY_MAX = 128
_CENT = Decimal("0.01")
_MS_DATE = re.compile(r"^/Date\((-?\d+)(?:[+-]\d{4})?\)/$")
_CLOSED = ("DELETED", "VOIDED")  # a journal undone in Xero no longer holds the day


def xero_error(response: httpx.Response) -> tuple[str | None, str]:
    """Xero's error bodies as (code, message): a ValidationException's messages (and the
    warnings that explain them), the gateway's Title/Detail, or Xero's plain text."""
    problem = response.headers.get("X-Rate-Limit-Problem")
    suffix = f" (rate limit: {problem})" if problem else ""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()[:300]
        return None, (text or response.reason_phrase) + suffix
    if not isinstance(body, dict):
        return None, response.reason_phrase + suffix
    elements = body.get("Elements")
    if body.get("Type") == "ValidationException" or isinstance(elements, list):
        errors = _messages(e.get("ValidationErrors") for e in elements or [] if isinstance(e, dict))
        warnings = _messages(e.get("Warnings") for e in elements or [] if isinstance(e, dict))
        text = "; ".join(errors) or str(body.get("Message") or "validation failed")
        if warnings:
            text += " (warnings: " + "; ".join(warnings) + ")"
        return "ValidationException", text
    code = body.get("Type") or body.get("Title")
    message = body.get("Detail") or body.get("Message") or body.get("Title")
    return (str(code) if code else None), str(message or response.reason_phrase) + suffix


def _messages(groups: Iterable[object]) -> list[str]:
    """Unique `Message`s of Xero's ValidationError lists, in order."""
    found: list[str] = []
    for group in groups:
        for item in group if isinstance(group, list) else []:
            text = item.get("Message") if isinstance(item, dict) else None
            if text and text not in found:
                found.append(str(text))
    return found


def _cents(amount: Decimal, account: str) -> Decimal:
    if amount != amount.quantize(_CENT):
        raise MoneyError(
            f"amount {amount} on account {account} has more than the 2 decimals a Xero journal "
            "line holds; it would have to be rounded"
        )
    return amount


def narration_for(voucher: Voucher) -> str:
    """The journal's narration: ours, then the reference in brackets, which is what
    `find_voucher` looks for."""
    return f"{voucher.narration} [{voucher.reference}]"


def journal_body(voucher: Voucher) -> dict[str, Any]:
    """The createManualJournals body for one voucher.

    Amounts leave as JSON numbers (the spec's `double`): a 2-decimal Decimal becomes the
    float whose shortest repr is those same digits, so nothing is lost. Xero keeps journal
    line amounts to 2 decimals, so an amount with more (a 3-decimal currency's) is refused
    with the line named, never rounded (MoneyError).
    """
    lines = [
        {
            "LineAmount": float(_cents(line.amount, line.account)),
            "AccountCode": line.account,
            "Description": line.description,
            "TaxType": "NONE",
        }
        for line in voucher.lines
    ]
    journal = {
        "Narration": narration_for(voucher),
        "Date": voucher.day.isoformat(),
        "Status": "POSTED",
        "LineAmountTypes": "NoTax",
        "JournalLines": lines,
    }
    return {"ManualJournals": [journal]}


class XeroAccounting:
    """Xero as the accounting system: posts and finds the day's turnover journal."""

    system = "xero"

    def __init__(
        self,
        config: XeroConfig,
        *,
        retry: RetryPolicy | None = None,
        event_hooks: Mapping[str, list[Callable[..., Any]]] | None = None,
    ) -> None:
        self.config = config
        self._api = ApiClient(
            self.system,
            config.base_url.rstrip("/"),
            headers={
                "Authorization": f"Bearer {config.access_token.get_secret_value()}",
                "xero-tenant-id": config.tenant_id,
                "Accept": "application/json",
            },
            timeout=config.timeout_seconds,
            retry=retry,
            error_parser=xero_error,
            event_hooks=event_hooks,
        )

    def close(self) -> None:
        self._api.close()

    def post_voucher(self, voucher: Voucher, *, key: str) -> PostedVoucher:
        """Create the journal under `key`; a repeat within Xero's 6-minute key window
        answers the journal created first instead of a second one."""
        if not key or len(key) > IDEMPOTENCY_KEY_MAX:
            raise ValueError(f"a Xero Idempotency-Key has 1 to {IDEMPOTENCY_KEY_MAX} characters")
        response = self._api.put(
            "/ManualJournals",
            json=journal_body(voucher),
            headers={"Idempotency-Key": key},
            safe_to_repeat=True,  # the key makes a repeat answer the first call's journal
        )
        journals = response.json().get("ManualJournals") or []
        if not journals or not isinstance(journals[0], dict):
            raise FatalError(self.system, "PUT", "/ManualJournals", "no journal in the answer")
        journal = journals[0]
        errors = _messages([journal.get("ValidationErrors")])
        if errors or journal.get("StatusAttributeString") == "ERROR":
            message = "; ".join(errors) or "the journal was refused"
            raise FatalError(self.system, "PUT", "/ManualJournals", message, status=200)
        for warning in _messages([journal.get("Warnings")]):
            log.warning("Xero warns on voucher %s: %s", voucher.reference, warning)
        return PostedVoucher(system=self.system, voucher_id=str(journal["ManualJournalID"]))

    def find_voucher(self, voucher: Voucher) -> PostedVoucher | None:
        """Our journal with this reference on the voucher's day (not voided or deleted),
        paging through that day's journals 100 at a time."""
        day = voucher.day
        params: dict[str, Any] = {
            "where": f"Date == DateTime({day.year}, {day.month:02d}, {day.day:02d})",
            "page": 1,
        }
        tag = f"[{voucher.reference}]"
        while True:
            response = self._api.get("/ManualJournals", params=params)
            journals = response.json().get("ManualJournals") or []
            for journal in journals:
                if (
                    tag in str(journal.get("Narration") or "")
                    and journal.get("Status") not in _CLOSED
                    and _journal_day(journal.get("Date")) in (day, None)
                ):
                    return PostedVoucher(
                        system=self.system, voucher_id=str(journal["ManualJournalID"])
                    )
            if len(journals) < PAGE_SIZE:
                return None
            params = {**params, "page": params["page"] + 1}


def _journal_day(value: object) -> date | None:
    """The day of a Xero date ("/Date(1553126400000+0000)/" or "2019-03-21T00:00:00")."""
    text = str(value or "")
    match = _MS_DATE.match(text)
    if match:
        return datetime.fromtimestamp(int(match.group(1)) / 1000, UTC).date()
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None
