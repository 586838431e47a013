"""Shopify's webhooks for the receiver (the `WebhookSource` protocol).

Shopify signs the raw body with the app's client secret: base64(HMAC-SHA256) in
X-Shopify-Hmac-Sha256. It names the topic in X-Shopify-Topic (`orders/create`) and the
event in X-Shopify-Event-Id, which stays the same when Shopify retries or duplicates a
delivery, so it is the delivery key. Shopify sends no unsigned ping.

The bodies are REST-style resources: an order (`id` numeric, `admin_graphql_api_id` the
gid our connector names orders by, `updated_at`), or for refunds/create a refund
(`order_id` numeric). The notice carries the order's gid, as `WebOrder.order_id` has it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from possync.webhooks.notices import OrderNotice
from possync.webhooks.sources import (
    BadPayload,
    Headers,
    Reading,
    json_object,
    signature_matches,
)

__all__ = ["ORDER_TOPICS", "REFUND_TOPICS", "ShopifySource", "order_gid"]

logger = logging.getLogger("possync.webhooks")

SIGNATURE = "x-shopify-hmac-sha256"
TOPIC = "x-shopify-topic"
EVENT_ID = "x-shopify-event-id"
WEBHOOK_ID = "x-shopify-webhook-id"
ORDER_TOPICS = frozenset({"orders/create", "orders/paid", "orders/updated", "orders/cancelled"})
REFUND_TOPICS = frozenset({"refunds/create"})
ORDER_GID = "gid://shopify/Order/"


def order_gid(value: object) -> str | None:
    """The Order gid from a numeric id or a gid; None if it is neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value > 0:
        return f"{ORDER_GID}{value}"
    if isinstance(value, str):
        if value.startswith(ORDER_GID) and value[len(ORDER_GID) :].isdigit():
            return value
        if value.isdigit():
            return f"{ORDER_GID}{value}"
    return None


class ShopifySource:
    """Shopify webhook deliveries of order and refund topics."""

    name = "shopify"

    def __init__(self, secret: Callable[[], str]) -> None:
        self._secret = secret

    def is_ping(self, headers: Headers, body: bytes) -> bool:
        return False  # Shopify has no unsigned "are you there?" request

    def check_signature(self, headers: Headers, body: bytes) -> str | None:
        given = headers.get(SIGNATURE)
        if not given:
            return "missing X-Shopify-Hmac-Sha256 header"
        secret = self._secret()
        if not secret:
            logger.error("no Shopify webhook secret is configured; refusing every delivery")
            return "invalid X-Shopify-Hmac-Sha256"
        if not signature_matches(given, secret, body):
            return "invalid X-Shopify-Hmac-Sha256"
        return None

    def read(self, headers: Headers, body: bytes) -> Reading:
        topic = headers.get(TOPIC, "").strip().lower()
        event_id = headers.get(EVENT_ID, "").strip() or None
        if topic not in ORDER_TOPICS | REFUND_TOPICS:
            return Reading(topic, None, ())
        resource = json_object(body)
        modified_at: str | None = None
        if topic in REFUND_TOPICS:
            order_id = order_gid(resource.get("order_id"))
            if order_id is None:
                raise BadPayload("refund payload has no usable 'order_id'")
        else:
            order_id = order_gid(resource.get("admin_graphql_api_id")) or order_gid(
                resource.get("id")
            )
            if order_id is None:
                raise BadPayload("order payload has no usable 'id'")
            updated = resource.get("updated_at")
            modified_at = updated if isinstance(updated, str) and updated else None
        keys: list[str] = []
        if event_id:
            keys.append(f"event:{event_id}")
        if modified_at:
            keys.append(f"order:{order_id}@{modified_at}")
        notice = OrderNotice(self.name, topic, order_id, modified_at, event_id)
        return Reading(topic, notice, tuple(keys))
