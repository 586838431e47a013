"""Shared pieces of the webhook tests: an in-memory delivery log, a recording receiver
running on a real socket, and WooCommerce-shaped deliveries."""

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

from possync.emulators.server import RunningServer, serve_in_thread
from possync.webhooks import (
    DeliveryLog,
    NoticeWorker,
    OrderNotice,
    WooCommerceSource,
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


@dataclass
class Receiver:
    """The receiver app on a socket, with its log and notices, and a client for it."""

    app: FastAPI
    server: RunningServer
    deliveries: DeliveryLog
    notices: Notices
    client: httpx.Client

    @property
    def url(self) -> str:
        return self.server.url + PATH

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
    **options: Any,
) -> Receiver:
    log = deliveries if deliveries is not None else MemoryDeliveryLog()
    notices = Notices()
    app = create_webhook_app(
        sources=[WooCommerceSource(secret)],
        deliveries=log,
        on_notice=on_notice or notices,
        **options,
    )
    server = serve_in_thread(app)
    return Receiver(app, server, log, notices, httpx.Client(base_url=server.url, timeout=10))


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
