"""A Square POS emulator: a FastAPI app speaking Square's Connect API v2 (2025-08-20).

Written from Square's own OpenAPI file (shared/specs/square/api.json) and Square's docs, never
from our client code, so it cannot share our client's mistakes. Endpoints:

- GET  /v2/locations                            ListLocations
- GET  /v2/locations/{location_id}              RetrieveLocation
- GET  /v2/catalog/list                         ListCatalog
- POST /v2/catalog/batch-retrieve               BatchRetrieveCatalogObjects
- POST /v2/catalog/search                       SearchCatalogObjects
- GET  /v2/catalog/object/{object_id}           RetrieveCatalogObject
- POST /v2/catalog/batch-upsert                 BatchUpsertCatalogObjects
- POST /v2/catalog/object                       UpsertCatalogObject
- POST /v2/catalog/batch-delete                 BatchDeleteCatalogObjects
- DELETE /v2/catalog/object/{object_id}         DeleteCatalogObject
- POST /v2/inventory/counts/batch-retrieve      BatchRetrieveInventoryCounts
- POST /v2/inventory/changes/batch-create       BatchChangeInventory
- GET  /v2/inventory/{catalog_object_id}        RetrieveInventoryCount
- POST /v2/orders                               CreateOrder
- POST /v2/orders/search                        SearchOrders
- POST /v2/orders/batch-retrieve                BatchRetrieveOrders
- GET  /v2/orders/{order_id}                    RetrieveOrder
- POST /v2/payments                             CreatePayment (EXTERNAL, CASH, Sandbox card nonce)
- GET  /v2/payments/{payment_id}                GetPayment
- POST /v2/refunds                              RefundPayment
- GET  /v2/refunds                              ListPaymentRefunds
- GET  /v2/refunds/{refund_id}                  GetPaymentRefund

Every /v2 request needs `Authorization: Bearer <access_token>`; errors use Square's body
`{"errors": [{"category", "code", "detail", "field"}]}`. Request counts and fault injection
come from `EmulatorControl` (`app.state.control`); the data is `app.state.square`.
"""

from __future__ import annotations

import hmac
import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from emulators.control import EmulatorControl
from emulators.square_common import SquareError, errors_body, square_error_body
from emulators.square_models import (
    BatchChangeInventoryRequest,
    BatchDeleteCatalogObjectsRequest,
    BatchRetrieveCatalogObjectsRequest,
    BatchRetrieveInventoryCountsRequest,
    BatchRetrieveOrdersRequest,
    BatchUpsertCatalogObjectsRequest,
    CreateOrderRequest,
    CreatePaymentRequest,
    RefundPaymentRequest,
    SearchCatalogObjectsRequest,
    SearchOrdersRequest,
    UpsertCatalogObjectRequest,
)
from emulators.square_payments import RefundsQuery
from emulators.square_state import SquareState

__all__ = ["SquareState", "create_square_app", "square_error_body"]

_SQUARE_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# pydantic error types -> Square's generic error codes.
_CODE_BY_ERROR_TYPE = {
    "missing": "MISSING_REQUIRED_PARAMETER",
    "extra_forbidden": "UNKNOWN_BODY_PARAMETER",
    "string_type": "EXPECTED_STRING",
    "int_type": "EXPECTED_INTEGER",
    "int_parsing": "EXPECTED_INTEGER",
    "int_from_float": "EXPECTED_INTEGER",
    "bool_type": "EXPECTED_BOOLEAN",
    "bool_parsing": "EXPECTED_BOOLEAN",
    "list_type": "EXPECTED_ARRAY",
    "dict_type": "EXPECTED_OBJECT",
    "model_type": "EXPECTED_OBJECT",
    "model_attributes_type": "EXPECTED_OBJECT",
    "literal_error": "INVALID_ENUM_VALUE",
    "enum": "INVALID_ENUM_VALUE",
    "string_too_short": "VALUE_TOO_SHORT",
    "string_too_long": "VALUE_TOO_LONG",
    "too_long": "ARRAY_LENGTH_TOO_LONG",
    "less_than_equal": "VALUE_TOO_HIGH",
    "greater_than_equal": "VALUE_TOO_LOW",
}


