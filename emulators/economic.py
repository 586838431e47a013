"""An e-conomic emulator: a FastAPI app speaking e-conomic's REST API (restapi.e-conomic.com).

Written from e-conomic's own documentation (github.com/e-conomic/slate: the REST docs source,
with the JSON schemas they name under https://restapi.e-conomic.com/schema/), never from our
client. The journal endpoints are documented under /journals-experimental and served by
e-conomic as /journals once stable; the emulator serves /journals. Endpoints:

- GET    /accounting-years                        collection (filter fromDate, toDate, year)
- GET    /accounting-years/{accountingYear}
- GET    /accounting-years/{accountingYear}/entries   booked entries
- GET    /journals                                collection
- GET    /journals/{journalNumber}
- GET    /journals/{journalNumber}/vouchers       draft vouchers
- POST   /journals/{journalNumber}/vouchers       one voucher or an array (bulk)
- GET    /journals/{journalNumber}/vouchers/{accountingYear}-{voucherNumber}
- GET    /journals/{journalNumber}/entries        draft entries
- DELETE /journals/{journalNumber}/entries/{journalEntryNumber}

Every request needs the `X-AppSecretToken` and `X-AgreementGrantToken` headers (e-conomic's
"TL;DR"), else 401 in e-conomic's error shape. e-conomic's REST API documents no idempotency
key, so none is honoured: posting the same voucher twice makes two vouchers, as it would in
e-conomic. Booking a journal (the accountant's step) is `EconomicState.book_journal`.
Request counts and fault injection come from `EmulatorControl` (`app.state.control`); the
agreement's data is `app.state.economic`.

    app = create_economic_app(EconomicState(), app_secret_token="s", agreement_grant_token="g")
    server = serve_in_thread(app)   # server.url is the base URL
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from fastapi import Depends, FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.types import DecoratedCallable
from starlette.exceptions import HTTPException as StarletteHTTPException

from emulators.control import EmulatorControl
from emulators.economic_common import (
    EconomicError,
    JsonDict,
    decode_id,
    encode_id,
    error_body,
    to_json,
)
from emulators.economic_query import collection
from emulators.economic_state import AccountingYear, BookedEntry, EconomicState
from emulators.economic_vouchers import (
    create_vouchers,
    render_entry,
    render_voucher,
)

__all__ = ["EconomicState", "create_economic_app", "error_body"]

# "Filterable properties" of each collection, as e-conomic's docs list them.
YEAR_FILTERS = ("fromDate", "toDate", "year")
JOURNAL_FILTERS = ("journalNumber", "name")
JOURNAL_ENTRY_FILTERS = (
    "amount",
    "amountDefaultCurrency",
    "contraAccount.accountNumber",
    "contraVatAccount.vatCode",
    "contraVatAmount",
    "currency.code",
    "date",
    "employee.employeeNumber",
    "entryType",
    "exchangeRate",
    "journalEntryNumber",
    "text",
    "voucher.voucherNumber",
)
BOOKED_ENTRY_FILTERS = (
    "amount",
    "amountInBaseCurrency",
    "currency",
    "customer.customerNumber",
    "date",
    "dueDate",
    "entryNumber",
    "entryType",
    "quantity1",
    "quantity2",
    "remainder",
    "remainderInBaseCurrency",
    "supplier.supplierNumber",
    "supplierInvoiceNumber",
    "text",
    "unit1.unitNumber",
    "unit2.unitNumber",
    "voucherNumber",
)


def create_economic_app(
    state: EconomicState | None = None,
    *,
    app_secret_token: str = "economic-app-secret",  # noqa: S107 - the emulator's demo tokens
    agreement_grant_token: str = "economic-grant",  # noqa: S107
) -> FastAPI:
    """The emulator app around `state` (the demo agreement by default)."""
    economic = state if state is not None else EconomicState()
    app = FastAPI(title="e-conomic emulator", docs_url=None, redoc_url=None, openapi_url=None)
    control = EmulatorControl(error_body)
    control.install(app)
    app.state.economic = economic
    app.state.control = control
    _install_error_handlers(app)

    def authorize(
        app_secret: str | None = Header(None, alias="X-AppSecretToken"),
        grant: str | None = Header(None, alias="X-AgreementGrantToken"),
    ) -> None:
        good = (
            app_secret is not None
            and grant is not None
            and hmac.compare_digest(app_secret.encode(), app_secret_token.encode())
            and hmac.compare_digest(grant.encode(), agreement_grant_token.encode())
        )
        if not good:
            raise EconomicError(
                401,
                "Unauthorized access.",
                "Supply a valid X-AppSecretToken and X-AgreementGrantToken header. An "
                "agreement that revoked its grant answers 401 too.",
            )

    # Routes go on the app itself (not an included APIRouter), so EmulatorControl sees their
    # path templates (e.g. "/journals/{journalNumber}/vouchers") for counts and `only_paths`.
    router = _Routes(app, [Depends(authorize)])
    _year_routes(router, economic)
    _journal_routes(router, economic)
    return app


class _Routes:
    """`app.get(...)` and friends with the token check attached to every route."""

    def __init__(self, app: FastAPI, dependencies: list[Any]) -> None:
        self._app = app
        self._dependencies = dependencies

    def get(self, path: str) -> Callable[[DecoratedCallable], DecoratedCallable]:
        return self._app.get(path, dependencies=self._dependencies)

    def post(self, path: str) -> Callable[[DecoratedCallable], DecoratedCallable]:
        return self._app.post(path, dependencies=self._dependencies)

    def delete(self, path: str) -> Callable[[DecoratedCallable], DecoratedCallable]:
        return self._app.delete(path, dependencies=self._dependencies)


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _json(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(to_json(data), status_code=status)


def _query(request: Request) -> dict[str, str]:
    return dict(request.query_params)


# -- accounting years ---------------------------------------------------------------------


def render_year(base: str, year: AccountingYear) -> JsonDict:
    self = f"{base}/accounting-years/{encode_id(year.year)}"
    rendered: JsonDict = {
        "year": year.year,
        "fromDate": year.from_date.isoformat(),
        "toDate": year.to_date.isoformat(),
    }
    if year.closed:  # e-conomic leaves false booleans out
        rendered["closed"] = True
    rendered.update(
        {
            "periods": f"{self}/periods",
            "entries": f"{self}/entries",
            "totals": f"{self}/totals",
            "vouchers": f"{self}/vouchers",
            "self": self,
        }
    )
    return rendered


def render_booked(base: str, entry: BookedEntry) -> JsonDict:
    year_self = f"{base}/accounting-years/{encode_id(entry.year)}"
    rendered: JsonDict = {
        "account": {
            "accountNumber": entry.account_number,
            "self": f"{base}/accounts/{entry.account_number}",
        },
        "amount": entry.amount,
        "amountInBaseCurrency": entry.amount_base,
        "currency": entry.currency,
        "date": entry.date.isoformat(),
        "entryNumber": entry.entry_number,
        "entryType": entry.entry_type,
    }
    if entry.text is not None:
        rendered["text"] = entry.text
    if entry.vat_code is not None:
        rendered["vatAccount"] = {
            "vatCode": entry.vat_code,
            "self": f"{base}/vat-accounts/{entry.vat_code}",
        }
    rendered["voucherNumber"] = entry.voucher_number
    rendered["self"] = f"{year_self}/entries/{entry.entry_number}"
    return rendered


def _year_routes(router: _Routes, economic: EconomicState) -> None:
    def find(name: str) -> AccountingYear:
        year = economic.year(decode_id(name))
        if year is None:
            raise EconomicError(404, "Accounting year not found.", value_hint(name))
        return year

    @router.get("/accounting-years")
    def list_years(request: Request) -> JSONResponse:
        base = _base(request)
        items = [render_year(base, y) for y in sorted(economic.years, key=lambda y: y.from_date)]
        url = f"{base}/accounting-years"
        return _json(collection(url, _query(request), items, filterable=YEAR_FILTERS))

    @router.get("/accounting-years/{accountingYear}")
    def get_year(accountingYear: str, request: Request) -> JSONResponse:
        return _json(render_year(_base(request), find(accountingYear)))

    @router.get("/accounting-years/{accountingYear}/entries")
    def booked_entries(accountingYear: str, request: Request) -> JSONResponse:
        year = find(accountingYear)
        base = _base(request)
        with economic.lock:
            items = [render_booked(base, e) for e in economic.booked if e.year == year.year]
        url = f"{base}/accounting-years/{encode_id(year.year)}/entries"
        return _json(collection(url, _query(request), items, filterable=BOOKED_ENTRY_FILTERS))


def value_hint(value: str) -> str:
    return f"No resource with the identifier '{value}'. Use the links the API provides."


# -- journals -----------------------------------------------------------------------------


def _journal_routes(router: _Routes, economic: EconomicState) -> None:
    def journal_or_404(number: int) -> int:
        if number not in economic.journals:
            raise EconomicError(404, "Journal not found.", value_hint(str(number)))
        return number

    def render_journal(base: str, number: int) -> JsonDict:
        journal = economic.journals[number]
        self = f"{base}/journals/{number}"
        return {
            "journalNumber": number,
            "name": journal.name,
            "settings": {
                "voucherNumbers": {
                    "minimumVoucherNumber": journal.minimum_voucher_number,
                    "maximumVoucherNumber": journal.maximum_voucher_number,
                }
            },
            "entries": f"{self}/entries",
            "vouchers": f"{self}/vouchers",
            "self": self,
        }

    @router.get("/journals")
    def list_journals(request: Request) -> JSONResponse:
        base = _base(request)
        items = [render_journal(base, n) for n in sorted(economic.journals)]
        return _json(
            collection(f"{base}/journals", _query(request), items, filterable=JOURNAL_FILTERS)
        )

    @router.get("/journals/{journalNumber}")
    def get_journal(journalNumber: int, request: Request) -> JSONResponse:
        return _json(render_journal(_base(request), journal_or_404(journalNumber)))

    @router.get("/journals/{journalNumber}/vouchers")
    def list_vouchers(journalNumber: int, request: Request) -> JSONResponse:
        number = journal_or_404(journalNumber)
        base = _base(request)
        items = [render_voucher(base, economic, number, y, v) for y, v in economic.vouchers(number)]
        url = f"{base}/journals/{number}/vouchers"
        return _json(collection(url, _query(request), items, filterable=()))

    @router.post("/journals/{journalNumber}/vouchers")
    async def post_vouchers(journalNumber: int, request: Request) -> JSONResponse:
        number = journal_or_404(journalNumber)
        body = _json_body(await request.body(), request.headers.get("content-type", ""))
        created = create_vouchers(economic, number, body)
        base = _base(request)
        return _json([render_voucher(base, economic, number, y, v) for y, v in created], 201)

    @router.get("/journals/{journalNumber}/vouchers/{voucherId}")
    def get_voucher(journalNumber: int, voucherId: str, request: Request) -> JSONResponse:
        number = journal_or_404(journalNumber)
        year, _, voucher = voucherId.rpartition("-")
        if not year or not voucher.isdigit():
            raise EconomicError(404, "Voucher not found.", "Use {accountingYear}-{voucherNumber}.")
        name = decode_id(year)
        if not economic.voucher_entries(number, name, int(voucher)):
            raise EconomicError(404, "Voucher not found.", value_hint(voucherId))
        return _json(render_voucher(_base(request), economic, number, name, int(voucher)))

    @router.get("/journals/{journalNumber}/entries")
    def list_entries(journalNumber: int, request: Request) -> JSONResponse:
        number = journal_or_404(journalNumber)
        base = _base(request)
        with economic.lock:
            drafts = [e for e in economic.drafts if e.journal_number == number]
        items = [render_entry(base, e, base_amount_key="amountDefaultCurrency") for e in drafts]
        url = f"{base}/journals/{number}/entries"
        return _json(collection(url, _query(request), items, filterable=JOURNAL_ENTRY_FILTERS))

    @router.delete("/journals/{journalNumber}/entries/{entryNumber}")
    def delete_entry(journalNumber: int, entryNumber: int) -> Response:
        number = journal_or_404(journalNumber)
        if not economic.delete_entry(number, entryNumber):
            raise EconomicError(404, "Entry not found.", value_hint(str(entryNumber)))
        return Response(status_code=204)


def _json_body(raw: bytes, content_type: str) -> Any:
    if "json" not in content_type.lower():
        raise EconomicError(
            415,
            "Unsupported media type.",
            "We're a JSON based API: send Content-Type: application/json.",
        )
    try:
        return json.loads(raw or b"null", parse_float=Decimal)
    except ValueError as exc:
        raise EconomicError(400, "The request body is not valid JSON.", str(exc)) from exc


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(EconomicError)
    async def economic_error(_request: Request, exc: EconomicError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def bad_parameters(_request: Request, exc: RequestValidationError) -> JSONResponse:
        where = ", ".join(".".join(str(p) for p in e.get("loc", ())) for e in exc.errors())
        return JSONResponse(
            error_body(404, "Resource not found.", f"Malformed identifier in {where}."),
            status_code=404,
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        messages = {404: "Resource not found.", 405: "Method not allowed."}
        message = messages.get(exc.status_code, str(exc.detail))
        return JSONResponse(error_body(exc.status_code, message), status_code=exc.status_code)
