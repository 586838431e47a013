"""The WooCommerce webhook receiver over a real socket: signatures, pings, dedupe, errors."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from possync.vendors.woocommerce.webhook import WooCommerceSource
from possync.webhooks import OrderNotice, create_webhook_app
from tests.webhooks.support import (
    PATH,
    SECRET,
    MemoryDeliveryLog,
    Receiver,
    delivery_headers,
    order_body,
    start_receiver,
)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = start_receiver()
    yield running
    running.close()


def keys(receiver: Receiver) -> set[tuple[str, str]]:
    log = receiver.deliveries
    assert isinstance(log, MemoryDeliveryLog)
    return set(log.keys)


def test_a_signed_delivery_becomes_a_notice(receiver: Receiver) -> None:
    body = order_body(101, "2025-03-01T10:00:00")
    headers = delivery_headers(body, topic="order.created", delivery_id="d-1")
    response = receiver.client.post(PATH, content=body, headers=headers)
    assert (response.status_code, response.json()) == (200, {"ok": True})
    assert receiver.notices.wait_for(1) == [
        OrderNotice("woocommerce", "order.created", "101", "2025-03-01T10:00:00", "d-1")
    ]
    assert len(keys(receiver)) == 2  # the signed body's hash and the order version


@pytest.mark.parametrize("forgery", ["wrong secret", "tampered body", "no signature"])
def test_a_forged_delivery_is_refused_and_leaves_no_trace(
    receiver: Receiver, forgery: str, caplog: pytest.LogCaptureFixture
) -> None:
    body = order_body()
    headers = delivery_headers(
        body, secret="not-the-secret" if forgery == "wrong secret" else SECRET
    )
    if forgery == "tampered body":
        body = body.replace(b"processing", b"cancelled")
    if forgery == "no signature":
        del headers["X-WC-Webhook-Signature"]
    with caplog.at_level(logging.INFO, logger="possync.webhooks"):
        response = receiver.client.post(PATH, content=body, headers=headers)
    assert response.status_code == 401
    expected = "missing" if forgery == "no signature" else "invalid"
    assert response.json()["error"].startswith(expected)
    assert receiver.settled() == []
    assert keys(receiver) == set()
    assert SECRET not in response.text and SECRET not in caplog.text
    assert "webhook refused" in caplog.text


def test_no_configured_secret_refuses_everything() -> None:
    running = start_receiver(secret=lambda: "")
    try:
        body = order_body()
        headers = delivery_headers(body, secret="")
        assert running.client.post(PATH, content=body, headers=headers).status_code == 401
        assert running.settled() == []
    finally:
        running.close()


def test_the_secret_is_read_per_request_so_rotation_applies_at_once() -> None:
    current = {"secret": "old-secret"}
    running = start_receiver(secret=lambda: current["secret"])
    try:
        body = order_body()
        old = delivery_headers(body, secret="old-secret")
        assert running.client.post(PATH, content=body, headers=old).status_code == 200
        current["secret"] = "new-secret"
        body = order_body(modified="2025-03-01T10:00:05")
        old = delivery_headers(body, secret="old-secret")
        assert running.client.post(PATH, content=body, headers=old).status_code == 401
        new = delivery_headers(body, secret="new-secret")
        assert running.client.post(PATH, content=body, headers=new).status_code == 200
        assert len(running.settled()) == 2
    finally:
        running.close()


def test_a_replayed_delivery_is_accepted_and_acted_on_once(receiver: Receiver) -> None:
    body = order_body()
    headers = delivery_headers(body, delivery_id="same")
    for _ in range(3):
        response = receiver.client.post(PATH, content=body, headers=headers)
        assert response.status_code == 200
    assert response.json() == {"ok": True, "duplicate": True}
    assert len(receiver.settled()) == 1


def test_a_new_delivery_of_the_same_order_version_is_deduped(receiver: Receiver) -> None:
    body = order_body(5, "2025-03-01T10:00:00")
    for topic in ("order.created", "order.updated"):  # both hooks fire for one save
        headers = delivery_headers(body, topic=topic)
        assert receiver.client.post(PATH, content=body, headers=headers).status_code == 200
    assert [n.topic for n in receiver.settled()] == ["order.created"]


def test_a_newer_version_of_the_same_order_is_acted_on(receiver: Receiver) -> None:
    for modified in ("2025-03-01T10:00:00", "2025-03-01T10:00:01"):
        body = order_body(5, modified)
        assert receiver.client.post(PATH, content=body, headers=delivery_headers(body)).is_success
    assert [n.modified_at for n in receiver.settled()] == [
        "2025-03-01T10:00:00",
        "2025-03-01T10:00:01",
    ]


def test_woocommerce_reusing_a_delivery_id_for_another_order_is_not_a_duplicate(
    receiver: Receiver,
) -> None:
    """WooCommerce's delivery id is a hash of webhook id + second, so it repeats."""
    for order_id in (1, 2):
        body = order_body(order_id)
        headers = delivery_headers(body, delivery_id="same-second")
        assert receiver.client.post(PATH, content=body, headers=headers).is_success
    assert [n.order_id for n in receiver.settled()] == ["1", "2"]


