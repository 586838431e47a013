"""WooCommerce webhooks: the subscriptions and their signed deliveries.

A delivery is what WC_Webhook::deliver sends: a POST of the resource JSON with the
X-WC-Webhook-* headers, the signature being base64(HMAC-SHA256(raw body, secret)).
Deliveries run on a background thread, like WooCommerce's Action Scheduler queue. A
webhook that keeps failing is disabled after more than 5 failures in a row, as
WooCommerce does (woocommerce_max_webhook_delivery_failures). Unlike WooCommerce, which
tries each delivery once, the emulator retries a failed delivery a few times (each failed
attempt counts as a failure); set `max_attempts=1` for WooCommerce's exact behaviour.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import queue
import secrets
import string
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from emulators.woocommerce_params import (
    ARRAY,
    STR,
    Arg,
    Json,
    WooError,
    arg,
    invalid_id,
    to_str,
)

RESOURCES = ("coupon", "customer", "order", "product")
EVENTS = ("created", "updated", "deleted", "restored")
WEBHOOK_STATUSES = ("active", "paused", "disabled")
MAX_FAILURES = 5
USER_AGENT = "WooCommerce/9.4.2 Hookshot (WordPress/6.7.1)"

WEBHOOK_ARGS: dict[str, Arg] = {
    "name": STR,
    "status": arg("string", enum=WEBHOOK_STATUSES),
    "topic": STR,
    "secret": STR,
    "delivery_url": STR,
    "hooks": ARRAY,
}

# The WordPress actions each topic listens to (WC_Webhook::get_topic_hooks), shown in `hooks`.
_TOPIC_HOOKS: dict[str, list[str]] = {
    "order.created": ["woocommerce_new_order"],
    "order.updated": ["woocommerce_update_order", "woocommerce_order_refunded"],
    "order.deleted": ["wp_trash_post"],
    "order.restored": ["untrashed_post"],
    "product.created": ["woocommerce_process_product_meta", "woocommerce_new_product"],
    "product.updated": ["woocommerce_process_product_meta", "woocommerce_update_product"],
    "product.deleted": ["wp_trash_post"],
    "product.restored": ["untrashed_post"],
}


def valid_topic(topic: str) -> bool:
    """wc_is_webhook_valid_topic: resource.event for core resources, or action.<hook>."""
    resource, _, event = topic.partition(".")
    if resource == "action":
        return bool(event)
    return resource in RESOURCES and event in EVENTS


@dataclass
class Webhook:
    id: int
    name: str
    status: str
    topic: str
    delivery_url: str
    secret: str
    date_created: datetime
    date_modified: datetime
    failure_count: int = 0

    @property
    def resource(self) -> str:
        return self.topic.partition(".")[0]

    @property
    def event(self) -> str:
        return self.topic.partition(".")[2]

    @property
    def hooks(self) -> list[str]:
        if self.resource == "action":
            return [self.event]
        return list(_TOPIC_HOOKS.get(self.topic, []))


@dataclass(frozen=True)
class Delivery:
    """One HTTP attempt to deliver a webhook, as the test or demo sees it."""

    webhook_id: int
    delivery_id: str
    topic: str
    url: str
    headers: Mapping[str, str]
    body: bytes
    attempt: int
    status_code: int | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class _Job:
    webhook_id: int
    url: str
    topic: str
    headers: dict[str, str]
    body: bytes
    delivery_id: str = field(default_factory=lambda: uuid.uuid4().hex)


def signature(body: bytes, secret: str) -> str:
    """X-WC-Webhook-Signature: base64 of the raw HMAC-SHA256 of the body."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class WebhookHub:
    """The webhooks and a delivery thread; `lock` is the WooState lock guarding webhooks."""

    def __init__(
        self,
        lock: threading.RLock,
        now: Callable[[], datetime],
        max_attempts: int = 3,
        retry_delay: float = 0.2,
        timeout: float = 10.0,
    ) -> None:
        self._lock = lock
        self._now = now
        self.max_attempts = max_attempts
        self.retry_delay = retry_delay
        self.timeout = timeout
        self.webhooks: dict[int, Webhook] = {}
        self._deliveries: list[Delivery] = []
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._pending = 0
        self._idle = threading.Condition()
        self._thread: threading.Thread | None = None

    # --- CRUD (caller holds the lock) -------------------------------------------------

    def create(self, webhook_id: int, body: Mapping[str, Any]) -> Webhook:
        topic = to_str(body.get("topic") or "").lower()
        if not topic or not valid_topic(topic):
            raise WooError(
                "woocommerce_rest_shop_webhook_invalid_topic",
                "Webhook topic is required and must be valid.",
                400,
            )
        url = to_str(body.get("delivery_url") or "")
        if not url.startswith(("http://", "https://")):
            raise WooError(
                "woocommerce_rest_shop_webhook_invalid_delivery_url",
                "Webhook delivery URL must be a valid URL starting with http:// or https://.",
                400,
            )
        now = self._now()
        alphabet = string.ascii_letters + string.digits + "!@#$%^&*()-_ []{}<>~`+=,.;:/?|"
        webhook = Webhook(
            webhook_id,
            to_str(body.get("name") or "") or f"Webhook created on {now:%b %d, %Y @ %I:%M %p}",
            to_str(body.get("status") or "active"),
            topic,
            url,
            to_str(body.get("secret") or "")
            or "".join(secrets.choice(alphabet) for _ in range(50)),
            now,
            now,
        )
        self.webhooks[webhook.id] = webhook
        return webhook

    def get(self, webhook_id: int) -> Webhook:
        webhook = self.webhooks.get(webhook_id)
        if webhook is None:
            raise invalid_id("shop_webhook")
        return webhook

    def update(self, webhook_id: int, body: Mapping[str, Any]) -> Webhook:
        webhook = self.webhooks.get(webhook_id)
        if webhook is None:
            raise invalid_id("shop_webhook", 400)
        if "topic" in body:
            topic = to_str(body["topic"]).lower()
            if not valid_topic(topic):
                raise WooError(
                    "woocommerce_rest_shop_webhook_invalid_topic",
                    "Webhook topic must be valid.",
                    400,
                )
            webhook.topic = topic
        for key in ("name", "delivery_url", "secret"):
            if body.get(key):
                setattr(webhook, key, to_str(body[key]))
        if body.get("status") in WEBHOOK_STATUSES:
            webhook.status = to_str(body["status"])
            if webhook.status == "active":
                webhook.failure_count = 0
        webhook.date_modified = self._now()
        return webhook

    def delete(self, webhook_id: int, force: bool) -> Webhook:
        webhook = self.get(webhook_id)
        if not force:
            raise WooError(
                "woocommerce_rest_trash_not_supported", "Webhooks do not support trashing.", 501
            )
        del self.webhooks[webhook_id]
        return webhook

    def subscribers(self, topic: str) -> list[Webhook]:
        return [w for w in self.webhooks.values() if w.status == "active" and w.topic == topic]

    # --- delivery ----------------------------------------------------------------------

    def enqueue(self, webhook: Webhook, payload: Json, source: str) -> None:
        """Queue one delivery of `payload` (caller holds the lock)."""
        body = json.dumps(payload, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-WC-Webhook-Source": source,
            "X-WC-Webhook-Topic": webhook.topic,
            "X-WC-Webhook-Resource": webhook.resource,
            "X-WC-Webhook-Event": webhook.event,
            "X-WC-Webhook-Signature": signature(body, webhook.secret),
            "X-WC-Webhook-ID": str(webhook.id),
        }
        job = _Job(webhook.id, webhook.delivery_url, webhook.topic, headers, body)
        job.headers["X-WC-Webhook-Delivery-ID"] = job.delivery_id
        with self._idle:
            self._pending += 1
        self._ensure_thread()
        self._queue.put(job)

    def deliveries(self) -> list[Delivery]:
        with self._idle:
            return list(self._deliveries)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until every queued delivery finished (retries included)."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def close(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout=5)

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="woo-webhooks", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        with httpx.Client(timeout=self.timeout, follow_redirects=False) as client:
            while (job := self._queue.get()) is not None:
                try:
                    self._deliver(client, job)
                finally:
                    with self._idle:
                        self._pending -= 1
                        self._idle.notify_all()

    def _deliver(self, client: httpx.Client, job: _Job) -> None:
        for attempt in range(1, self.max_attempts + 1):
            delivery = self._attempt(client, job, attempt)
            with self._idle:
                self._deliveries.append(delivery)
            still_active = self._record_outcome(job.webhook_id, delivery.ok)
            if delivery.ok or not still_active:
                return
            if attempt < self.max_attempts:
                time.sleep(self.retry_delay * 2 ** (attempt - 1))

    @staticmethod
    def _attempt(client: httpx.Client, job: _Job, attempt: int) -> Delivery:
        status: int | None = None
        error: str | None = None
        try:
            status = client.post(job.url, content=job.body, headers=job.headers).status_code
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        return Delivery(
            job.webhook_id, job.delivery_id, job.topic, job.url, job.headers, job.body,
            attempt, status, error,
        )  # fmt: skip

    def _record_outcome(self, webhook_id: int, ok: bool) -> bool:
        """Count failures like WC_Webhook::log_delivery; False once the webhook is gone or off."""
        with self._lock:
            webhook = self.webhooks.get(webhook_id)
            if webhook is None:
                return False
            if ok:
                webhook.failure_count = 0
                return True
            webhook.failure_count += 1
            if webhook.failure_count > MAX_FAILURES:
                webhook.status = "disabled"
            return webhook.status == "active"
