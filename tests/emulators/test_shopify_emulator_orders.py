"""The Shopify emulator's products, orders, refunds and webhooks over real sockets; every
document is validated against the 2025-01 Admin schema before it is sent."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

pytest.importorskip("graphql", reason="graphql-core is not installed")

from fastapi import FastAPI, Request, Response
from graphql import GraphQLSchema

from possync.serving import RunningServer, serve_in_thread
from tests.emulators.test_shopify_emulator import SECRET, SKUS, Shop, open_shop
from tests.emulators.test_shopify_emulator import schema as schema

PRODUCT_SET = """
mutation Set($input: ProductSetInput!) {
  productSet(input: $input, synchronous: true) {
    product { id title status variants(first: 10) { nodes { id title sku price barcode } } }
    userErrors { field message code }
  }
}
"""
PRODUCTS = """
query Products($first: Int!, $after: String, $query: String) {
  products(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    nodes { id title updatedAt }
    pageInfo { hasNextPage endCursor }
  }
}
"""
ORDER_CREATE = """
mutation Create($order: OrderCreateOrderInput!, $options: OrderCreateOptionsInput) {
  orderCreate(order: $order, options: $options) {
    order { id name displayFinancialStatus lineItems(first: 5) { nodes { id sku quantity } } }
    userErrors { field message code }
  }
}
"""
REFUND = """
mutation Refund($input: RefundInput!) {
  refundCreate(input: $input) {
    refund { id totalRefundedSet { shopMoney { amount } }
      refundLineItems(first: 5) { nodes { quantity restockType restocked } } }
    order { displayFinancialStatus }
    userErrors { field message }
  }
}
"""
CANCEL = """
mutation Cancel($id: ID!) {
  orderCancel(orderId: $id, refund: false, restock: true, reason: CUSTOMER) {
    job { done }
    orderCancelUserErrors { code message }
  }
}
"""
SUBSCRIBE = """
mutation Sub($topic: WebhookSubscriptionTopic!, $url: URL!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: {callbackUrl: $url, format: JSON}) {
    webhookSubscription { id topic endpoint { ... on WebhookHttpEndpoint { callbackUrl } } }
    userErrors { field message }
  }
}
"""
DELETIONS = """
query Deleted($query: String) {
  deletionEvents(first: 10, subjectTypes: [PRODUCT], query: $query) {
    nodes { subjectId subjectType occurredAt }
  }
}
"""


def create_order(shop: Shop, lines: dict[str, int], behaviour: str | None, **extra: Any) -> Any:
    items = [
        {"variantId": shop.state.variant_by_sku(s).id, "quantity": q} for s, q in lines.items()
    ]
    options = {"inventoryBehaviour": behaviour} if behaviour else None
    variables = {"order": {"lineItems": items, **extra}, "options": options}
    return shop.gql(ORDER_CREATE, variables)["data"]["orderCreate"]


@pytest.fixture
def shop(schema: GraphQLSchema) -> Iterator[Shop]:
    yield from open_shop(schema)


def test_product_set_creates_then_replaces_variants(shop: Shop) -> None:
    values = [{"name": "S"}, {"name": "M"}]
    created = shop.gql(
        PRODUCT_SET,
        {
            "input": {
                "title": "Tee",
                "status": "ACTIVE",
                "productOptions": [{"name": "Size", "values": values}],
                "variants": [
                    {
                        "optionValues": [{"optionName": "Size", "name": "S"}],
                        "sku": "T-S",
                        "price": "10.50",
                    },
                    {
                        "optionValues": [{"optionName": "Size", "name": "M"}],
                        "sku": "T-M",
                        "price": "11",
                    },
                ],
            }
        },
    )["data"]["productSet"]
    assert created["userErrors"] == []
    product = created["product"]
    assert [(v["title"], v["sku"], v["price"]) for v in product["variants"]["nodes"]] == [
        ("S", "T-S", "10.50"),
        ("M", "T-M", "11.00"),
    ]
    keep = product["variants"]["nodes"][1]["id"]
    updated = shop.gql(
        PRODUCT_SET,
        {
            "input": {
                "id": product["id"],
                "status": "ARCHIVED",
                "productOptions": [{"name": "Size", "values": [{"name": "M"}]}],
                "variants": [
                    {
                        "id": keep,
                        "optionValues": [{"optionName": "Size", "name": "M"}],
                        "barcode": "123",
                    }
                ],
            }
        },
    )["data"]["productSet"]["product"]
    assert updated["status"] == "ARCHIVED" and updated["title"] == "Tee"
    assert updated["variants"]["nodes"] == [
        {"id": keep, "title": "M", "sku": "T-M", "price": "11.00", "barcode": "123"}
    ]


def test_product_set_refuses_an_unknown_option_value(shop: Shop) -> None:
    answer = shop.gql(
        PRODUCT_SET,
        {
            "input": {
                "title": "Bad",
                "productOptions": [{"name": "Size", "values": [{"name": "S"}]}],
                "variants": [{"optionValues": [{"optionName": "Size", "name": "XL"}]}],
            }
        },
    )["data"]["productSet"]
    assert answer["product"] is None
    assert answer["userErrors"][0]["code"] == "OPTION_VALUE_DOES_NOT_EXIST"
    assert answer["userErrors"][0]["field"] == ["input", "variants", "0"]


def test_products_page_by_updated_at_and_filter(shop: Shop) -> None:
    first = shop.gql(PRODUCTS, {"first": 10})["data"]["products"]
    assert first["pageInfo"]["hasNextPage"] is True
    stamps = [n["updatedAt"] for n in first["nodes"]]
    assert stamps == sorted(stamps)
    # a product changed between pages moves to the end; the next page still starts right
    moved = first["nodes"][0]["id"]
    shop.state.touch(moved)
    rest = shop.gql(PRODUCTS, {"first": 250, "after": first["pageInfo"]["endCursor"]})
    ids = [n["id"] for n in rest["data"]["products"]["nodes"]]
    assert ids[-1] == moved
    assert len(first["nodes"]) + len(ids) == len(shop.state.products) + 1
    shop.state.products[moved].updated_at = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)
    for query, expected in [
        ("updated_at:>'2029-12-31T00:00:00Z'", [moved]),
        ("updated_at:>='2030-01-01T12:00:00Z'", [moved]),
        ("updated_at:>'2030-01-01T12:00:00Z'", []),
    ]:
        late = shop.gql(PRODUCTS, {"first": 5, "query": query})["data"]["products"]["nodes"]
        assert [n["id"] for n in late] == expected, query


def test_order_create_draws_stock_only_when_asked(shop: Shop) -> None:
    sku = SKUS[0]
    before = shop.state.stock(sku) or 0
    bypass = create_order(shop, {sku: 1}, None, financialStatus="PAID")
    assert bypass["userErrors"] == [] and shop.state.stock(sku) == before
    drawn = create_order(shop, {sku: 2}, "DECREMENT_OBEYING_POLICY", financialStatus="PAID")
    assert drawn["order"]["displayFinancialStatus"] == "PAID"
    assert shop.state.stock(sku) == before - 2
    too_many = create_order(shop, {sku: before + 1}, "DECREMENT_OBEYING_POLICY")
    assert too_many["order"] is None
    assert too_many["userErrors"][0]["code"] == "INVENTORY_CLAIM_FAILED"
    pending = create_order(shop, {sku: 1}, "DECREMENT_IGNORING_POLICY")
    assert pending["order"]["displayFinancialStatus"] == "PENDING"


def test_refunds_restock_what_they_return(shop: Shop) -> None:
    sku = SKUS[1]
    before = shop.state.stock(sku) or 0
    order = create_order(shop, {sku: 3}, "DECREMENT_OBEYING_POLICY", financialStatus="PAID")[
        "order"
    ]
    line = order["lineItems"]["nodes"][0]["id"]

    def refund(quantity: int, restock: str, amount: str | None) -> Any:
        data: dict[str, Any] = {
            "orderId": order["id"],
            "refundLineItems": [{"lineItemId": line, "quantity": quantity, "restockType": restock}],
        }
        if amount:
            data["transactions"] = [
                {"orderId": order["id"], "amount": amount, "gateway": "manual", "kind": "REFUND"}
            ]
        return shop.gql(REFUND, {"input": data})["data"]["refundCreate"]

    returned = refund(1, "RETURN", "5.00")
    assert returned["refund"]["refundLineItems"]["nodes"] == [
        {"quantity": 1, "restockType": "RETURN", "restocked": True}
    ]
    assert returned["order"]["displayFinancialStatus"] == "PARTIALLY_REFUNDED"
    assert shop.state.stock(sku) == before - 2
    kept = refund(1, "NO_RESTOCK", None)
    assert kept["refund"]["refundLineItems"]["nodes"][0]["restocked"] is False
    assert shop.state.stock(sku) == before - 2
    assert refund(2, "RETURN", None)["userErrors"][0]["field"] == [
        "refundLineItems",
        "0",
        "quantity",
    ]
    assert shop.gql(CANCEL, {"id": order["id"]})["data"]["orderCancel"]["job"] == {"done": True}
    assert shop.state.stock(sku) == before - 1  # the one item neither refund put back
    again = shop.gql(CANCEL, {"id": order["id"]})["data"]["orderCancel"]
    assert again["orderCancelUserErrors"][0]["code"] == "INVALID"


@dataclass
class Receiver:
    """A webhook endpoint that answers 500 to the first `fail_first` requests."""

    fail_first: int = 0
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/hooks")
        async def hooks(request: Request) -> Response:
            body = await request.body()
            with self.lock:
                self.received.append((dict(request.headers), body))
                status = 500 if len(self.received) <= self.fail_first else 200
            return Response(status_code=status)

        return app

    def wait(self, count: int, timeout: float = 10.0) -> list[tuple[dict[str, str], bytes]]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return list(self.received)


def subscribe(shop: Shop, server: RunningServer, *topics: str) -> None:
    for topic in topics:
        answer = shop.gql(SUBSCRIBE, {"topic": topic, "url": f"{server.url}/hooks"})
        created = answer["data"]["webhookSubscriptionCreate"]
        assert created["userErrors"] == []
        assert created["webhookSubscription"]["endpoint"] == {"callbackUrl": f"{server.url}/hooks"}


def test_webhooks_are_signed_retried_and_redelivered(shop: Shop) -> None:
    receiver = Receiver(fail_first=1)
    server = serve_in_thread(receiver.app())
    try:
        subscribe(shop, server, "ORDERS_CREATE")
        order = create_order(shop, {SKUS[2]: 1}, None, financialStatus="PAID")["order"]
        first, retry = receiver.wait(2)
        headers, body = retry
        expected = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest())
        assert headers["x-shopify-hmac-sha256"] == expected.decode()
        assert headers["x-shopify-topic"] == "orders/create"
        assert headers["x-shopify-api-version"] == "2025-01"
        assert headers["x-shopify-shop-domain"].endswith(".myshopify.com")
        assert headers["x-shopify-triggered-at"].endswith("Z")
        assert first[0]["x-shopify-event-id"] == headers["x-shopify-event-id"]
        assert first[1] == body
        payload = json.loads(body)
        assert payload["admin_graphql_api_id"] == order["id"]
        assert payload["id"] == int(order["id"].rsplit("/", 1)[1])
        assert payload["financial_status"] == "paid" and payload["updated_at"].endswith("Z")
        assert [d.status for d in shop.webhooks.deliveries] == [500, 200]
        shop.webhooks.redeliver(headers["x-shopify-event-id"])
        again = receiver.wait(3)[2]
        assert again[0]["x-shopify-event-id"] == headers["x-shopify-event-id"] and again[1] == body
    finally:
        server.stop()


def test_refund_webhook_names_the_order(shop: Shop) -> None:
    receiver = Receiver()
    server = serve_in_thread(receiver.app())
    try:
        subscribe(shop, server, "REFUNDS_CREATE")
        order = create_order(shop, {SKUS[3]: 1}, None, financialStatus="PAID")["order"]
        data = {"orderId": order["id"], "note": "broken"}
        assert shop.gql(REFUND, {"input": data})["data"]["refundCreate"]["userErrors"] == []
        headers, body = receiver.wait(1)[0]
        assert headers["x-shopify-topic"] == "refunds/create"
        payload = json.loads(body)
        assert payload["order_id"] == int(order["id"].rsplit("/", 1)[1])
        assert payload["note"] == "broken"
    finally:
        server.stop()


def test_deleted_products_are_reported(shop: Shop) -> None:
    gid = next(iter(shop.state.products))
    shop.state.delete_product(gid)
    events = shop.gql(DELETIONS, {"query": "occurred_at:>'2020-01-01T00:00:00Z'"})
    nodes = events["data"]["deletionEvents"]["nodes"]
    assert [(n["subjectId"], n["subjectType"]) for n in nodes] == [(gid, "PRODUCT")]


MARK_PAID = """
mutation Paid($id: ID!) {
  orderMarkAsPaid(input: {id: $id}) {
    order { displayFinancialStatus }
    userErrors { field message }
  }
}
"""


def test_mark_as_paid_only_once(shop: Shop) -> None:
    order = create_order(shop, {SKUS[4]: 1}, None)["order"]
    paid = shop.gql(MARK_PAID, {"id": order["id"]})["data"]["orderMarkAsPaid"]
    assert paid == {"order": {"displayFinancialStatus": "PAID"}, "userErrors": []}
    again = shop.gql(MARK_PAID, {"id": order["id"]})["data"]["orderMarkAsPaid"]
    assert again["order"] is None and again["userErrors"][0]["field"] == ["id"]
    missing = shop.gql(MARK_PAID, {"id": "gid://shopify/Order/1"})["data"]["orderMarkAsPaid"]
    assert missing["userErrors"][0]["message"] == "Order does not exist"


def test_subscriptions_need_a_new_http_address(shop: Shop) -> None:
    def create(url: str) -> Any:
        answer = shop.gql(SUBSCRIBE, {"topic": "ORDERS_PAID", "url": url})
        return answer["data"]["webhookSubscriptionCreate"]

    assert create("https://example.test/hooks")["userErrors"] == []
    duplicate = create("https://example.test/hooks")["userErrors"]
    assert duplicate[0]["message"] == "Address for this topic has already been taken"
    assert create("ftp://example.test/hooks")["userErrors"][0]["message"] == "Address is invalid"
    assert [s.topic for s in shop.state.subscriptions] == ["ORDERS_PAID"]
