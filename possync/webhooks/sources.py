"""What the receiver needs from each webshop: spot a ping, check a signature, read a body.

A webshop with webhooks is one more class (Shopify's is in shopify_source.py) and one
line in `WEBHOOK_SOURCES`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from possync.webhooks.notices import OrderNotice

__all__ = [
    "BadPayload",
    "Reading",
    "WebhookSource",
    "WooCommerceSource",
    "hmac_sha256_base64",
    "json_object",
    "signature_matches",
    "webhook_source",
]

logger = logging.getLogger("possync.webhooks")

Headers = Mapping[str, str]  # case-insensitive in practice (Starlette's Headers)


class BadPayload(ValueError):
    """An authentic delivery whose body we cannot read; the message is safe to return."""


@dataclass(frozen=True)
class Reading:
    """What one authentic delivery says."""

    topic: str
    notice: OrderNotice | None  # None: a topic we do not act on
    delivery_keys: tuple[str, ...]  # each must be new for the notice to count


class WebhookSource(Protocol):
    """One webshop's webhooks; `name` is its route (/webhooks/{name}) and log namespace."""

    name: str

    def is_ping(self, headers: Headers, body: bytes) -> bool:
        """An unsigned "are you there?" request that must be answered 200 and ignored."""
        ...

    def check_signature(self, headers: Headers, body: bytes) -> str | None:
        """None when the body is signed with our secret, else why not (no secrets in it)."""
        ...

    def read(self, headers: Headers, body: bytes) -> Reading:
        """Topic, notice and delivery keys of an authentic delivery; BadPayload if unreadable."""
        ...


def hmac_sha256_base64(secret: str, body: bytes) -> str:
    """base64(HMAC-SHA256(secret, body)): how WooCommerce and Shopify sign a delivery."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def signature_matches(given: str, secret: str, body: bytes) -> bool:
    """Constant-time comparison of a signature header with the one `secret` gives."""
    expected = hmac_sha256_base64(secret, body).encode()
    # Header values arrive latin-1 decoded; compare bytes so any value is comparable.
    return hmac.compare_digest(expected, given.strip().encode("latin-1", errors="replace"))


# --- WooCommerce -------------------------------------------------------------------------

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

    WooCommerce's delivery id is wp_hash(webhook id + the current second), so two
    different deliveries of one webhook in the same second share it; the delivery key
    therefore also holds a hash of the body, which keeps real replays (same id, same
    bytes) apart from distinct events that happen to share the id.
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

    def read(self, headers: Headers, body: bytes) -> Reading:
        topic = headers.get(WC_TOPIC, "").strip().lower()
        delivery_id = headers.get(WC_DELIVERY_ID, "").strip() or None
        if topic not in ORDER_TOPICS:
            return Reading(topic, None, ())
        order = json_object(body)
        order_id = order.get("id")
        if isinstance(order_id, bool) or not isinstance(order_id, int | str) or order_id == "":
            raise BadPayload("order payload has no usable 'id'")
        modified = order.get("date_modified_gmt")
        modified_at = modified if isinstance(modified, str) and modified else None
        keys: list[str] = []
        if delivery_id:
            keys.append(f"delivery:{delivery_id}:{hashlib.sha256(body).hexdigest()}")
        if modified_at:
            keys.append(f"order:{order_id}@{modified_at}")
        notice = OrderNotice(self.name, topic, str(order_id), modified_at, delivery_id)
        return Reading(topic, notice, tuple(keys))


def json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object; BadPayload (without the body's text) if it is not one."""
    try:
        parsed = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadPayload(f"body is not valid JSON: {_short(exc)}") from None
    if not isinstance(parsed, dict):
        raise BadPayload(f"body is JSON but not an object (got {type(parsed).__name__})")
    return parsed


def _short(exc: Exception) -> str:
    """The parser's complaint without the body text (it may hold customer data)."""
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at line {exc.lineno} column {exc.colno}"
    return type(exc).__name__


def webhook_source(webshop: str, secret: Callable[[], str]) -> WebhookSource | None:
    """The named webshop's webhook source, or None for a webshop without webhooks
    (Magento Open Source sends none; its orders are polled)."""
    if webshop == "woocommerce":
        return WooCommerceSource(secret)
    if webshop == "shopify":
        from possync.webhooks.shopify_source import ShopifySource

        return ShopifySource(secret)
    return None
