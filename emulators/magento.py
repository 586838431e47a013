"""A Magento 2.4 (Adobe Commerce / Open Source) admin REST emulator, from the 2.4.9 admin
schema (`magento/admin-schema-2.4.9.yaml` in the specs folder) and Adobe's REST docs.

Routes live under `/rest/{store_code}/V1/...` (`all`, `default`, any store code) and
`/rest/V1/...` (the default store); the asynchronous bulk variant of source items under
`/rest/{store_code}/async/bulk/V1/inventory/source-items` takes an ARRAY of the
synchronous request bodies, one operation each (Adobe's "Bulk endpoints" page; the schema
does not describe `/async`). Every call needs `Authorization: Bearer <token>`; without it
Magento answers 401 `{"message": "The consumer isn't authorized to access %resources.",
"parameters": {"resources": "..."}}`. Errors are Magento's `{"message", "parameters"}`
with `%1`/`%name` placeholders (error-response in the schema).

What it answers: products (search, get, create, update, delete), configurable children
(list, link) and the `size` attribute's options; MSI source items (search, save) and their
async bulk save; bulk status (`/V1/bulk/{uuid}/status`, `/detailed-status`); orders
(search, get, invoice, cancel, offline refund) and credit memos (search, get). Searches
take `searchCriteria` (see `magento_search`); a page past the end repeats the last one.
Any GET takes Magento's `fields` filter (`fields=items[id,sku],total_count`).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from emulators.control import EmulatorControl
from emulators.magento_catalog import (
    SIZE_ATTRIBUTE,
    SIZE_ATTRIBUTE_ID,
    CatalogError,
    product_field,
    render_product,
    render_source_item,
    source_item_field,
)
from emulators.magento_sales import (
    memo_field,
    order_field,
    render_memo,
    render_order,
)
from emulators.magento_search import (
    Index,
    SearchError,
    narrow,
    only_fields,
    parse_criteria,
    search,
)
from emulators.magento_state import SOURCE_ITEMS_TOPIC, MagentoState

__all__ = ["DEFAULT_TOKEN", "MagentoState", "create_magento_app", "error_body"]

DEFAULT_TOKEN = "magento-emulated-token"  # noqa: S105 - the emulator's documented demo token
Json = dict[str, Any]
Handler = Callable[..., Awaitable[Any]]
_ATTRIBUTES = "Magento_Catalog::attributes_attributes"
_SOURCE_SAVE = "Magento_InventoryApi::source_item_save"
_BULK = "Magento_Logging::system_magento_logging_bulk_operations"
SOURCE_ITEM_TYPE = "\\Magento\\InventoryApi\\Api\\Data\\SourceItemInterface"
_UNAUTHORIZED = "The consumer isn't authorized to access %resources."


def error_body(status: int) -> dict[str, object]:
    """The body of an injected fault, in Magento's shape."""
    if status == 429:
        return {"message": "Too many requests. Try again later.", "parameters": []}
    return {"message": "Internal Error. Details are available in Magento log file. "
            "Report ID: %1", "parameters": ["webapi-emulated"]}  # fmt: skip


def _error(status: int, message: str, parameters: object = None) -> JSONResponse:
    return JSONResponse({"message": message, "parameters": parameters or []}, status_code=status)


