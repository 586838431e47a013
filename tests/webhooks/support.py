"""Shared pieces of the webhook tests: an in-memory delivery log, a recording receiver
running on a real socket, and deliveries shaped as each webshop sends them (WooCommerce's
WC_Webhook::deliver, Shopify's HTTPS webhooks)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI

from possync.serving import RunningServer, serve_in_thread
from possync.vendors.shopify.webhook import ShopifySource
from possync.vendors.woocommerce.webhook import WooCommerceSource
from possync.webhooks import (
    DeliveryLog,
    NoticeWorker,
    OrderNotice,
    WebhookSource,
    create_webhook_app,
)

SECRET = "wh-secret-Zq8&<>x"  # distinctive, so a leak into logs or bodies is easy to spot
PATH = "/webhooks/woocommerce"


class MemoryDeliveryLog:
    """DeliveryLog in a set; thread-safe, so concurrent requests see one winner per key."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.keys: set[tuple[str, str]] = set()

    def first_delivery(self, source: str, delivery_key: str) -> bool:
        with self._lock:
            if (source, delivery_key) in self.keys:
                return False
            self.keys.add((source, delivery_key))
            return True


@dataclass
class Notices:
    """What `on_notice` received, with a way to wait for it."""

    received: list[OrderNotice] = field(default_factory=list)
    cond: threading.Condition = field(default_factory=threading.Condition)

    def __call__(self, notice: OrderNotice) -> None:
        with self.cond:
            self.received.append(notice)
            self.cond.notify_all()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[OrderNotice]:
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.received) >= count, timeout), (
                f"waited for {count} notices, got {len(self.received)}"
            )
            return list(self.received)


@dataclass(frozen=True)
class Vendor:
    """One webshop's webhooks as the tests send them: its receiver source, a paid order's
    signed body with the vendor's real id format, and the headers the vendor sends."""

    name: str
    make_source: Callable[[Callable[[], str]], WebhookSource]
    order_topic: str
    version_field: str  # the order's last-modified time, in the signed body
    order_id: int  # the vendor's real id size

    @property
    def path(self) -> str:
        return f"/webhooks/{self.name}"

    def stamp(self, second: int = 0) -> str:
        """The order's last-modified time as the vendor writes it (WooCommerce: GMT without
        an offset; Shopify: the shop's local time with its offset)."""
        if self.name == "shopify":
            return f"2025-03-01T11:00:{second:02d}+01:00"
        return f"2025-03-01T10:00:{second:02d}"

    def order(
        self, order_id: int | None = None, modified: str | None = "", **extra: Any
    ) -> dict[str, Any]:
        """A paid order as the vendor's webhook body has it; `modified` "" is `stamp()`,
        None leaves the version field out."""
        number = self.order_id if order_id is None else order_id
        if self.name == "shopify":
            order: dict[str, Any] = {
                "id": number,
                "admin_graphql_api_id": f"gid://shopify/Order/{number}",
                "name": "#1001",
                "financial_status": "paid",
                "currency": "EUR",
                "total_price": "24.95",
            }
        else:
            order = {"id": number, "status": "processing", "currency": "EUR", "total": "24.95"}
        if modified is not None:
            order[self.version_field] = modified or self.stamp()
        return {**order, **extra}

    def body(self, order_id: int | None = None, modified: str | None = "", **extra: Any) -> bytes:
        return json.dumps(self.order(order_id, modified, **extra), separators=(",", ":")).encode()

    def headers(
        self,
        body: bytes,
        *,
        topic: str | None = None,
        delivery_id: str | None = None,
        secret: str = SECRET,
    ) -> dict[str, str]:
        """Signed headers as the vendor sends them; `delivery_id` "" leaves the vendor's
        delivery/event id header out (it is not covered by the signature)."""
        if self.name == "woocommerce":
            headers = delivery_headers(
                body, topic=topic or self.order_topic, delivery_id=delivery_id, secret=secret
            )
            if delivery_id == "":
                del headers["X-WC-Webhook-Delivery-ID"]
            return headers
        headers = {
            "Content-Type": "application/json",
            "X-Shopify-Topic": topic or self.order_topic,
            "X-Shopify-Hmac-Sha256": sign(body, secret),
            "X-Shopify-Shop-Domain": "demo-shop.myshopify.com",
            "X-Shopify-API-Version": "2025-01",
            "X-Shopify-Webhook-Id": str(uuid.uuid4()),
            "X-Shopify-Event-Id": str(uuid.uuid4()) if delivery_id is None else delivery_id,
            "X-Shopify-Triggered-At": "2025-03-01T10:00:01.123456789Z",
        }
        if delivery_id == "":
            del headers["X-Shopify-Event-Id"]
        return headers


WOOCOMMERCE = Vendor("woocommerce", WooCommerceSource, "order.updated", "date_modified_gmt", 4127)
SHOPIFY = Vendor("shopify", ShopifySource, "orders/paid", "updated_at", 5409125040004)
VENDORS = (WOOCOMMERCE, SHOPIFY)


@dataclass
class Receiver:
    """The receiver app on a socket, with its log and notices, and a client for it."""

    app: FastAPI
    server: RunningServer
    deliveries: DeliveryLog
    notices: Notices
    client: httpx.Client
    path: str = PATH

    @property
    def url(self) -> str:
        return self.server.url + self.path

    @property
    def worker(self) -> NoticeWorker:
        worker: NoticeWorker = self.app.state.notice_worker
        return worker

    def settled(self) -> list[OrderNotice]:
        """The notices once every accepted one has been handed over."""
        assert self.worker.join(10)
        with self.notices.cond:
            return list(self.notices.received)

    def close(self) -> None:
        self.client.close()
        self.server.stop()
        self.worker.close(10)


def start_receiver(
    deliveries: DeliveryLog | None = None,
    *,
    secret: Callable[[], str] = lambda: SECRET,
    on_notice: Callable[[OrderNotice], None] | None = None,
    vendor: Vendor = WOOCOMMERCE,
    **options: Any,
) -> Receiver:
    log = deliveries if deliveries is not None else MemoryDeliveryLog()
    notices = Notices()
    app = create_webhook_app(
        sources=[vendor.make_source(secret)],
        deliveries=log,
        on_notice=on_notice or notices,
        **options,
    )
    server = serve_in_thread(app)
    client = httpx.Client(base_url=server.url, timeout=30)
    return Receiver(app, server, log, notices, client, vendor.path)


def sign(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def order_body(order_id: int = 101, modified: str = "2025-03-01T10:00:00", **extra: Any) -> bytes:
    order = {"id": order_id, "status": "processing", "date_modified_gmt": modified, **extra}
    return json.dumps(order, separators=(",", ":")).encode()


def delivery_headers(
    body: bytes,
    *,
    topic: str = "order.updated",
    delivery_id: str | None = None,
    secret: str = SECRET,
) -> dict[str, str]:
    """Headers as WC_Webhook::deliver sends them."""
    resource, _, event = topic.partition(".")
    return {
        "Content-Type": "application/json",
        "User-Agent": "WooCommerce/9.4.2 Hookshot (WordPress/6.7.1)",
        "X-WC-Webhook-Source": "https://shop.example/",
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Resource": resource,
        "X-WC-Webhook-Event": event,
        "X-WC-Webhook-Signature": sign(body, secret),
        "X-WC-Webhook-ID": "7",
        "X-WC-Webhook-Delivery-ID": delivery_id or uuid.uuid4().hex,
    }


def wait_until(check: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.01)
    return check()
