"""Shopify webhooks in the emulator: subscriptions' deliveries, signed and retried.

A delivery is what Shopify sends to an HTTPS subscription with format JSON
(https://shopify.dev/docs/apps/build/webhooks): a POST of the resource's REST-style JSON
with the headers X-Shopify-Topic (`orders/create`), X-Shopify-Hmac-Sha256
(base64(HMAC-SHA256(raw body, the app's client secret))), X-Shopify-Shop-Domain,
X-Shopify-API-Version, X-Shopify-Webhook-Id (one per subscription and event),
X-Shopify-Event-Id (one per event: the same on every retry and redelivery, what a receiver
deduplicates on) and X-Shopify-Triggered-At. Deliveries run on a background thread, never
inside the GraphQL request that caused them. A non-2xx answer or a transport error is
retried a few times quickly (Shopify retries 8 times over 4 hours; the emulator keeps the
same headers and body, only faster); `redeliver(event_id)` sends an event again, as
Shopify's duplicate deliveries do.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import queue
import threading
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx

from emulators.shopify_state import Order, Refund, ShopifyState, iso

__all__ = ["REST_TOPICS", "Delivery", "WebhookDispatcher", "order_payload", "refund_payload"]

log = logging.getLogger(__name__)

REST_TOPICS = {
    "ORDERS_CREATE": "orders/create",
    "ORDERS_PAID": "orders/paid",
    "ORDERS_UPDATED": "orders/updated",
    "ORDERS_CANCELLED": "orders/cancelled",
    "REFUNDS_CREATE": "refunds/create",
}


@dataclass(frozen=True)
class Event:
    id: str
    topic: str  # GraphQL enum, e.g. ORDERS_CREATE
    body: bytes
    triggered_at: str


@dataclass
class Delivery:
    """One attempt to deliver an event to one subscription."""

    event_id: str
    webhook_id: str
    topic: str
    url: str
    status: int | None  # None: transport error
    attempt: int


@dataclass
class _Job:
    event: Event
    url: str
    webhook_id: str
    attempt: int = 1


@dataclass
class WebhookDispatcher:
    """Queues events for the subscribed callback URLs and delivers them in order."""

    state: ShopifyState
    secret: str
    shop_domain: str = "possync-emulated.myshopify.com"
    api_version: str = "2025-01"
    attempts: int = 3
    backoff_seconds: float = 0.05
    events: dict[str, Event] = field(default_factory=dict)
    deliveries: list[Delivery] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._client = httpx.Client(timeout=10.0)
        self._thread = threading.Thread(target=self._loop, name="shopify-webhooks", daemon=True)
        self._thread.start()

    def publish(self, topic: str, payload: dict[str, Any]) -> str | None:
        """Record an event and queue it for each subscription to `topic`; its id, or None
        when nobody subscribes."""
        targets = [s for s in self.state.subscriptions if s.topic == topic]
        if not targets:
            return None
        event = Event(
            id=str(uuid.uuid4()),
            topic=topic,
            body=json.dumps(payload, default=_json_default).encode(),
            triggered_at=iso(self.state.now()) or "",
        )
        self.events[event.id] = event
        for subscription in targets:
            self._queue.put(_Job(event, subscription.callback_url, str(uuid.uuid4())))
        return event.id

    def redeliver(self, event_id: str) -> None:
        """Send an event again to its topic's subscriptions: same body and Event-Id."""
        event = self.events[event_id]
        for subscription in self.state.subscriptions:
            if subscription.topic == event.topic:
                self._queue.put(_Job(event, subscription.callback_url, str(uuid.uuid4())))

    def join(self, timeout: float = 10.0) -> bool:
        """Wait until every queued delivery (and its retries) is done."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)
        return self._queue.unfinished_tasks == 0

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(5.0)
        self._client.close()

    def _headers(self, job: _Job) -> dict[str, str]:
        digest = hmac.new(self.secret.encode(), job.event.body, hashlib.sha256).digest()
        return {
            "Content-Type": "application/json",
            "X-Shopify-Topic": REST_TOPICS.get(job.event.topic, job.event.topic.lower()),
            "X-Shopify-Hmac-Sha256": base64.b64encode(digest).decode(),
            "X-Shopify-Shop-Domain": self.shop_domain,
            "X-Shopify-API-Version": self.api_version,
            "X-Shopify-Webhook-Id": job.webhook_id,
            "X-Shopify-Event-Id": job.event.id,
            "X-Shopify-Triggered-At": job.event.triggered_at,
        }

    def _loop(self) -> None:
        while True:
            job = self._queue.get()
            try:
                if job is None:
                    return
                self._deliver(job)
            except Exception:
                log.exception("shopify emulator: delivering a webhook failed")
            finally:
                self._queue.task_done()

    def _deliver(self, job: _Job) -> None:
        while True:
            status: int | None
            try:
                response = self._client.post(
                    job.url, content=job.event.body, headers=self._headers(job)
                )
                status = response.status_code
            except httpx.HTTPError as exc:
                log.info("shopify emulator: webhook to %s failed: %s", job.url, exc)
                status = None
            self.deliveries.append(
                Delivery(
                    job.event.id, job.webhook_id, job.event.topic, job.url, status, job.attempt
                )
            )
            if status is not None and 200 <= status < 300:
                return
            if job.attempt >= self.attempts:
                log.warning("shopify emulator: gave up on event %s to %s", job.event.id, job.url)
                return
            time.sleep(self.backoff_seconds * job.attempt)
            job.attempt += 1


def _json_default(value: object) -> str:
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    raise TypeError(f"cannot encode {type(value).__name__}")


def _number(gid: str | None) -> int | None:
    return int(gid.rsplit("/", 1)[1]) if gid else None


def order_payload(order: Order) -> dict[str, Any]:
    """The REST Order resource, as a webhook body carries it (the fields we emulate)."""
    return {
        "id": order.number,
        "admin_graphql_api_id": order.id,
        "name": order.name,
        "created_at": iso(order.created_at),
        "updated_at": iso(order.updated_at),
        "cancelled_at": iso(order.cancelled_at),
        "cancel_reason": order.cancel_reason.lower() if order.cancel_reason else None,
        "financial_status": order.financial_status.lower(),
        "fulfillment_status": None,
        "currency": order.currency,
        "total_price": order.total,
        "line_items": [
            {
                "id": _number(line.id),
                "admin_graphql_api_id": line.id,
                "variant_id": _number(line.variant_id),
                "product_id": _number(line.product_id),
                "sku": line.sku,
                "title": line.title,
                "quantity": line.quantity,
                "price": line.unit_price,
            }
            for line in order.lines
        ],
        "refunds": [refund_payload(order, r) for r in order.refunds],
    }


def refund_payload(order: Order, refund: Refund) -> dict[str, Any]:
    """The REST Refund resource, as a refunds/create body carries it."""
    return {
        "id": _number(refund.id),
        "order_id": order.number,
        "admin_graphql_api_id": refund.id,
        "created_at": iso(refund.created_at),
        "processed_at": iso(refund.created_at),
        "note": refund.note,
        "refund_line_items": [
            {
                "line_item_id": _number(line.line_item_id),
                "quantity": line.quantity,
                "restock_type": line.restock_type.lower(),
                "location_id": _number(line.location_id),
                "subtotal": line.subtotal,
            }
            for line in refund.lines
        ],
        "transactions": [
            {"kind": "refund", "status": "success", "amount": refund.amount, "gateway": "manual"}
        ]
        if refund.amount
        else [],
    }