def create_square_app(
    state: SquareState | None = None,
    *,
    access_token: str = "sq-demo-token",  # noqa: S107 - the emulator's well-known demo token
) -> FastAPI:
    """The emulator app around `state` (a fresh, empty one by default)."""
    square = state if state is not None else SquareState()
    app = FastAPI(title="Square emulator", docs_url=None, redoc_url=None, openapi_url=None)
    control = EmulatorControl(square_error_body)
    control.install(app)
    app.state.square = square
    app.state.control = control
    _install_error_handlers(app)

    def authorize(
        authorization: str | None = Header(None),
        square_version: str | None = Header(None, alias="Square-Version"),
    ) -> None:
        expected = f"Bearer {access_token}"
        if authorization is None or not hmac.compare_digest(authorization, expected):
            raise SquareError(401, "UNAUTHORIZED", "This request could not be authorized.")
        if square_version is not None and not _SQUARE_VERSION.match(square_version):
            raise SquareError(
                400,
                "INVALID_SQUARE_VERSION_FORMAT",
                f"Square-Version `{square_version}` is not a YYYY-MM-DD date.",
            )

    router = APIRouter(prefix="/v2", dependencies=[Depends(authorize)])
    _catalog_routes(router, square)
    _catalog_write_routes(router, square)
    _inventory_routes(router, square)
    _sales_routes(router, square)
    app.include_router(router)
    return app


def _catalog_routes(router: APIRouter, square: SquareState) -> None:
    @router.get("/locations")
    def list_locations() -> JSONResponse:
        return JSONResponse(square.list_locations())

    @router.get("/locations/{location_id}")
    def retrieve_location(location_id: str) -> JSONResponse:
        return JSONResponse(square.retrieve_location(location_id))

    @router.get("/catalog/list")
    def list_catalog(
        cursor: str | None = None, types: str | None = None, catalog_version: int | None = None
    ) -> JSONResponse:
        return JSONResponse(square.list_catalog(types, cursor))

    @router.post("/catalog/batch-retrieve")
    def batch_retrieve_catalog_objects(body: BatchRetrieveCatalogObjectsRequest) -> JSONResponse:
        return JSONResponse(square.batch_retrieve_catalog(body))

    @router.post("/catalog/search")
    def search_catalog_objects(body: SearchCatalogObjectsRequest) -> JSONResponse:
        return JSONResponse(square.search_catalog(body))

    @router.get("/catalog/object/{object_id}")
    def retrieve_catalog_object(
        object_id: str,
        include_related_objects: bool = False,
        catalog_version: int | None = None,
        include_category_path_to_root: bool = False,
    ) -> JSONResponse:
        return JSONResponse(square.retrieve_catalog_object(object_id, include_related_objects))


def _catalog_write_routes(router: APIRouter, square: SquareState) -> None:
    @router.post("/catalog/batch-upsert")
    def batch_upsert_catalog_objects(body: BatchUpsertCatalogObjectsRequest) -> JSONResponse:
        return JSONResponse(square.batch_upsert_catalog(body))

    @router.post("/catalog/object")
    def upsert_catalog_object(body: UpsertCatalogObjectRequest) -> JSONResponse:
        return JSONResponse(square.upsert_catalog_object(body))

    @router.post("/catalog/batch-delete")
    def batch_delete_catalog_objects(body: BatchDeleteCatalogObjectsRequest) -> JSONResponse:
        return JSONResponse(square.batch_delete_catalog(body))

    @router.delete("/catalog/object/{object_id}")
    def delete_catalog_object(object_id: str) -> JSONResponse:
        return JSONResponse(square.delete_catalog_object(object_id))