def create_magento_app(state: MagentoState | None = None, *, token: str = DEFAULT_TOKEN) -> FastAPI:
    """The emulator app; `app.state.magento` is the store, `app.state.control` counts and
    injects faults."""
    store = state if state is not None else MagentoState()
    app = FastAPI(title="Magento emulator", docs_url=None, redoc_url=None, openapi_url=None)
    control = EmulatorControl(error_body)
    app.state.magento = store
    app.state.control = control

    def route(method: str, path: str, resource: str) -> Callable[[Handler], Handler]:
        """Register under /rest/{store_code}/... and /rest/..., behind the token check and
        the store's lock; a CatalogError becomes Magento's error answer."""

        def register(handler: Handler) -> Handler:
            async def endpoint(request: Request) -> Response:
                header = request.headers.get("authorization", "")
                if header != f"Bearer {token}":
                    return _error(401, _UNAUTHORIZED, {"resources": resource})
                body: Any = None
                if method in ("POST", "PUT"):
                    try:
                        body = json.loads(await request.body() or b"null")
                    except ValueError:
                        return _error(400, "Decoding error: %1", ["Syntax error"])
                args = dict(request.path_params)
                args.pop("store_code", None)
                try:
                    with store.lock:
                        result = await handler(request, body, **args)
                except CatalogError as exc:
                    return _error(exc.status, exc.message, exc.parameters)
                except SearchError as exc:
                    return _error(400, 'Invalid value of "%1" provided for the %2 field.',
                                  [str(exc), "conditionType"])  # fmt: skip
                except (KeyError, TypeError, ValueError, AttributeError) as exc:
                    return _error(400, "Invalid request: %1", [type(exc).__name__])
                fields = request.query_params.get("fields")
                return JSONResponse(only_fields(result, fields) if fields else result)

            prefix, rest = path.split("/V1", 1) if path.startswith("/async") else ("", path[3:])
            for base in ("/rest/{store_code}", "/rest"):
                app.add_api_route(f"{base}{prefix}/V1{rest}", endpoint, methods=[method])
            return handler

        return register

    _catalog_routes(route, store)
    _stock_routes(route, store)
    _sales_routes(route, store)

    @app.exception_handler(404)
    async def not_found(request: Request, exc: Exception) -> JSONResponse:
        return _error(404, "Request does not match any route.")

    control.install(app)
    return app


Route = Callable[[str, str, str], Callable[[Handler], Handler]]


MAX_PAGE_SIZE = 300  # Web API input limits, when enabled (Adobe's "Input limiting")
MAX_SYNC_ITEMS = 20
MAX_ASYNC_ITEMS = 5000


def _page(
    store: MagentoState,
    records: Sequence[Any],
    request: Request,
    get: Callable[[Any, str], object],
    render: Callable[[Any], Json],
    index: Index | None = None,
) -> Json:
    criteria = parse_criteria(request.query_params.multi_items())
    if store.input_limits and (criteria.page_size or 0) > MAX_PAGE_SIZE:
        raise CatalogError(400, "Maximum SearchCriteria pageSize is %max", {"max": MAX_PAGE_SIZE})
    page, total = search(narrow(records, criteria, index or {}), criteria, get)
    return {
        "items": [render(r) for r in page],
        "search_criteria": criteria.echo(),
        "total_count": total,
    }


def _limit(store: MagentoState, items: Sequence[Any], limit: int, kind: str) -> None:
    if store.input_limits and len(items) > limit:
        raise CatalogError(
            400, 'Maximum items of type "%type" is %max', {"type": kind, "max": limit}
        )