def test_concurrent_copies_of_one_delivery_act_once(receiver: Receiver) -> None:
    body = order_body(77)
    headers = delivery_headers(body, delivery_id="burst")

    def post(_: int) -> int:
        return receiver.client.post(PATH, content=body, headers=headers).status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        assert set(pool.map(post, range(32))) == {200}
    assert len(receiver.settled()) == 1


def test_the_ping_sent_when_a_webhook_is_created_gets_200(receiver: Receiver) -> None:
    """WC_Webhook::deliver_ping: form body `webhook_id=<id>`, no signature, wants 200."""
    response = receiver.client.post(
        PATH,
        content=b"webhook_id=42",
        headers={
            "User-Agent": "WooCommerce/9.4.2 Hookshot (WordPress/6.7.1)",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert (response.status_code, response.json()) == (200, {"ok": True, "ping": True})
    assert receiver.settled() == [] and keys(receiver) == set()


def test_a_signed_body_that_is_not_json_is_a_400(receiver: Receiver) -> None:
    for body, message in (
        (b'{"id": 1,', "body is not valid JSON"),
        (b"\xff\xfe\xfa", "body is not UTF-8"),
        (b"[1, 2]", "body is JSON but not an object"),
        (b'{"status": "processing"}', "order payload has no usable 'id'"),
    ):
        response = receiver.client.post(PATH, content=body, headers=delivery_headers(body))
        assert response.status_code == 400, body
        assert response.json()["error"].startswith(message)
    assert receiver.settled() == [] and keys(receiver) == set()


def test_other_topics_are_answered_and_ignored(receiver: Receiver) -> None:
    body = b'{"id": 9, "name": "Mug"}'
    headers = delivery_headers(body, topic="product.updated")
    response = receiver.client.post(PATH, content=body, headers=headers)
    assert (response.status_code, response.json()) == (
        200,
        {"ok": True, "ignored": "product.updated"},
    )
    assert receiver.settled() == [] and keys(receiver) == set()


def test_a_body_over_the_limit_is_refused() -> None:
    running = start_receiver(max_body_bytes=1000)
    try:
        body = order_body(note="x" * 2000)
        response = running.client.post(PATH, content=body, headers=delivery_headers(body))
        assert response.status_code == 413
        assert running.settled() == []
    finally:
        running.close()


def test_the_answer_does_not_wait_for_the_notice_handler() -> None:
    release = threading.Event()
    handled: list[OrderNotice] = []

    def slow(notice: OrderNotice) -> None:
        release.wait(10)
        handled.append(notice)

    running = start_receiver(on_notice=slow)
    try:
        body = order_body()
        started = time.monotonic()
        response = running.client.post(PATH, content=body, headers=delivery_headers(body))
        assert response.status_code == 200 and time.monotonic() - started < 2
        assert handled == []
        release.set()
        assert running.worker.join(10) and len(handled) == 1
    finally:
        release.set()
        running.close()


def test_a_failing_notice_handler_is_logged_and_the_next_notice_still_arrives(
    caplog: pytest.LogCaptureFixture,
) -> None:
    handled: list[str] = []

    def flaky(notice: OrderNotice) -> None:
        if notice.order_id == "1":
            raise RuntimeError("flow start failed")
        handled.append(notice.order_id)

    running = start_receiver(on_notice=flaky)
    try:
        with caplog.at_level(logging.ERROR, logger="possync.webhooks"):
            for order_id in (1, 2):
                body = order_body(order_id)
                response = running.client.post(PATH, content=body, headers=delivery_headers(body))
                assert response.status_code == 200
            assert running.worker.join(10)
        assert handled == ["2"]
        assert "flow start failed" in caplog.text and "Traceback" in caplog.text
    finally:
        running.close()


class BrokenLog:
    def first_delivery(self, source: str, delivery_key: str) -> bool:
        raise OSError("database is locked")


def test_a_broken_delivery_log_lets_the_notice_through(caplog: pytest.LogCaptureFixture) -> None:
    running = start_receiver(BrokenLog())
    try:
        body = order_body()
        with caplog.at_level(logging.ERROR, logger="possync.webhooks"):
            response = running.client.post(PATH, content=body, headers=delivery_headers(body))
        assert response.status_code == 200
        assert len(running.settled()) == 1
        assert "database is locked" in caplog.text
    finally:
        running.close()


def test_the_app_lifespan_stops_the_notice_thread() -> None:
    notices: list[OrderNotice] = []
    app = create_webhook_app(
        sources=[WooCommerceSource(lambda: SECRET)],
        deliveries=MemoryDeliveryLog(),
        on_notice=notices.append,
    )
    notice = OrderNotice("woocommerce", "order.created", "1", None, None)

    async def serve() -> None:
        async with app.router.lifespan_context(app):
            assert app.state.notice_worker.submit(notice)

    asyncio.run(serve())
    assert notices == [notice]  # shutdown drained the queue before the thread stopped
    assert app.state.notice_worker.submit(notice) is False