def _inventory_routes(router: APIRouter, square: SquareState) -> None:
    @router.post("/inventory/counts/batch-retrieve")
    def batch_retrieve_inventory_counts(body: BatchRetrieveInventoryCountsRequest) -> JSONResponse:
        return JSONResponse(square.batch_retrieve_counts(body))

    @router.post("/inventory/changes/batch-create")
    def batch_change_inventory(body: BatchChangeInventoryRequest) -> JSONResponse:
        return JSONResponse(square.batch_change_inventory(body))

    @router.get("/inventory/{catalog_object_id}")
    def retrieve_inventory_count(
        catalog_object_id: str, location_ids: str | None = None, cursor: str | None = None
    ) -> JSONResponse:
        return JSONResponse(
            square.retrieve_inventory_count(catalog_object_id, location_ids, cursor)
        )


def _sales_routes(router: APIRouter, square: SquareState) -> None:
    @router.post("/orders")
    def create_order(body: CreateOrderRequest) -> JSONResponse:
        return JSONResponse(square.create_order(body))

    @router.post("/orders/search")
    def search_orders(body: SearchOrdersRequest) -> JSONResponse:
        return JSONResponse(square.search_orders(body))

    @router.post("/orders/batch-retrieve")
    def batch_retrieve_orders(body: BatchRetrieveOrdersRequest) -> JSONResponse:
        return JSONResponse(square.batch_retrieve_orders(body))

    @router.get("/orders/{order_id}")
    def retrieve_order(order_id: str) -> JSONResponse:
        return JSONResponse(square.retrieve_order(order_id))

    @router.post("/payments")
    def create_payment(body: CreatePaymentRequest) -> JSONResponse:
        return JSONResponse(square.create_payment(body))

    @router.get("/payments/{payment_id}")
    def get_payment(payment_id: str) -> JSONResponse:
        return JSONResponse(square.retrieve_payment(payment_id))

    @router.post("/refunds")
    def refund_payment(body: RefundPaymentRequest) -> JSONResponse:
        return JSONResponse(square.refund_payment(body))

    @router.get("/refunds")
    def list_payment_refunds(query: Annotated[RefundsQuery, Depends()]) -> JSONResponse:
        return JSONResponse(square.list_refunds(query))

    @router.get("/refunds/{refund_id}")
    def get_payment_refund(refund_id: str) -> JSONResponse:
        return JSONResponse(square.get_refund(refund_id))


def _install_error_handlers(app: FastAPI) -> None:
    """Every failure leaves in Square's error body, never FastAPI's `{"detail": ...}`."""

    async def on_square_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, SquareError)
        return JSONResponse(errors_body([exc]), status_code=exc.status)

    async def on_validation_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return JSONResponse(errors_body(validation_errors(exc.errors())), status_code=400)

    async def on_http_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        return JSONResponse(square_error_body(exc.status_code), status_code=exc.status_code)

    app.add_exception_handler(SquareError, on_square_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)


def validation_errors(errors: Any) -> list[SquareError]:
    """pydantic/FastAPI validation errors as Square errors, with Square-style field paths."""
    found: list[SquareError] = []
    for error in errors:
        loc = tuple(error.get("loc", ()))
        kind = str(error.get("type", ""))
        path = loc[1:] if loc and loc[0] in ("body", "query", "path", "header") else loc
        if kind == "json_invalid" or (loc[:1] == ("body",) and not path):
            found.append(SquareError(400, "EXPECTED_JSON_BODY", "The body is not a JSON object."))
            continue
        field = _field_path(path)
        code = _CODE_BY_ERROR_TYPE.get(kind, "INVALID_VALUE")
        detail = str(error.get("msg", "Invalid value."))
        if code == "UNKNOWN_BODY_PARAMETER":
            detail = f"Unknown field `{field}` (or one this emulator does not implement)."
        elif code == "MISSING_REQUIRED_PARAMETER":
            detail = "Field must be set."
        found.append(SquareError(400, code, detail, field))
    return found


def _field_path(path: tuple[Any, ...]) -> str:
    """('changes', 0, 'adjustment', 'quantity') -> 'changes[0].adjustment.quantity'."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text
