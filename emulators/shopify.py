"""A Shopify Admin GraphQL API (2025-01) emulator: products and variants, inventory at
locations, orders and refunds, webhook subscriptions with signed deliveries, all throttled
by calculated query cost.

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
  maximum (1000) is refused with `MAX_COST_EXCEEDED`. The requested cost is taken from the
  bucket before a query runs, and the difference to the actual cost (what the query
  returned) refunded after; both rules are in `shopify_cost`.
- what is queried and how it pages is in `shopify_queries`; the catalogue, inventory and
  webhook mutations in `shopify_mutations`; the order mutations in
  `shopify_order_mutations`; webhook deliveries in `shopify_webhooks`.
- `app.state.shop.throttled` counts THROTTLED answers, `.mutations` executed mutations
  (the shop's write calls) and `.queries` executed queries, also served at
  `GET /_emulator/shopify`; `app.state.webhooks` is the delivery queue
  (`redeliver(event_id)`, `deliveries`).
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    build_client_schema,
    execute_sync,
    parse,
    validate,
)

from emulators.control import EmulatorControl
from emulators.shopify_cost import actual_cost, requested_cost
from emulators.shopify_mutations import REASONS, catalogue_mutations
from emulators.shopify_order_mutations import order_mutations
from emulators.shopify_queries import MAX_INPUT_SIZE, query_root
from emulators.shopify_state import Bucket, ShopifyState
from emulators.shopify_webhooks import WebhookDispatcher

__all__ = [
    "API_VERSION",
    "GRAPHQL_PATH",
    "MAX_INPUT_SIZE",
    "MAX_QUERY_COST",
    "REASONS",
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
MAX_QUERY_COST = 1000
_DOCS = "https://shopify.dev/api/usage/rate-limits"
_BAD_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"  # noqa: S105 - Shopify's error text


class SchemaMissing(RuntimeError):
    """The Admin API introspection file is not where the specs are looked for."""


def specs_dir() -> Path:
    configured = os.environ.get("POSSYNC_SPECS_DIR")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[2] / "shared" / "specs"


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
    webhook_secret: str = "shpss_emulated",  # noqa: S107 - the emulator's demo client secret
    admin_token: str | None = None,
) -> FastAPI:
    """The emulator app; `app.state.shop` is the shop, `app.state.control` counts and faults,
    `app.state.webhooks` delivers webhooks signed with `webhook_secret` (the app's client
    secret). Close `app.state.webhooks` when done with the app.

    `admin_token` is a second app on the same shop (the shop's admin and checkout in
    tests): it has its own bucket, which never runs dry, so its calls neither throttle nor
    spend the connector's points."""
    shop = state if state is not None else ShopifyState()
    gql_schema = schema or admin_schema()
    app = FastAPI(title="Shopify emulator", docs_url=None, redoc_url=None, openapi_url=None)
    control = EmulatorControl(error_body)
    webhooks = WebhookDispatcher(shop, webhook_secret)
    app.state.shop = shop
    app.state.control = control
    app.state.webhooks = webhooks
    admin_bucket = Bucket(maximum=1e12, restore_rate=1e12)
    queries = query_root(shop)
    mutations = {
        **catalogue_mutations(shop, gql_schema),
        **order_mutations(shop, webhooks.publish),
    }

    @app.post(GRAPHQL_PATH)
    async def graphql_endpoint(request: Request) -> JSONResponse:
        token = request.headers.get("X-Shopify-Access-Token")
        if token != access_token and (admin_token is None or token != admin_token):
            return JSONResponse({"errors": _BAD_TOKEN}, status_code=401)
        bucket = shop.bucket if token == access_token else admin_bucket
        try:
            body = json.loads(await request.body())
        except ValueError:
            return JSONResponse({"errors": "Bad Request"}, status_code=400)
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            return JSONResponse(
                {"errors": {"query": "Required parameter missing or invalid"}}, status_code=400
            )
        variables = body.get("variables") or {}
        answer = _answer(
            gql_schema,
            shop,
            bucket,
            (queries, mutations),
            body["query"],
            variables,
            body.get("operationName"),
        )
        return JSONResponse(answer)

    @app.get("/_emulator/shopify")
    async def shopify_stats() -> dict[str, float]:
        """Executed queries and mutations and THROTTLED answers (every call is a POST, so
        the control's per-route counts cannot tell reads from writes), and our app's
        bucket: points spent so far and the plan's figures."""
        return {
            "queries": shop.queries,
            "mutations": shop.mutations,
            "throttled": shop.throttled,
            "points_spent": shop.bucket.spent,
            "maximum": shop.bucket.maximum,
            "restore_rate": shop.bucket.restore_rate,
        }

    @app.put("/_emulator/shopify/bucket")
    async def shopify_bucket(request: Request) -> dict[str, float]:
        """Set the app's bucket: {"maximum": points, "restore_rate": points per second}."""
        body = json.loads(await request.body())
        shop.bucket.set_plan(float(body["maximum"]), float(body["restore_rate"]))
        return shop.bucket.status()

    control.install(app)
    return app


def _answer(
    schema: GraphQLSchema,
    shop: ShopifyState,
    bucket: Bucket,
    roots: tuple[dict[str, Any], dict[str, Any]],
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
        forced = shop.forced_throttles > 0 and bucket is shop.bucket
        if forced:
            shop.forced_throttles -= 1
        if forced or not bucket.take(cost):
            shop.throttled += 1
            return {
                "errors": [
                    {
                        "message": "Throttled",
                        "extensions": {"code": "THROTTLED", "documentation": _DOCS},
                    }
                ],
                "extensions": _cost_extension(bucket, cost, None),
            }
        is_mutation = operation.operation == OperationType.MUTATION
        shop.mutations += is_mutation
        shop.queries += not is_mutation
        result = execute_sync(
            schema,
            document,
            root_value=roots[1] if is_mutation else roots[0],
            variable_values=variables,
            operation_name=operation_name,
        )
        actual = min(cost, actual_cost(schema, operation, fragments, variables, result.data))
        bucket.refund(cost - actual)
    answer: dict[str, Any] = {"data": result.data}
    if result.errors:
        answer["errors"] = [e.formatted for e in result.errors]
    answer["extensions"] = _cost_extension(bucket, cost, actual)
    return answer


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    return next((o for o in operations if o.name and o.name.value == name), None)


def _cost_extension(bucket: Bucket, requested: int, actual: int | None) -> dict[str, Any]:
    return {
        "cost": {
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": bucket.status(),
        }
    }
