"""The emulated Xero organisation: chart of accounts, manual journals, idempotency keys and
rate-limit counters. Thread-safe: the app's handlers and a test may use it at once.

Idempotency (developer.xero.com, "Idempotent requests"): the `Idempotency-Key` header, at
most 128 characters, counts on POST, PUT and PATCH only. Xero keeps a key 6 minutes from its
first call; the same key with the same method, URL and body answers what the first call
answered, errors included ("the error will be cached and returned when the request is
re-run"); the same key with a different request is refused with "Idempotency Key: KEY is
used with a different request."; an expired key is a new request.

Rate limits (developer.xero.com, "OAuth 2.0 API limits"): 60 calls a minute and 5,000 a day
per organisation, 10,000 a minute per app; every answer carries X-MinLimit-Remaining,
X-DayLimit-Remaining and X-AppMinLimit-Remaining; a call over a limit gets 429 with
X-Rate-Limit-Problem (minute/day/appminute) and, for the minute and day limits, Retry-After.
The emulator reports the headers always and refuses only when `XeroLimits.enforce` is set.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from emulators.xero_accounts import (
    ACCOUNT_FIELDS,
    DEMO_CHART,
    DEMO_TAX_RATES,
    Account,
    TaxRate,
    account_record,
    render_account,
)
from emulators.xero_common import (
    Json,
    XeroError,
    envelope,
    gateway_body,
    idempotency_refusal,
    not_found,
    post_data_invalid,
    query_invalid,
    validation_error,
)
from emulators.xero_journals import (
    JOURNAL_FIELDS,
    Books,
    Checked,
    Journal,
    check_element,
    journal_record,
    render_journal,
)
from emulators.xero_where import QueryError, compile_where, sort_records

__all__ = ["DEMO_TENANT_ID", "XeroLimits", "XeroState"]

DEMO_TENANT_ID = "6f1bd6f5-9d0b-4c52-9a1c-8f0e3b7f1a2d"
IDEMPOTENCY_KEY_MAX = 128
IDEMPOTENCY_TTL = timedelta(minutes=6)
PAGE_SIZE = 100  # "Up to 100 manual journals will be returned per call"
PAGE_SIZE_MAX = 1000

Clock = Callable[[], datetime]
Answer = tuple[int, Json | str]


@dataclass
class XeroLimits:
    """Xero's per-organisation and per-app call limits, and whether to enforce them."""

    minute: int = 60
    day: int = 5000
    app_minute: int = 10_000
    enforce: bool = False


@dataclass
class _Window:
    length: timedelta
    started: datetime | None = None
    used: int = 0

    def count(self, now: datetime) -> None:
        if self.started is None or now - self.started >= self.length:
            self.started, self.used = now, 0
        self.used += 1

    def retry_after(self, now: datetime) -> int:
        started = self.started or now
        return max(1, math.ceil((started + self.length - now).total_seconds()))


@dataclass(frozen=True)
class _Remembered:
    fingerprint: str
    answer: Answer
    expires: datetime


