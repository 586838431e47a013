"""The Shopify Admin GraphQL emulator over real sockets: variants by SKU, locations,
inventorySetQuantities with compare-and-set, and calculated-query-cost throttling.

Every document sent here is first validated against Shopify's 2025-01 schema; expected
codes and shapes are Shopify's documented ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

pytest.importorskip("graphql", reason="graphql-core is not installed")

from graphql import GraphQLSchema, parse, validate

from emulators.demo import demo_catalogue
from emulators.shopify import (
    GRAPHQL_PATH,
    SCHEMA_FILE,
    Bucket,
    ShopifyState,
    admin_schema,
    create_shopify_app,
)
from emulators.shopify_webhooks import WebhookDispatcher
from possync.serving import RunningServer, serve_in_thread
from tests.specs import spec_path

TOKEN = "shpat_test"
SECRET = "shpss_test_secret"
CATALOGUE = demo_catalogue(40, seed=3)
SKUS = [v.sku for p in CATALOGUE for v in p.variants]

VARIANTS = """
query Variants($query: String, $first: Int!, $after: String, $location: ID!) {
  productVariants(first: $first, after: $after, query: $query) {
    nodes {
      id sku barcode product { id }
      inventoryItem { id inventoryLevel(locationId: $location) {
        quantities(names: ["available"]) { name quantity } } }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""
SET = """
mutation Set($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input) {
    inventoryAdjustmentGroup { changes { name delta } }
    userErrors { field message code }
  }
}
"""


@pytest.fixture(scope="module")
def schema() -> GraphQLSchema:
    spec_path(SCHEMA_FILE)
    return admin_schema()


@dataclass
class Shop:
    state: ShopifyState
    server: RunningServer
    client: httpx.Client
    schema: GraphQLSchema
    webhooks: WebhookDispatcher

    def gql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        assert validate(self.schema, parse(query)) == []
        response = self.client.post(GRAPHQL_PATH, json={"query": query, "variables": variables})
        assert response.status_code == 200, response.text
        return dict(response.json())


def open_shop(schema: GraphQLSchema, bucket: Bucket | None = None) -> Iterator[Shop]:
    state = ShopifyState(bucket=bucket)
    state.seed(CATALOGUE)
    app = create_shopify_app(state, access_token=TOKEN, schema=schema, webhook_secret=SECRET)
    server = serve_in_thread(app)
    client = httpx.Client(base_url=server.url, headers={"X-Shopify-Access-Token": TOKEN})
    try:
        yield Shop(state, server, client, schema, app.state.webhooks)
    finally:
        client.close()
        server.stop()
        app.state.webhooks.close()


@pytest.fixture
def shop(schema: GraphQLSchema) -> Iterator[Shop]:
    yield from open_shop(schema)


def variants(shop: Shop, query: str | None, first: int, after: str | None = None) -> Any:
    variables = {
        "query": query,
        "first": first,
        "after": after,
        "location": shop.state.default_location,
    }
    return shop.gql(VARIANTS, variables)


def set_input(shop: Shop, *entries: tuple[str, int, int | None], **extra: Any) -> Any:
    quantities = []
    for sku, quantity, compare in entries:
        entry: dict[str, Any] = {
            "inventoryItemId": shop.state.variant_by_sku(sku).inventory_item_id,
            "locationId": shop.state.default_location,
            "quantity": quantity,
        }
        if compare is not None:
            entry["compareQuantity"] = compare
        quantities.append(entry)
    return {"name": "available", "reason": "correction", "quantities": quantities, **extra}


def test_variants_by_sku_page_with_cursors_and_report_cost(shop: Shop) -> None:
    wanted = SKUS[:5]
    query = " OR ".join(f'sku:"{s}"' for s in wanted)
    first = variants(shop, query, 3)
    page = first["data"]["productVariants"]
    assert page["pageInfo"]["hasNextPage"] is True
    second = variants(shop, query, 3, page["pageInfo"]["endCursor"])["data"]["productVariants"]
    assert second["pageInfo"]["hasNextPage"] is False
    nodes = page["nodes"] + second["nodes"]
    assert [n["sku"] for n in nodes] == wanted
    variant = CATALOGUE[0].variants[0]
    assert nodes[0]["barcode"] == variant.barcode
    level = nodes[0]["inventoryItem"]["inventoryLevel"]
    assert level["quantities"] == [{"name": "available", "quantity": variant.stock}]
    cost = first["extensions"]["cost"]
    # 2 + 3 variants x (variant + product + inventoryItem + inventoryLevel + quantities)
    assert cost["requestedQueryCost"] == cost["actualQueryCost"] == 17
    assert cost["throttleStatus"] == {
        "maximumAvailable": 2000.0,
        "currentlyAvailable": pytest.approx(1983, abs=2),
        "restoreRate": 100.0,
    }


def test_locations_and_primary_location(shop: Shop) -> None:
    answer = shop.gql("{ location { id name } locations(first: 5) { nodes { id name } } }")
    assert answer["data"]["location"] == {"id": shop.state.default_location, "name": "Shop"}
    assert answer["data"]["locations"]["nodes"] == [answer["data"]["location"]]


def test_wrong_token_is_401_and_invalid_document_is_a_graphql_error(shop: Shop) -> None:
    response = httpx.post(
        shop.server.url + GRAPHQL_PATH,
        json={"query": "{ shop { name } }"},
        headers={"X-Shopify-Access-Token": "nope"},
    )
    assert response.status_code == 401
    assert "Invalid API key or access token" in response.json()["errors"]
    answer = shop.client.post(GRAPHQL_PATH, json={"query": "{ shop { bogus } }"}).json()
    assert "Cannot query field 'bogus'" in answer["errors"][0]["message"]
    assert "data" not in answer


def test_set_quantities_with_compare_quantity(shop: Shop) -> None:
    sku = SKUS[0]
    before = shop.state.stock(sku)
    assert before is not None
    answer = shop.gql(SET, {"input": set_input(shop, (sku, before + 7, before))})
    result = answer["data"]["inventorySetQuantities"]
    assert result["userErrors"] == []
    assert result["inventoryAdjustmentGroup"]["changes"] == [{"name": "available", "delta": 7}]
    assert shop.state.stock(sku) == before + 7
    assert answer["extensions"]["cost"]["requestedQueryCost"] == 10


def test_stale_compare_quantity_changes_nothing(shop: Shop) -> None:
    a, b = SKUS[1], SKUS[2]
    stock_a, stock_b = shop.state.stock(a), shop.state.stock(b)
    assert stock_a is not None and stock_b is not None
    entries = ((a, 50, stock_a), (b, 51, stock_b + 1))
    result = shop.gql(SET, {"input": set_input(shop, *entries)})["data"]["inventorySetQuantities"]
    assert result["inventoryAdjustmentGroup"] is None
    assert result["userErrors"] == [
        {
            "field": ["input", "quantities", "1", "compareQuantity"],
            "message": "The compareQuantity value does not match persisted value.",
            "code": "COMPARE_QUANTITY_STALE",
        }
    ]
    assert (shop.state.stock(a), shop.state.stock(b)) == (stock_a, stock_b)


def test_compare_quantity_required_unless_ignored(shop: Shop) -> None:
    sku = SKUS[3]
    result = shop.gql(SET, {"input": set_input(shop, (sku, 9, None))})
    errors = result["data"]["inventorySetQuantities"]["userErrors"]
    assert [e["code"] for e in errors] == ["COMPARE_QUANTITY_REQUIRED"]
    ignored = set_input(shop, (sku, 9, None), ignoreCompareQuantity=True)
    assert shop.gql(SET, {"input": ignored})["data"]["inventorySetQuantities"]["userErrors"] == []
    assert shop.state.stock(sku) == 9


def test_more_than_250_quantities_is_refused(shop: Shop) -> None:
    entries = [(SKUS[0], 1, None)] * 251
    answer = shop.gql(SET, {"input": set_input(shop, *entries, ignoreCompareQuantity=True)})
    assert answer["data"]["inventorySetQuantities"] is None
    assert answer["errors"][0]["extensions"]["code"] == "MAX_INPUT_SIZE_EXCEEDED"


def test_throttled_when_the_bucket_is_short(schema: GraphQLSchema) -> None:
    for shop in open_shop(schema, Bucket(maximum=30, restore_rate=1)):
        first = variants(shop, None, 5)  # 2 + 5 x 5 = 27 points
        assert first["extensions"]["cost"]["requestedQueryCost"] == 27
        second = variants(shop, None, 5)
        assert second["errors"] == [
            {
                "message": "Throttled",
                "extensions": {
                    "code": "THROTTLED",
                    "documentation": "https://shopify.dev/api/usage/rate-limits",
                },
            }
        ]
        assert "data" not in second
        cost = second["extensions"]["cost"]
        assert cost["actualQueryCost"] is None
        assert cost["throttleStatus"]["currentlyAvailable"] < 27
        assert shop.state.throttled == 1


def test_single_query_above_1000_points_is_refused(shop: Shop) -> None:
    answer = variants(shop, None, 250)  # 2 + 250 x 5
    assert answer["errors"][0]["extensions"]["code"] == "MAX_COST_EXCEEDED"


def test_control_counts_the_graphql_route(shop: Shop) -> None:
    shop.gql("{ location { id } }")
    stats = shop.client.get("/_emulator/stats").json()
    assert stats["counts"] == {f"POST {GRAPHQL_PATH}": 1}


def test_buckets_by_plan() -> None:
    assert (Bucket().maximum, Bucket().restore_rate) == (2000.0, 100.0)
    plus = Bucket.for_plan("plus")
    assert (plus.maximum, plus.restore_rate) == (20000.0, 1000.0)


def test_a_short_page_is_charged_what_it_returned(shop: Shop) -> None:
    answer = variants(shop, 'sku:"NOT-THERE"', 100)
    cost = answer["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 502 and cost["actualQueryCost"] == 2
    assert cost["throttleStatus"]["currentlyAvailable"] >= 1997


def test_stats_tell_queries_from_mutations(shop: Shop) -> None:
    shop.gql("{ location { id } }")
    sku = SKUS[0]
    stock = shop.state.stock(sku) or 0
    shop.gql(SET, {"input": set_input(shop, (sku, stock + 1, stock))})
    stats = shop.client.get("/_emulator/shopify").json()
    assert {k: stats[k] for k in ("queries", "mutations", "throttled")} == {
        "queries": 1,
        "mutations": 1,
        "throttled": 0,
    }
    # The points charged are the two documents' actual costs, as their answers said.
    assert stats["points_spent"] == shop.state.bucket.spent > 0
    assert (stats["maximum"], stats["restore_rate"]) == (2000, 100)


def test_the_bucket_can_be_set_to_another_plan(shop: Shop) -> None:
    answer = shop.client.put(
        "/_emulator/shopify/bucket", json={"maximum": 20000, "restore_rate": 1000}
    )
    assert answer.json()["maximumAvailable"] == 20000
    body = shop.gql("{ location { id } }")
    status = body["extensions"]["cost"]["throttleStatus"]
    assert status["restoreRate"] == 1000 and status["maximumAvailable"] == 20000


def test_a_quoted_sku_holding_or_is_one_value(shop: Shop) -> None:
    """Shopify's search keeps a quoted value whole: an " OR " inside quotes is text, not
    the connective (the emulator split on it first and found nothing)."""
    odd = "BAD-22' OR '1'='1"
    product = shop.state.add_product("SQL-looking")
    shop.state.add_variant(product.id, odd, None, 3)
    query = f'sku:"{odd}" OR sku:"{SKUS[0]}"'
    nodes = variants(shop, query, 10)["data"]["productVariants"]["nodes"]
    assert sorted(n["sku"] for n in nodes) == sorted([odd, SKUS[0]])
