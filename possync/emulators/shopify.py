"""A Shopify Admin GraphQL API (2025-01) emulator: variants by SKU, locations, and
`inventorySetQuantities`, throttled by calculated query cost.

Every document is parsed and validated against Shopify's own introspection schema
(`shopify/admin_schema_2025-01.json` in the specs folder: `POSSYNC_SPECS_DIR`, else
../shared/specs) with graphql-core, then executed by a small resolver set over
`ShopifyState`. Without the schema file the emulator cannot start (`SchemaMissing`).

What it answers, from Shopify's docs:

- `POST /admin/api/2025-01/graphql.json` with `X-Shopify-Access-Token`; a wrong token is
  HTTP 401 `{"errors": "[API] Invalid API key or access token ..."}`.
- every executed answer carries `extensions.cost {requestedQueryCost, actualQueryCost,
  throttleStatus {maximumAvailable, currentlyAvailable, restoreRate}}`; when the bucket does
  not hold the requested cost, HTTP 200 with `errors: [{message: "Throttled", extensions:
  {code: "THROTTLED"}}]` and `actualQueryCost: null`; a query above the single-query
  maximum (1000) is refused with `MAX_COST_EXCEEDED`. The cost rule is in `shopify_cost`.
- `inventorySetQuantities` sets absolute quantities (name `available` or `on_hand`), with
  compare-and-set: unless `ignoreCompareQuantity` is true, each quantity needs a
  `compareQuantity` (`COMPARE_QUANTITY_REQUIRED`) that equals the stored quantity
  (`COMPARE_QUANTITY_STALE`). Error messages are the schema's descriptions of the codes.
  Input arrays hold at most 250 items (https://shopify.dev/docs/api/usage/limits, "Input
  limits"). A mutation with any userError changes nothing (emulator's choice: all or none).
- `productVariants(first|last, after, query)` filters on `sku:` terms joined by `OR`;
  `nodes(ids)` resolves product variant ids (other ids answer null).
"""

from __future__ import annotations

import base64
import functools
import json
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeAlias

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLResolveInfo,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    build_client_schema,
    execute_sync,
    parse,
    validate,
)

from possync.emulators.control import EmulatorControl
from possync.emulators.shopify_cost import requested_cost
from possync.emulators.shopify_state import Bucket, ShopifyState, Variant

__all__ = [
    "API_VERSION",
    "GRAPHQL_PATH",
    "MAX_INPUT_SIZE",
    "MAX_QUERY_COST",
    "SCHEMA_FILE",
    "Bucket",
    "SchemaMissing",
    "ShopifyState",
    "admin_schema",
    "create_shopify_app",
    "error_body",
]

API_VERSION = "2025-01"
GRAPHQL_PATH = f"/admin/api/{API_VERSION}/graphql.json"
SCHEMA_FILE = f"shopify/admin_schema_{API_VERSION}.json"
MAX_INPUT_SIZE = 250
MAX_QUERY_COST = 1000
MAX_PAGE = 250
_DOCS = "https://shopify.dev/api/usage/rate-limits"
_BAD_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"  # noqa: S105 - Shopify's error text
# The reasons inventory changes may give (Shopify, "inventory quantities and states").
REASONS = frozenset(
    {
        "correction",
        "cycle_count_available",
        "damaged",
        "movement_canceled",
        "movement_created",
        "movement_received",
        "movement_updated",
        "other",
        "promotion",
        "quality_control",
        "received",
        "reservation_created",
        "reservation_deleted",
        "reservation_updated",
        "restock",
        "safety_stock",
        "shrinkage",
    }
)


class SchemaMissing(RuntimeError):
    """The Admin API introspection file is not where the specs are looked for."""


def specs_dir() -> Path:
    configured = os.environ.get("POSSYNC_SPECS_DIR")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[3] / "shared" / "specs"


@functools.cache
def _load_schema(path: Path) -> GraphQLSchema:
    raw = json.loads(path.read_text(encoding="utf-8"))
    # Shopify's schema breaks one rule graphql-core 3.3 checks on the schema itself (an
    # implementation field deprecated where its interface field is not); documents are
    # still validated against it in full.
    return build_client_schema(raw.get("data", raw), assume_valid=True)