@dataclass
class XeroState:
    """One Xero organisation with the demo chart (see xero_accounts) and no journals."""

    app_name: str = "possync"
    base_currency: str = "GBP"
    accounts: Iterable[Account] = DEMO_CHART
    tax_rates: Iterable[TaxRate] = DEMO_TAX_RATES
    clock: Clock = field(default=lambda: datetime.now(UTC))
    idempotency_ttl: timedelta = IDEMPOTENCY_TTL
    limits: XeroLimits = field(default_factory=XeroLimits)

    def __post_init__(self) -> None:
        self._lock = threading.RLock()
        self._accounts = {a.code: a for a in self.accounts}
        self._tax_rates = {t.tax_type: t for t in self.tax_rates}
        self._journals: dict[str, Journal] = {}
        self._keys: dict[str, _Remembered] = {}
        self._minute = _Window(timedelta(minutes=1))
        self._day = _Window(timedelta(days=1))
        self._created = self.clock()

    # -- for tests and demos --------------------------------------------------------------

    def journals(self) -> list[Journal]:
        with self._lock:
            return list(self._journals.values())

    def journal(self, journal_id: str) -> Journal:
        with self._lock:
            return self._journals[journal_id]

    def account(self, code: str) -> Account:
        with self._lock:
            return self._accounts[code]

    def put_account(self, account: Account) -> None:
        """Add or replace an account (e.g. `state.put_account(state.account("200").archived())`)."""
        with self._lock:
            self._accounts[account.code] = account

    # -- rate limits ----------------------------------------------------------------------

    def count_call(self) -> tuple[dict[str, str], XeroError | None]:
        """Count one API call: the X-*-Remaining headers, and the 429 if over a limit."""
        with self._lock:
            now = self.clock()
            self._minute.count(now)
            self._day.count(now)
            limits = self.limits
            headers = {
                "X-MinLimit-Remaining": str(max(0, limits.minute - self._minute.used)),
                "X-DayLimit-Remaining": str(max(0, limits.day - self._day.used)),
                "X-AppMinLimit-Remaining": str(max(0, limits.app_minute - self._minute.used)),
            }
            if not limits.enforce:
                return headers, None
            for problem, window, limit in (
                ("minute", self._minute, limits.minute),
                ("day", self._day, limits.day),
                ("appminute", self._minute, limits.app_minute),
            ):
                if window.used > limit:
                    extra = {"X-Rate-Limit-Problem": problem}
                    if problem != "appminute":  # Xero sends no Retry-After for the app limit
                        extra["Retry-After"] = str(window.retry_after(now))
                    body = gateway_body(429, f"Rate limit exceeded: {problem}")
                    return headers, XeroError(429, body, {**headers, **extra})
            return headers, None

    # -- idempotency ----------------------------------------------------------------------

    def idempotent(
        self, key: str | None, method: str, url: str, body: bytes, run: Callable[[], Json]
    ) -> Answer:
        """Run a write once per key (see module docstring); answers (status, body)."""
        if key is None:
            return _answer(run)
        if len(key) > IDEMPOTENCY_KEY_MAX:
            raise idempotency_refusal(
                f"Idempotency Key: {key} is {len(key)} characters long; the maximum is "
                f"{IDEMPOTENCY_KEY_MAX}."
            )
        fingerprint = hashlib.sha256(b"\n".join([method.encode(), url.encode(), body])).hexdigest()
        with self._lock:
            now = self.clock()
            self._keys = {k: v for k, v in self._keys.items() if v.expires > now}
            remembered = self._keys.get(key)
            if remembered is not None:
                if remembered.fingerprint != fingerprint:
                    detail = f"Idempotency Key: {key} is used with a different request."
                    raise idempotency_refusal(detail)
                return remembered.answer
            answer = _answer(run)
            self._keys[key] = _Remembered(fingerprint, answer, now + self.idempotency_ttl)
            return answer

    # -- manual journals ------------------------------------------------------------------

    def create_journals(self, body: object, *, summarize_errors: bool = True) -> Json:
        """PUT /ManualJournals: create every element, or none if one is refused (unless
        summarizeErrors=false, which creates the good ones and returns the rest with errors)."""
        with self._lock:
            now = self.clock()
            checked = [check_element(raw, self._books(), now=now) for raw in _elements(body)]
            return self._store(checked, summarize_errors, now)

    def save_journals(
        self, body: object, *, journal_id: str | None = None, summarize_errors: bool = True
    ) -> Json:
        """POST /ManualJournals[/{id}]: update the journals named by id, create the others."""
        with self._lock:
            now = self.clock()
            checked: list[Checked] = []
            for raw in _elements(body):
                wanted = journal_id or (
                    raw.get("ManualJournalID") if isinstance(raw, dict) else None
                )
                existing = None
                if wanted:
                    existing = self._journals.get(str(wanted).lower())
                    if existing is None:
                        raise not_found()
                checked.append(check_element(raw, self._books(), now=now, existing=existing))
            return self._store(checked, summarize_errors, now)

    def _store(self, checked: list[Checked], summarize_errors: bool, now: datetime) -> Json:
        if summarize_errors and any(c.errors for c in checked):
            raise validation_error([c.echo() for c in checked])
        answered: list[Json] = []
        for item in checked:
            if item.journal is None:
                answered.append({**item.echo(), "StatusAttributeString": "ERROR"})
                continue
            self._journals[item.journal.journal_id] = item.journal
            rendered = render_journal(item.journal)
            if item.warnings:
                rendered["Warnings"] = [{"Message": text} for text in item.warnings]
            if not summarize_errors:
                rendered["StatusAttributeString"] = "OK"
            answered.append(rendered)
        return envelope(now, self.app_name, "ManualJournals", answered)

    def list_journals(
        self,
        *,
        where: str | None = None,
        order: str | None = None,
        page: int | None = None,
        page_size: int | None = None,
        modified_since: datetime | None = None,
    ) -> Json:
        """GET /ManualJournals. Paged (`page`), a call answers up to 100 journals with their
        lines; unpaged it answers all of them without lines, as Xero's example shows."""
        with self._lock:
            now = self.clock()
            try:
                matches = compile_where(where, JOURNAL_FIELDS)
                records = [journal_record(j) for j in self._journals.values()]
                records = [
                    r
                    for r in records
                    if matches(r)
                    and (modified_since is None or r["UpdatedDateUTC"] > modified_since)
                ]
                records = sort_records(records, order, JOURNAL_FIELDS)
            except QueryError as exc:
                raise query_invalid(str(exc)) from exc
            found = [self._journals[r["ManualJournalID"]] for r in records]
            if page is None:
                items = [render_journal(j, with_lines=False) for j in found]
                return envelope(now, self.app_name, "ManualJournals", items)
            size = min(max(page_size or PAGE_SIZE, 1), PAGE_SIZE_MAX)
            start = (max(page, 1) - 1) * size
            items = [render_journal(j) for j in found[start : start + size]]
            pagination = {
                "page": max(page, 1),
                "pageSize": size,
                "pageCount": math.ceil(len(found) / size),
                "itemCount": len(found),
            }
            return envelope(now, self.app_name, "ManualJournals", items, pagination=pagination)

    def get_journal(self, journal_id: str) -> Json:
        """GET /ManualJournals/{ManualJournalID}."""
        with self._lock:
            journal = self._journals.get(journal_id.lower())
            if journal is None:
                raise not_found()
            return envelope(
                self.clock(), self.app_name, "ManualJournals", [render_journal(journal)]
            )

    # -- accounts -------------------------------------------------------------------------

    def list_accounts(self, *, where: str | None = None, order: str | None = None) -> Json:
        """GET /Accounts: the chart of accounts, filtered and ordered."""
        with self._lock:
            try:
                matches = compile_where(where, ACCOUNT_FIELDS)
                records = [account_record(a, self._created) for a in self._accounts.values()]
                records = sort_records([r for r in records if matches(r)], order, ACCOUNT_FIELDS)
            except QueryError as exc:
                raise query_invalid(str(exc)) from exc
            chosen = [self._accounts[r["Code"]] for r in records]
            rendered = [render_account(a, self._created, self.base_currency) for a in chosen]
            return envelope(self.clock(), self.app_name, "Accounts", rendered)

    def _books(self) -> Books:
        return Books(accounts=dict(self._accounts), tax_rates=dict(self._tax_rates))


def _elements(body: object) -> list[Any]:
    if not isinstance(body, dict) or not isinstance(body.get("ManualJournals"), list):
        raise post_data_invalid('The request body must be {"ManualJournals": [...]}')
    elements: list[Any] = body["ManualJournals"]
    if not elements:
        raise post_data_invalid("No ManualJournals were given")
    return elements


def _answer(run: Callable[[], Json]) -> Answer:
    try:
        return 200, run()
    except XeroError as exc:
        return exc.status, exc.body
