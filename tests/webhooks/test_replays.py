"""Replays are deduplicated on what the signature covers, on every webhook source.

The vendors sign the body only. The delivery id (X-WC-Webhook-Delivery-ID) and event id
(X-Shopify-Event-Id) headers, and the topic, are not signed: anyone who saw one signed
delivery can resend its body with any headers. So a body already acted on is not acted
on again whatever its headers say, and a header cannot make another body a duplicate.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from possync.store import Store
from tests.webhooks.support import SHOPIFY, VENDORS, Receiver, Vendor, start_receiver


@pytest.fixture(params=VENDORS, ids=lambda v: v.name)
def vendor(request: pytest.FixtureRequest) -> Vendor:
    chosen: Vendor = request.param
    return chosen


@pytest.fixture
def receiver(vendor: Vendor) -> Iterator[Receiver]:
    running = start_receiver(vendor=vendor)
    yield running
    running.close()


def post(receiver: Receiver, vendor: Vendor, body: bytes, **header_options: str) -> None:
    response = receiver.client.post(
        receiver.path, content=body, headers=vendor.headers(body, **header_options)
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "delivery_ids",
    [("d-1", "d-2", "d-3"), ("d-1", "", ""), ("", "", "d-9"), ("", "")],
    ids=["changed ids", "id then none", "none then an id", "never an id"],
)
def test_a_body_without_its_version_is_acted_on_once_whatever_its_delivery_id(
    receiver: Receiver, vendor: Vendor, delivery_ids: tuple[str, ...]
) -> None:
    body = vendor.body(modified=None)
    for delivery_id in delivery_ids:
        post(receiver, vendor, body, delivery_id=delivery_id)
    assert len(receiver.settled()) == 1


def test_a_body_resent_under_another_topic_is_acted_on_once(
    receiver: Receiver, vendor: Vendor
) -> None:
    body = vendor.body(modified=None)
    topics = ("order.created", "order.updated") if vendor.name == "woocommerce" else (
        "orders/create", "orders/paid", "orders/updated", "orders/cancelled",
    )  # fmt: skip
    for topic in topics:
        post(receiver, vendor, body, topic=topic)
    assert len(receiver.settled()) == 1


def test_a_shopify_refund_resent_with_new_event_ids_is_acted_on_once() -> None:
    """refunds/create bodies have no version field at all."""
    receiver = start_receiver(vendor=SHOPIFY)
    try:
        body = b'{"id":929361462,"order_id":5409125040004,"created_at":"2025-03-01T11:02:00+01:00"}'
        for event_id in ("ev-1", "ev-2", ""):
            post(receiver, SHOPIFY, body, topic="refunds/create", delivery_id=event_id)
        [notice] = receiver.settled()
        assert notice.order_id == "gid://shopify/Order/5409125040004"
    finally:
        receiver.close()


def test_a_replayed_delivery_id_cannot_suppress_a_new_body(
    receiver: Receiver, vendor: Vendor
) -> None:
    """An old body sent ahead with the id the next real delivery will carry must not make
    that delivery look like a duplicate."""
    post(receiver, vendor, vendor.body(4127, modified=None), delivery_id="next-event")
    post(receiver, vendor, vendor.body(4128, vendor.stamp(5)), delivery_id="next-event")
    assert [n.order_id[-4:] for n in receiver.settled()] == ["4127", "4128"]


def test_different_bodies_are_each_acted_on(receiver: Receiver, vendor: Vendor) -> None:
    for body in (
        vendor.body(4127, modified=None),
        vendor.body(4127, modified=None, status_note="paid"),
        vendor.body(4127, vendor.stamp(1)),
        vendor.body(4127, vendor.stamp(2)),
    ):
        post(receiver, vendor, body, delivery_id="same-second")
    assert len(receiver.settled()) == 4


def test_replays_are_deduplicated_through_the_store(store: Store, vendor: Vendor) -> None:
    receiver = start_receiver(store, vendor=vendor)
    try:
        body = vendor.body(modified=None)
        for delivery_id in ("d-1", "d-2", ""):
            post(receiver, vendor, body, delivery_id=delivery_id)
        assert len(receiver.settled()) == 1
    finally:
        receiver.close()
