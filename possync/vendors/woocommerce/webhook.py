"""WooCommerce's webhooks for the receiver (the `WebhookSource` protocol)."""

from __future__ import annotations

import logging
import re
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

logger = logging.getLogger("possync.webhooks")

WC_SIGNATURE = "x-wc-webhook-signature"
WC_TOPIC = "x-wc-webhook-topic"
WC_DELIVERY_ID = "x-wc-webhook-delivery-id"
WC_WEBHOOK_ID = "x-wc-webhook-id"
ORDER_TOPICS = frozenset({"order.created", "order.updated"})
_PING = re.compile(rb"\s*webhook_id=(\d+)\s*")


class WooCommerceSource:
    """WooCommerce (WC_Webhook::deliver and ::deliver_ping).

    A delivery is the resource's REST JSON, signed as base64(HMAC-SHA256(secret, raw
    body)) in X-WC-Webhook-Signature. When a webhook is created WooCommerce first POSTs
    the form body `webhook_id=<id>` with no X-WC-Webhook-* headers and no signature, and
    keeps the webhook only if that ping gets a 200.

    The delivery id header (X-WC-Webhook-Delivery-ID, wp_hash of webhook id + second) is
    not signed, so it only names the delivery in logs; deliveries are told apart by the
    body (see `Reading.delivery_keys`).
    """

    name = "woocommerce"

    def __init__(self, secret: Callable[[], str]) -> None:
        self._secret = secret

    def is_ping(self, headers: Headers, body: bytes) -> bool:
        return WC_SIGNATURE not in headers and _PING.fullmatch(body) is not None

    def check_signature(self, headers: Headers, body: bytes) -> str | None:
        given = headers.get(WC_SIGNATURE)
        if not given:
            return "missing X-WC-Webhook-Signature header"
        secret = self._secret()
        if not secret:
            logger.error("no WooCommerce webhook secret is configured; refusing every delivery")
            return "invalid X-WC-Webhook-Signature"
        if not signature_matches(given, secret, body):
            return "invalid X-WC-Webhook-Signature"
        return None

    def read(self, headers: Headers, document: dict[str, Any]) -> Reading:
        topic = headers.get(WC_TOPIC, "").strip().lower()
        delivery_id = headers.get(WC_DELIVERY_ID, "").strip()[:128] or None
        if topic not in ORDER_TOPICS:
            return Reading(topic, None, ())
        order_id = order_number(document.get("id"))
        if order_id is None:
            raise BadPayload("order payload has no usable 'id' (a positive 64-bit integer)")
        modified_at = version_of(document, "date_modified_gmt")
        keys = (f"order:{order_id}@{modified_at}",) if modified_at else ()
        notice = OrderNotice(self.name, topic, str(order_id), modified_at, delivery_id)
        return Reading(topic, notice, keys)
