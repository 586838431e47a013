"""The WooCommerce emulator's own signed deliveries, received by the real receiver.

Webhooks are made through the emulator's REST API, orders are created and changed
through it, and the shop's delivery thread POSTs to the receiver's socket; the notices
wake a CoalescingTrigger as they will in production.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from emulators.woocommerce import PREFIX, WooState, create_woocommerce_app
from possync.serving import RunningServer, serve_in_thread
from possync.webhooks import CoalescingTrigger, OrderNotice
from tests.webhooks.support import PATH, SECRET, Notices, Receiver, sign, start_receiver


class Clock:
    """The shop's clock, moved by the test so each save has its own date_modified."""

    def __init__(self) -> None:
        self.now = datetime(2025, 3, 1, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class World:
    state: WooState
    shop: RunningServer
    api: httpx.Client
    receiver: Receiver
    trigger: CoalescingTrigger
    clock: Clock

    def webhook(self, topic: str, secret: str = SECRET) -> int:
        body = {"topic": topic, "delivery_url": self.receiver.url, "secret": secret}
        response = self.api.post("/webhooks", json=body)
        assert response.status_code == 201, response.text
        return int(response.json()["id"])


@pytest.fixture
def world() -> Iterator[World]:
    runs: list[int] = []
    trigger = CoalescingTrigger(lambda: runs.append(1), name="orders-flow")
    notices = Notices()

    def on_notice(notice: OrderNotice) -> None:
        notices(notice)
        trigger.poke()

    receiver = start_receiver(on_notice=on_notice)
    receiver.notices = notices
    clock = Clock()
    state = WooState()
    state.clock = clock
    state.webhooks.retry_delay = 0.01
    shop = serve_in_thread(create_woocommerce_app(state))
    api = httpx.Client(base_url=shop.url + PREFIX, auth=("ck_demo", "cs_demo"), timeout=10)
    yield World(state, shop, api, receiver, trigger, clock)
    api.close()
    shop.stop()
    state.close()
    receiver.close()
    trigger.close(5)


def new_order(world: World, **body: Any) -> dict[str, Any]:
    response = world.api.post("/orders", json={"billing": {"email": "x@example.com"}, **body})
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_emulator_deliveries_become_notices_once(world: World) -> None:
    created_hook = world.webhook("order.created")
    updated_hook = world.webhook("order.updated")
    world.webhook("product.updated")  # delivered, answered, ignored

    order = new_order(world, status="pending")
    world.clock.now += timedelta(seconds=5)
    changed = world.api.put(f"/orders/{order['id']}", json={"status": "processing"})
    assert changed.status_code == 200
    world.api.post("/products", json={"name": "Mug"})
    world.clock.now += timedelta(seconds=5)
    world.api.put(f"/products/{world.api.get('/products').json()[0]['id']}", json={"name": "Cup"})
    assert world.state.wait_for_deliveries(10)

    deliveries = world.state.deliveries()
    assert deliveries and all(d.ok for d in deliveries), [
        (d.topic, d.status_code) for d in deliveries
    ]
    for delivery in deliveries:
        assert delivery.headers["X-WC-Webhook-Signature"] == sign(delivery.body)

    notices = world.receiver.settled()
    assert [(n.topic, n.order_id, n.modified_at) for n in notices] == [
        ("order.created", str(order["id"]), "2025-03-01T10:00:00"),
        ("order.updated", str(order["id"]), "2025-03-01T10:00:05"),
    ]
    ids = {d.webhook_id: d.delivery_id for d in deliveries}
    assert [n.delivery_id for n in notices] == [ids[created_hook], ids[updated_hook]]
    assert world.trigger.wait_idle(5) and world.trigger.runs >= 1

    # WooCommerce (or a proxy) sending the very same delivery again changes nothing.
    first = world.state.deliveries(created_hook)[0]
    again = world.receiver.client.post(PATH, content=first.body, headers=dict(first.headers))
    assert again.json() == {"ok": True, "duplicate": True}
    assert len(world.receiver.settled()) == 2


def test_a_webhook_signed_with_another_secret_is_refused(world: World) -> None:
    rogue = world.webhook("order.created", secret="someone-elses-secret")
    new_order(world)
    assert world.state.wait_for_deliveries(10)
    attempts = world.state.deliveries(rogue)
    assert attempts and {d.status_code for d in attempts} == {401}
    assert world.receiver.settled() == []
    # The shop counts the failures, as WooCommerce does before disabling a webhook.
    assert world.api.get(f"/webhooks/{rogue}").json()["status"] == "active"
    assert world.state.webhooks.webhooks[rogue].failure_count == len(attempts)
