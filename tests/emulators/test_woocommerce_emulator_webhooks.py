"""WooCommerce webhooks in the emulator: CRUD over HTTP and real signed deliveries.

A small receiver app runs on its own socket; it records what arrives and answers with the
status codes a test scripts, so retries and WooCommerce's auto-disable can be seen.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response

from emulators.woocommerce import PREFIX, WooState, create_woocommerce_app
from possync.serving import RunningServer, serve_in_thread


@dataclass
class Receiver:
    """Records deliveries; answers the next scripted status (200 once the script is used up)."""

    statuses: list[int] = field(default_factory=list)
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/hook/{name}")
        async def hook(request: Request) -> Response:
            body = await request.body()
            with self.lock:
                self.received.append((dict(request.headers), body))
                status = self.statuses.pop(0) if self.statuses else 200
            return Response(status_code=status)

        return app


@dataclass
class Shop:
    state: WooState
    server: RunningServer
    client: httpx.Client
    receiver: Receiver
    receiver_server: RunningServer

    def hook_url(self, name: str) -> str:
        return f"{self.receiver_server.url}/hook/{name}"


@pytest.fixture(scope="module")
def shop() -> Iterator[Shop]:
    state = WooState()
    state.webhooks.retry_delay = 0.01
    server = serve_in_thread(create_woocommerce_app(state))
    receiver = Receiver()
    receiver_server = serve_in_thread(receiver.app())
    client = httpx.Client(base_url=server.url + PREFIX, auth=("ck_demo", "cs_demo"), timeout=10)
    yield Shop(state, server, client, receiver, receiver_server)
    client.close()
    server.stop()
    receiver_server.stop()
    state.close()


@pytest.fixture(autouse=True)
def no_leftover_hooks(shop: Shop) -> Iterator[None]:
    """Each test starts without webhooks, so deliveries never leak between tests."""
    yield
    assert shop.state.wait_for_deliveries(10)
    for hook in shop.client.get("/webhooks", params={"per_page": 100}).json():
        shop.client.delete(f"/webhooks/{hook['id']}", params={"force": "true"})
    with shop.receiver.lock:
        shop.receiver.statuses.clear()


def webhook(shop: Shop, topic: str, name: str, **fields: Any) -> dict[str, Any]:
    body = {"name": name, "topic": topic, "delivery_url": shop.hook_url(name), **fields}
    response = shop.client.post("/webhooks", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def new_order(shop: Shop, **body: Any) -> dict[str, Any]:
    response = shop.client.post("/orders", json={"billing": {"email": "x@example.com"}, **body})
    assert response.status_code == 201
    return dict(response.json())


def expected_signature(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


# --- CRUD ----------------------------------------------------------------------------------


def test_webhook_crud(shop: Shop) -> None:
    made = webhook(shop, "order.created", "crud", secret="s3cret")
    assert made["status"] == "active" and made["secret"] == "s3cret"
    assert (made["resource"], made["event"]) == ("order", "created")
    assert made["hooks"] == ["woocommerce_new_order"]
    got = shop.client.get(f"/webhooks/{made['id']}").json()
    assert got["delivery_url"] == shop.hook_url("crud") and "secret" not in got
    paused = shop.client.put(f"/webhooks/{made['id']}", json={"status": "paused"}).json()
    assert paused["status"] == "paused"
    assert [w["id"] for w in shop.client.get("/webhooks", params={"status": "paused"}).json()] == [
        made["id"]
    ]
    assert shop.client.get("/webhooks", params={"status": "active"}).json() == []
    trash = shop.client.delete(f"/webhooks/{made['id']}")
    assert (trash.status_code, trash.json()["code"]) == (
        501,
        "woocommerce_rest_trash_not_supported",
    )
    assert (
        shop.client.delete(f"/webhooks/{made['id']}", params={"force": "true"}).status_code == 200
    )
    gone = shop.client.get(f"/webhooks/{made['id']}")
    assert (gone.status_code, gone.json()["code"]) == (
        404,
        "woocommerce_rest_shop_webhook_invalid_id",
    )


def test_webhook_defaults_and_validation(shop: Shop) -> None:
    made = shop.client.post(
        "/webhooks", json={"topic": "product.updated", "delivery_url": shop.hook_url("d")}
    )
    body = made.json()
    assert body["name"].startswith("Webhook created on ")
    assert len(body["secret"]) == 50
    bad_topic = shop.client.post(
        "/webhooks", json={"topic": "order.shipped", "delivery_url": shop.hook_url("x")}
    )
    assert bad_topic.json() == {
        "code": "woocommerce_rest_shop_webhook_invalid_topic",
        "message": "Webhook topic is required and must be valid.",
        "data": {"status": 400},
    }
    bad_url = shop.client.post(
        "/webhooks", json={"topic": "order.created", "delivery_url": "ftp://x"}
    )
    assert bad_url.json()["code"] == "woocommerce_rest_shop_webhook_invalid_delivery_url"


# --- deliveries ------------------------------------------------------------------------------


def test_order_created_is_delivered_signed_with_woocommerce_headers(shop: Shop) -> None:
    hook = webhook(shop, "order.created", "created", secret="topsecret")
    made = new_order(shop, status="processing")
    assert shop.state.wait_for_deliveries(10)
    (delivery,) = shop.state.deliveries(hook["id"])
    assert delivery.ok and delivery.attempt == 1
    headers, body = next(
        (h, b) for h, b in shop.receiver.received if h["x-wc-webhook-id"] == str(hook["id"])
    )
    assert headers["x-wc-webhook-topic"] == "order.created"
    assert headers["x-wc-webhook-resource"] == "order"
    assert headers["x-wc-webhook-event"] == "created"
    assert headers["x-wc-webhook-source"] == shop.server.url + "/"
    assert headers["x-wc-webhook-delivery-id"] == delivery.delivery_id
    assert headers["content-type"] == "application/json"
    assert headers["x-wc-webhook-signature"] == expected_signature(body, "topsecret")
    payload = delivery.json()
    assert payload["id"] == made["id"] and payload["status"] == "processing"
    assert body == delivery.body


def test_order_updated_fires_once_per_request(shop: Shop) -> None:
    made = new_order(shop)
    hook = webhook(shop, "order.updated", "updated")
    shop.client.put(f"/orders/{made['id']}", json={"status": "processing", "customer_note": "hi"})
    assert shop.state.wait_for_deliveries(10)
    deliveries = shop.state.deliveries(hook["id"])
    assert len(deliveries) == 1
    assert deliveries[0].json()["status"] == "processing"
    assert deliveries[0].headers["X-WC-Webhook-Event"] == "updated"


def test_product_updated_fires_on_an_admin_stock_edit(shop: Shop) -> None:
    product = shop.client.post(
        "/products", json={"name": "Hooked", "manage_stock": True, "stock_quantity": 1}
    )
    hook = webhook(shop, "product.updated", "stock")
    shop.state.set_stock(product.json()["id"], 7)
    assert shop.state.wait_for_deliveries(10)
    (delivery,) = shop.state.deliveries(hook["id"])
    assert delivery.json()["stock_quantity"] == 7


def test_a_failed_delivery_is_retried_with_the_same_delivery_id(shop: Shop) -> None:
    hook = webhook(shop, "order.created", "retry")
    with shop.receiver.lock:
        shop.receiver.statuses[:] = [500, 503]
    new_order(shop)
    assert shop.state.wait_for_deliveries(10)
    attempts = shop.state.deliveries(hook["id"])
    assert [(d.attempt, d.status_code) for d in attempts] == [(1, 500), (2, 503), (3, 200)]
    assert len({d.delivery_id for d in attempts}) == 1
    assert shop.client.get(f"/webhooks/{hook['id']}").json()["status"] == "active"


def test_a_webhook_failing_more_than_five_times_is_disabled(shop: Shop) -> None:
    hook = webhook(shop, "order.created", "dead")
    with shop.receiver.lock:
        shop.receiver.statuses[:] = [500] * 6
    new_order(shop)
    new_order(shop)
    assert shop.state.wait_for_deliveries(10)
    assert [d.status_code for d in shop.state.deliveries(hook["id"])] == [500] * 6
    assert shop.client.get(f"/webhooks/{hook['id']}").json()["status"] == "disabled"
    new_order(shop)
    assert shop.state.wait_for_deliveries(10)
    assert len(shop.state.deliveries(hook["id"])) == 6


def test_an_unreachable_receiver_is_recorded_as_an_error(shop: Shop) -> None:
    made = shop.client.post(
        "/webhooks", json={"topic": "order.created", "delivery_url": "http://127.0.0.1:9/nothing"}
    ).json()
    new_order(shop)
    assert shop.state.wait_for_deliveries(20)
    attempts = shop.state.deliveries(made["id"])
    assert len(attempts) == 3
    assert all(a.status_code is None and a.error for a in attempts)


def test_paused_webhooks_deliver_nothing(shop: Shop) -> None:
    hook = webhook(shop, "order.created", "paused", status="paused")
    new_order(shop)
    assert shop.state.wait_for_deliveries(10)
    assert shop.state.deliveries(hook["id"]) == []
