"""Shopify's webhooks for the receiver (the `WebhookSource` protocol).

Shopify signs the raw body with the app's client secret: base64(HMAC-SHA256) in
X-Shopify-Hmac-Sha256. It names the topic in X-Shopify-Topic (`orders/create`) and the
event in X-Shopify-Event-Id, which stays the same when Shopify retries or duplicates a
delivery; but headers are not signed (anyone holding one signed body can resend it with
any event id, or send it ahead with the id of an event still to come), so the event id
only names the delivery in logs and deliveries are told apart by the body: a retry
carries "the original payload from the time [it was] triggered" (Shopify changelog,
2024-09-10). Shopify sends no unsigned ping.

The bodies are REST-style resources: an order (`id` numeric, `admin_graphql_api_id` the
gid our connector names orders by, `updated_at`), or for refunds/create a refund
(`order_id` numeric). The notice carries the order's gid, as `WebOrder.order_id` has it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from possync.webhooks.notices import OrderNotice
from possync.webhooks.sources import (
    BadPayload,
    Headers,
    Reading,
    order_number,
    signature_matches,
    version_of,
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
    """The Order gid from a numeric id or a gid; None if it is neither (ids are positive
    64-bit integers, in ASCII digits)."""
    if isinstance(value, str) and value.startswith(ORDER_GID):
        value = value[len(ORDER_GID) :]
    number = order_number(value)
    return None if number is None else f"{ORDER_GID}{number}"


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

    def read(self, headers: Headers, document: dict[str, Any]) -> Reading:
        topic = headers.get(TOPIC, "").strip().lower()
        event_id = headers.get(EVENT_ID, "").strip()[:128] or None
        if topic not in ORDER_TOPICS | REFUND_TOPICS:
            return Reading(topic, None, ())
        modified_at: str | None = None
        if topic in REFUND_TOPICS:
            order_id = order_gid(document.get("order_id"))
            if order_id is None:
                raise BadPayload("refund payload has no usable 'order_id'")
        else:
            order_id = _order_of(document)
            modified_at = version_of(document, "updated_at")
        keys = (f"order:{order_id}@{modified_at}",) if modified_at else ()
        notice = OrderNotice(self.name, topic, order_id, modified_at, event_id)
        return Reading(topic, notice, keys)


def _order_of(order: dict[str, Any]) -> str:
    """The order's gid from `admin_graphql_api_id` and `id`, which must agree when both
    are there; either one present but unusable makes the body unreadable."""
    named = {
        field: order_gid(order[field])
        for field in ("admin_graphql_api_id", "id")
        if order.get(field) is not None
    }
    for field, gid in named.items():
        if gid is None:
            raise BadPayload(f"order payload has no usable {field!r}")
    gids = set(named.values())
    if len(gids) > 1:
        raise BadPayload("order payload's 'id' and 'admin_graphql_api_id' name different orders")
    if not gids:
        raise BadPayload("order payload has no usable 'id'")
    [gid] = gids
    assert gid is not None
    return gid