def admin_schema() -> GraphQLSchema:
    """The Admin API 2025-01 schema, built once from its introspection JSON."""
    path = specs_dir() / SCHEMA_FILE
    if not path.is_file():
        raise SchemaMissing(
            f"Shopify schema {SCHEMA_FILE} not found under {specs_dir()} "
            "(set POSSYNC_SPECS_DIR to the folder holding the vendor specs)"
        )
    return _load_schema(path)


def error_body(status: int) -> dict[str, object]:
    """What Shopify answers when the emulator injects an HTTP fault (see EmulatorControl)."""
    if status == 429:
        return {
            "errors": "Exceeded 2 calls per second for api client. Reduce request rates "
            "to resume uninterrupted service."
        }
    if status >= 500:
        return {"errors": "Internal Server Error"}
    return {"errors": "Bad Request"}


def create_shopify_app(
    state: ShopifyState | None = None,
    *,
    access_token: str = "shpat_demo",  # noqa: S107 - the emulator's documented demo token
    schema: GraphQLSchema | None = None,
) -> FastAPI:
    """The emulator app; `app.state.shop` is the shop, `app.state.control` counts and faults."""
    shop = state if state is not None else ShopifyState()
    gql_schema = schema or admin_schema()
    app = FastAPI(title="Shopify emulator", docs_url=None, redoc_url=None, openapi_url=None)
    control = EmulatorControl(error_body)
    app.state.shop = shop
    app.state.control = control

    @app.post(GRAPHQL_PATH)
    async def graphql_endpoint(request: Request) -> JSONResponse:
        if request.headers.get("X-Shopify-Access-Token") != access_token:
            return JSONResponse({"errors": _BAD_TOKEN}, status_code=401)
        try:
            body = json.loads(await request.body())
        except ValueError:
            return JSONResponse({"errors": "Bad Request"}, status_code=400)
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            return JSONResponse(
                {"errors": {"query": "Required parameter missing or invalid"}}, status_code=400
            )
        variables = body.get("variables") or {}
        answer = _answer(gql_schema, shop, body["query"], variables, body.get("operationName"))
        return JSONResponse(answer)

    control.install(app)
    return app


def _answer(
    schema: GraphQLSchema,
    shop: ShopifyState,
    query: str,
    variables: dict[str, Any],
    operation_name: str | None,
) -> dict[str, Any]:
    try:
        document = parse(query)
    except GraphQLError as exc:
        return {"errors": [exc.formatted]}
    problems = validate(schema, document)
    if problems:
        return {"errors": [p.formatted for p in problems]}
    operation = _operation(document, operation_name)
    if operation is None:
        return {"errors": [{"message": "An operation name is required"}]}
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    cost = requested_cost(schema, operation, fragments, variables)
    if cost > MAX_QUERY_COST:
        message = (
            f"Query cost is {cost}, which exceeds the single query max cost limit "
            f"({MAX_QUERY_COST})."
        )
        extensions = {"code": "MAX_COST_EXCEEDED", "cost": cost, "maxCost": MAX_QUERY_COST}
        return {"errors": [{"message": message, "extensions": extensions}]}
    with shop.lock:
        forced = shop.forced_throttles > 0
        if forced:
            shop.forced_throttles -= 1
        if forced or not shop.bucket.take(cost):
            shop.throttled += 1
            return {
                "errors": [
                    {
                        "message": "Throttled",
                        "extensions": {"code": "THROTTLED", "documentation": _DOCS},
                    }
                ],
                "extensions": _cost_extension(shop, cost, None),
            }
        root = _mutation_root(shop) if operation.operation == OperationType.MUTATION else None
        result = execute_sync(
            schema,
            document,
            root_value=root or _query_root(shop),
            variable_values=variables,
            operation_name=operation_name,
        )
    answer: dict[str, Any] = {"data": result.data}
    if result.errors:
        answer["errors"] = [e.formatted for e in result.errors]
    answer["extensions"] = _cost_extension(shop, cost, cost)
    return answer


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    return next((o for o in operations if o.name and o.name.value == name), None)


