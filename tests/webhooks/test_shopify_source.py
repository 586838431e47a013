"""ShopifySource: signature check, topics, notices and delivery keys of Shopify webhooks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest

from possync.vendors.shopify.webhook import ShopifySource, order_gid
from possync.webhooks.sources import BadPayload, Reading, json_object

SECRET = "shpss_test-secret&<>"
ORDER = {
    "id": 820982911946154508,
    "admin_graphql_api_id": "gid://shopify/Order/820982911946154508",
    "updated_at": "2025-01-10T12:30:05Z",
    "financial_status": "paid",
    "cancelled_at": None,
}
REFUND = {
    "id": 929361462,
    "order_id": 820982911946154508,
    "admin_graphql_api_id": "gid://shopify/Refund/929361462",
    "created_at": "2025-01-10T13:00:00Z",
}


def sign(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def delivery(topic: str, payload: Any, event_id: str = "ev-1") -> tuple[dict[str, str], bytes]:
    body = json.dumps(payload).encode()
    headers = {
        "x-shopify-topic": topic,
        "x-shopify-hmac-sha256": sign(body),
        "x-shopify-shop-domain": "demo.myshopify.com",
        "x-shopify-api-version": "2025-01",
        "x-shopify-webhook-id": "wh-1",
        "x-shopify-event-id": event_id,
        "x-shopify-triggered-at": "2025-01-10T12:30:06Z",
    }
    return headers, body


@pytest.fixture
def source() -> ShopifySource:
    return ShopifySource(lambda: SECRET)


def read(source: ShopifySource, headers: dict[str, str], body: bytes) -> Reading:
    """As the receiver reads a signed body: parsed once, then read by the source."""
    return source.read(headers, json_object(body))


def test_name_and_no_ping(source: ShopifySource) -> None:
    headers, body = delivery("orders/create", ORDER)
    assert source.name == "shopify"
    assert source.is_ping(headers, body) is False
    assert source.is_ping({}, b"webhook_id=1") is False


def test_good_signature_passes(source: ShopifySource) -> None:
    headers, body = delivery("orders/paid", ORDER)
    assert source.check_signature(headers, body) is None


def test_bad_or_missing_signature_is_refused_without_the_secret(source: ShopifySource) -> None:
    headers, body = delivery("orders/paid", ORDER)
    tampered = body.replace(b"paid", b"refunded")
    reason = source.check_signature(headers, tampered)
    assert reason == "invalid X-Shopify-Hmac-Sha256"
    wrong = {**headers, "x-shopify-hmac-sha256": sign(body, "another-secret")}
    assert source.check_signature(wrong, body) == "invalid X-Shopify-Hmac-Sha256"
    missing = {k: v for k, v in headers.items() if k != "x-shopify-hmac-sha256"}
    assert source.check_signature(missing, body) == "missing X-Shopify-Hmac-Sha256 header"
    assert SECRET not in (reason or "")


def test_no_configured_secret_refuses_everything() -> None:
    headers, body = delivery("orders/paid", ORDER)
    assert ShopifySource(lambda: "").check_signature(headers, body) is not None


@pytest.mark.parametrize(
    "topic", ["orders/create", "orders/paid", "orders/updated", "orders/cancelled"]
)
def test_order_topics_give_a_notice_with_the_gid(source: ShopifySource, topic: str) -> None:
    headers, body = delivery(topic, ORDER, event_id="ev-42")
    reading = read(source, headers, body)
    assert reading.topic == topic
    assert reading.notice is not None
    assert reading.notice.source == "shopify"
    assert reading.notice.order_id == "gid://shopify/Order/820982911946154508"
    assert reading.notice.modified_at == "2025-01-10T12:30:05Z"
    assert reading.notice.delivery_id == "ev-42"
    # Only what the signature covers; the receiver adds the body's hash.
    assert reading.delivery_keys == (
        "order:gid://shopify/Order/820982911946154508@2025-01-10T12:30:05Z",
    )


def test_refund_names_its_order_and_has_no_modified_time(source: ShopifySource) -> None:
    headers, body = delivery("refunds/create", REFUND, event_id="ev-7")
    reading = read(source, headers, body)
    assert reading.notice is not None
    assert reading.notice.order_id == "gid://shopify/Order/820982911946154508"
    assert reading.notice.modified_at is None
    assert reading.delivery_keys == ()  # the receiver's body hash tells refunds apart


def test_the_unsigned_event_id_is_no_delivery_key(source: ShopifySource) -> None:
    first = read(source, *delivery("orders/paid", ORDER, event_id="ev-1"))
    again = read(source, *delivery("orders/paid", ORDER, event_id="ev-2"))
    assert first.delivery_keys == again.delivery_keys
    assert (
        first.notice and first.notice.delivery_id,
        again.notice and again.notice.delivery_id,
    ) == (
        "ev-1",
        "ev-2",
    )  # still named in logs


def test_other_topics_are_read_but_not_acted_on(source: ShopifySource) -> None:
    reading = read(source, *delivery("products/update", {"id": 1}))
    assert reading.notice is None and reading.delivery_keys == ()


@pytest.mark.parametrize(
    ("topic", "body", "message"),
    [
        ("orders/create", b"{not json", "not valid JSON"),
        ("orders/create", b"[1, 2]", "not an object"),
        ("orders/create", json.dumps({"id": None}).encode(), "no usable 'id'"),
        ("orders/create", json.dumps({"id": True}).encode(), "no usable 'id'"),
        ("orders/create", json.dumps({"id": 2**63}).encode(), "no usable 'id'"),
        (
            "orders/create",
            json.dumps({**ORDER, "admin_graphql_api_id": "gid://shopify/Order/1"}).encode(),
            "name different orders",
        ),
        (
            "orders/create",
            json.dumps({**ORDER, "admin_graphql_api_id": "gid://shopify/Refund/1"}).encode(),
            "no usable 'admin_graphql_api_id'",
        ),
        ("orders/create", json.dumps({**ORDER, "updated_at": "soon"}).encode(), "ISO 8601"),
        ("refunds/create", json.dumps({"id": 5}).encode(), "no usable 'order_id'"),
    ],
)
def test_bad_payloads(source: ShopifySource, topic: str, body: bytes, message: str) -> None:
    headers = {"x-shopify-topic": topic, "x-shopify-event-id": "e"}
    with pytest.raises(BadPayload, match=message):
        read(source, headers, body)


def test_order_gid_forms() -> None:
    assert order_gid(5) == "gid://shopify/Order/5"
    assert order_gid("5") == "gid://shopify/Order/5"
    assert order_gid("gid://shopify/Order/5") == "gid://shopify/Order/5"
    assert order_gid("gid://shopify/Refund/5") is None
    assert order_gid(0) is None and order_gid(False) is None and order_gid("x") is None
    assert order_gid(5409125040004) == "gid://shopify/Order/5409125040004"
    assert order_gid(2**63 - 1) == f"gid://shopify/Order/{2**63 - 1}"
    assert order_gid(2**63) is None and order_gid(str(2**63)) is None
    assert order_gid("gid://shopify/Order/²") is None and order_gid("\uff15") is None
    assert order_gid(5.0) is None and order_gid(-5) is None