def _catalog_routes(route: Route, store: MagentoState) -> None:
    catalog = store.catalog
    products_resource = "Magento_Catalog::products"

    @route("GET", "/V1/products", products_resource)
    async def list_products(request: Request, body: None) -> Json:
        index = {"sku": catalog.by_skus, "entity_id": catalog.by_ids}
        products = list(catalog.products.values())  # ids grow: already in id order
        return _page(store, products, request, product_field, render_product, index)

    @route("GET", "/V1/products/{sku}", products_resource)
    async def get_product(request: Request, body: None, sku: str) -> Json:
        return render_product(catalog.get(sku))

    @route("POST", "/V1/products", products_resource)
    async def create_product(request: Request, body: Json) -> Json:
        return render_product(catalog.save(_product_body(body)))

    @route("PUT", "/V1/products/{sku}", products_resource)
    async def update_product(request: Request, body: Json, sku: str) -> Json:
        if sku not in catalog.by_sku:
            return render_product(catalog.save(_product_body(body)))
        return render_product(catalog.save(_product_body(body), sku))

    @route("DELETE", "/V1/products/{sku}", products_resource)
    async def delete_product(request: Request, body: None, sku: str) -> bool:
        catalog.delete(sku)
        return True

    @route("GET", "/V1/configurable-products/{sku}/children", products_resource)
    async def children(request: Request, body: None, sku: str) -> list[Json]:
        parent = catalog.get(sku)
        return [render_product(catalog.products[i]) for i in parent.children]

    @route("POST", "/V1/configurable-products/{sku}/child", products_resource)
    async def link_child(request: Request, body: Json, sku: str) -> bool:
        catalog.link_child(sku, str(body["childSku"]))
        return True

    @route("GET", "/V1/products/attributes/{attributeCode}", _ATTRIBUTES)
    async def attribute(request: Request, body: None, attributeCode: str) -> Json:
        _size_only(attributeCode)
        return {
            "attribute_id": SIZE_ATTRIBUTE_ID,
            "attribute_code": SIZE_ATTRIBUTE,
            "frontend_input": "select",
            "entity_type_id": "4",
            "is_required": False,
            "is_user_defined": True,
            "scope": "global",
            "default_frontend_label": "Size",
            "frontend_labels": [],
            "options": await options(request, None, attributeCode),
        }

    @route("GET", "/V1/products/attributes/{attributeCode}/options", _ATTRIBUTES)
    async def options(request: Request, body: None, attributeCode: str) -> list[Json]:
        _size_only(attributeCode)
        listed = [{"label": " ", "value": ""}]
        return listed + [{"label": label, "value": str(i)} for i, label in catalog.sizes.items()]

    @route("POST", "/V1/products/attributes/{attributeCode}/options", _ATTRIBUTES)
    async def add_option(request: Request, body: Json, attributeCode: str) -> str:
        _size_only(attributeCode)
        label = str((body.get("option") or {}).get("label") or "").strip()
        if not label:
            raise CatalogError(400, "The attribute option label is empty. Enter a value and "
                               "try again.")  # fmt: skip
        return str(catalog.size_option(label))


def _size_only(code: str) -> None:
    if code != SIZE_ATTRIBUTE:
        raise CatalogError(404, 'The attribute with a "%1" attributeCode doesn\'t exist. '
                           "Verify the attribute and try again.", [code])  # fmt: skip


def _product_body(body: Json) -> Json:
    product = body.get("product") if isinstance(body, dict) else None
    if not isinstance(product, dict):
        raise CatalogError(400, '"%fieldName" is required. Enter and try again.',
                           {"fieldName": "product"})  # fmt: skip
    return product


def _stock_routes(route: Route, store: MagentoState) -> None:
    catalog = store.catalog
    resource = "Magento_InventoryApi::source"

    @route("GET", "/V1/inventory/source-items", resource)
    async def list_source_items(request: Request, body: None) -> Json:
        items = sorted(catalog.source_items.values(), key=lambda i: (i.sku, i.source_code))
        index = {"sku": catalog.source_items_of}
        return _page(store, items, request, source_item_field, render_source_item, index)

    @route("POST", "/V1/inventory/source-items", _SOURCE_SAVE)
    async def save_source_items(request: Request, body: Json) -> list[Any]:
        items = _source_items(body)
        _limit(store, items, MAX_SYNC_ITEMS, SOURCE_ITEM_TYPE)
        if not items:
            raise CatalogError(400, "Input data is empty")
        for item in items:  # validate all first: the save is one transaction
            _check_source_item(store, item)
        for item in items:
            catalog.save_source_item(item)
        return []

    @route("POST", "/async/bulk/V1/inventory/source-items", _SOURCE_SAVE)
    async def bulk_source_items(request: Request, body: Any) -> Json:
        if not isinstance(body, list) or not body:
            raise CatalogError(400, "Request body must be an array of entities.")
        _limit(store, body, MAX_ASYNC_ITEMS, SOURCE_ITEM_TYPE)

        def run(operation: Json) -> None:
            items = _source_items(operation)
            for item in items:
                _check_source_item(store, item)
            for item in items:
                catalog.save_source_item(item)

        return store.schedule(SOURCE_ITEMS_TOPIC, list(body), run)

    @route("GET", "/V1/bulk/{bulkUuid}/status", _BULK)
    async def bulk_status(request: Request, body: None, bulkUuid: str) -> Json:
        return _bulk_json(store, bulkUuid, detailed=False)

    @route("GET", "/V1/bulk/{bulkUuid}/detailed-status", _BULK)
    async def bulk_detailed(request: Request, body: None, bulkUuid: str) -> Json:
        return _bulk_json(store, bulkUuid, detailed=True)