def _cost_extension(shop: ShopifyState, requested: int, actual: int | None) -> dict[str, Any]:
    return {
        "cost": {
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": shop.bucket.status(),
        }
    }


# -- resolvers: plain dicts; graphql-core's default resolver calls callables with args --


Resolver = Callable[..., Any]
Info: TypeAlias = "GraphQLResolveInfo[Any]"


def _cursor(index: int) -> str:
    return base64.b64encode(f"cursor:{index}".encode()).decode()


def _index(cursor: str | None) -> int:
    if cursor is None:
        return -1
    try:
        return int(base64.b64decode(cursor).decode().split(":", 1)[1])
    except (ValueError, IndexError) as exc:
        raise GraphQLError(f"Invalid cursor for current pagination sort: {cursor}") from exc


def _connection(
    items: Sequence[dict[str, Any]], first: int | None, after: str | None, last: int | None
) -> dict[str, Any]:
    if first is None and last is None:
        raise GraphQLError("you must provide one of first or last")
    if last is not None:
        raise GraphQLError("the emulator pages forward only (use first/after)")
    assert first is not None
    if not 0 <= first <= MAX_PAGE:
        raise GraphQLError(f"The 'first' argument must be between 0 and {MAX_PAGE}")
    start = _index(after) + 1
    chosen = list(enumerate(items))[start : start + first]
    edges = [{"cursor": _cursor(i), "node": item} for i, item in chosen]
    return {
        "nodes": [item for _, item in chosen],
        "edges": edges,
        "pageInfo": {
            "hasNextPage": start + first < len(items),
            "hasPreviousPage": start > 0,
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }


_TERM = re.compile(r'^\s*sku:(?:"((?:[^"\\]|\\.)*)"|(\S+))\s*$')


def _sku_filter(query: str | None) -> set[str] | None:
    """SKUs named by `sku:A OR sku:"B"`; None for no filter. Other terms match nothing."""
    if not query or not query.strip():
        return None
    wanted: set[str] = set()
    for term in query.split(" OR "):
        match = _TERM.match(term)
        if match:
            quoted, bare = match.groups()
            wanted.add(re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else bare)
    return wanted


def _location(shop: ShopifyState, gid: str) -> dict[str, Any]:
    return {"id": gid, "name": shop.locations[gid], "isActive": True}


def _variant(shop: ShopifyState, variant: Variant) -> dict[str, Any]:
    item = variant.inventory_item_id

    def inventory_level(_info: Info, locationId: str) -> dict[str, Any] | None:
        quantity = shop.available.get((item, locationId))
        if quantity is None:
            return None

        def quantities(_info: Info, names: list[str]) -> list[dict[str, Any]]:
            known = [n for n in names if n in ("available", "on_hand")]
            return [{"name": n, "quantity": quantity} for n in known]

        return {
            "id": f"gid://shopify/InventoryLevel/{item.rsplit('/', 1)[1]}?inventory_item_id="
            f"{item.rsplit('/', 1)[1]}",
            "quantities": quantities,
            "location": _location(shop, locationId),
        }

    return {
        "id": variant.id,
        "sku": variant.sku,
        "barcode": variant.barcode,
        "product": {"id": variant.product_id},
        "__typename": "ProductVariant",
        "inventoryItem": {
            "id": item,
            "sku": variant.sku,
            "tracked": True,
            "inventoryLevel": inventory_level,
        },
    }


def _query_root(shop: ShopifyState) -> dict[str, Resolver]:
    def product_variants(
        _info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        query: str | None = None,
        **_ignored: Any,
    ) -> dict[str, Any]:
        wanted = _sku_filter(query)
        items = [_variant(shop, v) for v in shop.variants if wanted is None or v.sku in wanted]
        return _connection(items, first, after, last)

    def location(_info: Info, id: str | None = None) -> dict[str, Any] | None:
        gid = id or shop.default_location
        return _location(shop, gid) if gid in shop.locations else None

    def locations(
        _info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        **_ignored: Any,
    ) -> dict[str, Any]:
        return _connection([_location(shop, g) for g in shop.locations], first, after, last)

    def nodes(_info: Info, ids: list[str]) -> list[dict[str, Any] | None]:
        if len(ids) > MAX_INPUT_SIZE:
            raise GraphQLError(
                f"The input array size of {len(ids)} is greater than the maximum allowed "
                f"of {MAX_INPUT_SIZE}.",
                extensions={"code": "MAX_INPUT_SIZE_EXCEEDED"},
            )
        by_id = {v.id: v for v in shop.variants}
        return [_variant(shop, by_id[i]) if i in by_id else None for i in ids]

    return {
        "productVariants": product_variants,
        "location": location,
        "locations": locations,
        "nodes": nodes,
    }


def _mutation_root(shop: ShopifyState) -> dict[str, Resolver]:
    def inventory_set_quantities(
        info: Info,
        input: dict[str, Any],
    ) -> dict[str, Any]:
        return _set_quantities(shop, info.schema, input)

    return {"inventorySetQuantities": inventory_set_quantities}


def _code_message(schema: GraphQLSchema, code: str) -> str:
    enum = schema.get_type("InventorySetQuantitiesUserErrorCode")
    value = getattr(enum, "values", {}).get(code)
    return (value.description if value is not None and value.description else code).strip()


def _set_quantities(
    shop: ShopifyState, schema: GraphQLSchema, data: dict[str, Any]
) -> dict[str, Any]:
    quantities: list[dict[str, Any]] = data["quantities"]
    if len(quantities) > MAX_INPUT_SIZE:
        raise GraphQLError(
            f"The input array size of {len(quantities)} is greater than the maximum allowed "
            f"of {MAX_INPUT_SIZE}.",
            extensions={"code": "MAX_INPUT_SIZE_EXCEEDED"},
        )
    errors: list[dict[str, Any]] = []

    def fail(code: str, *field: str) -> None:
        errors.append(
            {"field": ["input", *field], "message": _code_message(schema, code), "code": code}
        )

    if data["name"] not in ("available", "on_hand"):
        fail("INVALID_NAME", "name")
    if data["reason"] not in REASONS:
        fail("INVALID_REASON", "reason")
    ignore_compare = bool(data.get("ignoreCompareQuantity"))
    items = {v.inventory_item_id for v in shop.variants}
    seen: set[tuple[str, str]] = set()
    for i, q in enumerate(quantities):
        at = ("quantities", str(i))
        key = (q["inventoryItemId"], q["locationId"])
        if key[0] not in items:
            fail("INVALID_INVENTORY_ITEM", *at, "inventoryItemId")
        elif key[1] not in shop.locations:
            fail("INVALID_LOCATION", *at, "locationId")
        elif key not in shop.available:
            fail("ITEM_NOT_STOCKED_AT_LOCATION", *at, "locationId")
        elif key in seen:
            fail("NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR", *at, "inventoryItemId")
        elif q["quantity"] < 0:
            fail("INVALID_QUANTITY_NEGATIVE", *at, "quantity")
        elif q["quantity"] > 1_000_000_000:
            fail("INVALID_QUANTITY_TOO_HIGH", *at, "quantity")
        elif not ignore_compare and q.get("compareQuantity") is None:
            fail("COMPARE_QUANTITY_REQUIRED", *at, "compareQuantity")
        elif not ignore_compare and q["compareQuantity"] != shop.available[key]:
            fail("COMPARE_QUANTITY_STALE", *at, "compareQuantity")
        seen.add(key)
    if errors:
        return {"inventoryAdjustmentGroup": None, "userErrors": errors}
    changes = []
    for q in quantities:
        key = (q["inventoryItemId"], q["locationId"])
        delta = q["quantity"] - shop.available[key]
        shop.available[key] = q["quantity"]
        changes.append({"name": "available", "delta": delta, "quantityAfterChange": q["quantity"]})
    group = {
        "id": f"gid://shopify/InventoryAdjustmentGroup/{len(changes)}",
        "reason": data["reason"],
        "referenceDocumentUri": data.get("referenceDocumentUri"),
        "changes": lambda _info, **_filters: changes,
    }
    return {"inventoryAdjustmentGroup": group, "userErrors": []}
