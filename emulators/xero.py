"""A Xero emulator: a FastAPI app speaking the Xero Accounting API (16.1.0) under
/api.xro/2.0, as shared/specs/xero/xero_accounting.yaml and developer.xero.com describe it.

    state = XeroState()
    server = serve_in_thread(create_xero_app(state, access_token="tok", tenant_id=TENANT))
    # base URL: server.url + PREFIX

Endpoints (operationId in the spec):

- GET  /ManualJournals                      getManualJournals: where, order, page, pageSize,
                                            If-Modified-Since
- PUT  /ManualJournals                      createManualJournals (summarizeErrors)
- POST /ManualJournals                      updateOrCreateManualJournals
- GET  /ManualJournals/{ManualJournalID}    getManualJournal
- POST /ManualJournals/{ManualJournalID}    updateManualJournal
- GET  /Accounts                            getAccounts: where, order

Every call needs `Authorization: Bearer <token>` (else 401) and the organisation's
`xero-tenant-id` (missing or another organisation: 403), in the gateway's error shape;
writes honour `Idempotency-Key`. The rules of each part are in xero_journals (validation),
xero_state (idempotency, paging, rate limits), xero_where (filters) and xero_common (error
bodies). Request counts and fault injection come from `EmulatorControl`
(`app.state.control`); the organisation is `app.state.xero`.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime

from fastapi import APIRouter, Depends, FastAPI, Header, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from emulators.control import EmulatorControl
from emulators.xero_common import (
    NOT_FOUND_TEXT,
    Json,
    XeroError,
    fault_body,
    gateway_body,
    post_data_invalid,
    query_invalid,
)
from emulators.xero_state import DEMO_TENANT_ID, Answer, XeroLimits, XeroState

__all__ = [
    "DEMO_TENANT_ID",
    "DEMO_TOKEN",
    "PREFIX",
    "XeroLimits",
    "XeroState",
    "create_xero_app",
    "fault_body",
]

PREFIX = "/api.xro/2.0"
DEMO_TOKEN = "xero-demo-token"  # noqa: S105 - the emulator's well-known demo token


def create_xero_app(
    state: XeroState | None = None,
    *,
    access_token: str = DEMO_TOKEN,
    tenant_id: str = DEMO_TENANT_ID,
) -> FastAPI:
    """The emulator app around `state` (a fresh demo organisation by default)."""
    xero = state if state is not None else XeroState()
    app = FastAPI(title="Xero emulator", docs_url=None, redoc_url=None, openapi_url=None)
    _install_rate_limits(app, xero)  # before the control, so injected faults come first
    control = EmulatorControl(fault_body)
    control.install(app)
    app.state.xero = xero
    app.state.control = control
    _install_error_handlers(app)

    def authorize(
        authorization: str | None = Header(None),
        xero_tenant_id: str | None = Header(None, alias="xero-tenant-id"),
    ) -> None:
        expected = f"Bearer {access_token}".encode()
        given = (authorization or "").encode()
        if not hmac.compare_digest(given, expected):
            raise XeroError(401, gateway_body(401, "AuthenticationUnsuccessful"))
        if (xero_tenant_id or "").strip().lower() != tenant_id.lower():
            raise XeroError(403, gateway_body(403, "AuthenticationUnsuccessful"))

    router = APIRouter(prefix=PREFIX, dependencies=[Depends(authorize)])
    _journal_routes(router, xero)
    _account_routes(router, xero)
    app.include_router(router)
    return app


def _journal_routes(router: APIRouter, xero: XeroState) -> None:
    @router.get("/ManualJournals")
    def get_manual_journals(request: Request) -> Response:
        query = request.query_params
        return _json(
            200,
            xero.list_journals(
                where=query.get("where"),
                order=query.get("order"),
                page=_int_param(query.get("page"), "page"),
                page_size=_int_param(query.get("pageSize"), "pageSize"),
                modified_since=_since(request.headers.get("If-Modified-Since")),
            ),
        )

    @router.put("/ManualJournals")
    async def create_manual_journals(request: Request) -> Response:
        body, raw = await _body(request)
        summarize = _summarize(request)
        return _answer(
            _write(
                request, xero, raw, lambda: xero.create_journals(body, summarize_errors=summarize)
            )
        )

    @router.post("/ManualJournals")
    async def update_or_create_manual_journals(request: Request) -> Response:
        body, raw = await _body(request)
        summarize = _summarize(request)
        return _answer(
            _write(request, xero, raw, lambda: xero.save_journals(body, summarize_errors=summarize))
        )

    @router.get("/ManualJournals/{ManualJournalID}")
    def get_manual_journal(ManualJournalID: str) -> Response:
        return _json(200, xero.get_journal(ManualJournalID))

    @router.post("/ManualJournals/{ManualJournalID}")
    async def update_manual_journal(request: Request, ManualJournalID: str) -> Response:
        body, raw = await _body(request)
        return _answer(
            _write(request, xero, raw, lambda: xero.save_journals(body, journal_id=ManualJournalID))
        )


def _account_routes(router: APIRouter, xero: XeroState) -> None:
    @router.get("/Accounts")
    def get_accounts(request: Request) -> Response:
        query = request.query_params
        return _json(200, xero.list_accounts(where=query.get("where"), order=query.get("order")))


def _write(request: Request, xero: XeroState, raw: bytes, run: Callable[[], Json]) -> Answer:
    """A write under its Idempotency-Key (header names are case-insensitive)."""
    url = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    key = request.headers.get("Idempotency-Key")
    return xero.idempotent(key, request.method, url, raw, run)


async def _body(request: Request) -> tuple[object, bytes]:
    raw = await request.body()
    try:
        return json.loads(raw, parse_float=Decimal), raw
    except ValueError as exc:
        raise post_data_invalid("JSON for post data was invalid") from exc


def _summarize(request: Request) -> bool:
    return (request.query_params.get("summarizeErrors") or "true").lower() != "false"


def _int_param(value: str | None, name: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise query_invalid(f"'{value}' is not a valid value for {name}") from exc


def _since(value: str | None) -> datetime | None:
    """If-Modified-Since: Xero documents a UTC timestamp "yyyy-mm-ddThh:mm:ss"; an offset
    or an HTTP date is read too, and an unreadable value is ignored."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _answer(answer: Answer) -> Response:
    status, body = answer
    return _json(status, body) if isinstance(body, dict) else PlainTextResponse(body, status)


def _json(status: int, body: Json) -> Response:
    return JSONResponse(body, status_code=status)


def _install_rate_limits(app: FastAPI, xero: XeroState) -> None:
    @app.middleware("http")
    async def rate_limits(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        if not request.url.path.startswith(PREFIX):
            return await call_next(request)
        headers, refused = xero.count_call()
        if refused is not None:
            assert isinstance(refused.body, dict)
            return JSONResponse(refused.body, refused.status, headers=refused.headers)
        response = await call_next(request)
        response.headers.update(headers)
        return response


def _install_error_handlers(app: FastAPI) -> None:
    """Failures leave in Xero's shapes, never FastAPI's {"detail": ...}."""

    async def on_xero_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, XeroError)
        if isinstance(exc.body, str):
            return PlainTextResponse(exc.body, exc.status, headers=exc.headers)
        return JSONResponse(exc.body, exc.status, headers=exc.headers)

    async def on_http_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 404:
            return PlainTextResponse(NOT_FOUND_TEXT, 404)
        return JSONResponse(gateway_body(exc.status_code, str(exc.detail)), exc.status_code)

    app.add_exception_handler(XeroError, on_xero_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