def _source_items(body: Any) -> list[Json]:
    items = body.get("sourceItems") if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise CatalogError(400, '"%fieldName" is required. Enter and try again.',
                           {"fieldName": "sourceItems"})  # fmt: skip
    return [i for i in items if isinstance(i, dict)]


# inventory_source_item.quantity is decimal(12,4) (Magento_Inventory's db_schema.xml);
# MySQL in strict mode refuses a value beyond it and SourceItemsSave turns that into a
# CouldNotSaveException for the whole save.
SOURCE_ITEM_QUANTITY_LIMIT = Decimal("99999999.9999")


def _check_source_item(store: MagentoState, item: Json) -> None:
    """What SourceItemsSave validates before it writes anything."""
    sku = str(item.get("sku") or "")
    if sku not in store.catalog.by_sku:
        raise CatalogError(400, 'Product with SKU "%1" does not exist.', [sku])
    try:
        quantity = Decimal(str(item.get("quantity", 0)))
    except InvalidOperation:
        return  # save_source_item answers a non-numeric quantity
    if quantity.is_finite() and abs(quantity) > SOURCE_ITEM_QUANTITY_LIMIT:
        raise CatalogError(400, "Could not save Source Item")


def _bulk_json(store: MagentoState, bulk_uuid: str, *, detailed: bool) -> Json:
    bulk = store.bulk(bulk_uuid)
    operations: list[Json] = []
    for op in bulk.operations:
        row: Json = {
            "id": op.id,
            "status": op.status,
            "result_message": op.result_message,
            "error_code": op.error_code,
        }
        if detailed:
            row |= {
                "bulk_uuid": bulk.uuid,
                "topic_name": bulk.topic,
                "serialized_data": json.dumps(op.body),
                "result_serialized_data": None,
            }
        operations.append(row)
    return {
        "operations_list": operations,
        "user_type": 2,
        "bulk_id": bulk.uuid,
        "description": "Topic " + bulk.topic,
        "start_time": bulk.start_time,
        "user_id": 1,
        "operation_count": len(bulk.operations),
    }


def _sales_routes(route: Route, store: MagentoState) -> None:
    sales = store.sales

    @route("GET", "/V1/orders", "Magento_Sales::actions_view")
    async def list_orders(request: Request, body: None) -> Json:
        orders = sorted(sales.orders.values(), key=lambda o: o.entity_id)
        return _page(store, orders, request, order_field, render_order)

    @route("GET", "/V1/orders/{id}", "Magento_Sales::actions_view")
    async def get_order(request: Request, body: None, id: str) -> Json:
        return render_order(sales.get(_id(id)))

    @route("POST", "/V1/order/{orderId}/invoice", "Magento_Sales::sales_invoice")
    async def invoice(request: Request, body: Json | None, orderId: str) -> int:
        return sales.invoice(_id(orderId))

    @route("POST", "/V1/orders/{id}/cancel", "Magento_Sales::cancel")
    async def cancel(request: Request, body: Json | None, id: str) -> bool:
        return sales.cancel(_id(id))

    @route("POST", "/V1/order/{orderId}/refund", "Magento_Sales::creditmemo")
    async def refund(request: Request, body: Json | None, orderId: str) -> int:
        return sales.refund(_id(orderId), body or {})

    @route("GET", "/V1/creditmemos", "Magento_Sales::sales_creditmemo")
    async def list_memos(request: Request, body: None) -> Json:
        memos = sorted(sales.memos.values(), key=lambda m: m.entity_id)
        return _page(store, memos, request, memo_field, render_memo)

    @route("GET", "/V1/creditmemo/{id}", "Magento_Sales::sales_creditmemo")
    async def get_memo(request: Request, body: None, id: str) -> Json:
        return render_memo(sales.memo(_id(id)))


def _id(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise CatalogError(400, 'The "%1" value\'s type is invalid. The "%2" type was '
                           "expected. Verify and try again.", [value, "int"]) from None  # fmt: skip
