"""The receiver deduping with the real state store (SQLite, and PostgreSQL when reachable)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from possync.store import Store
from possync.webhooks import DeliveryLog
from tests.webhooks.support import PATH, delivery_headers, order_body, start_receiver

pytestmark = pytest.mark.skipif(
    not hasattr(Store, "first_delivery"), reason="possync.store.Store.first_delivery not there yet"
)


def test_the_store_is_a_delivery_log(store: Store) -> None:
    log: DeliveryLog = store
    assert log.first_delivery("woocommerce", "order:1@2025-03-01T10:00:00") is True
    assert log.first_delivery("woocommerce", "order:1@2025-03-01T10:00:00") is False
    assert log.first_delivery("shopify", "order:1@2025-03-01T10:00:00") is True


def test_the_receiver_dedupes_through_the_store(store: Store) -> None:
    receiver = start_receiver(store)
    try:
        body = order_body(3)
        headers = delivery_headers(body, delivery_id="d-3")

        def post(_: int) -> int:
            return receiver.client.post(PATH, content=body, headers=headers).status_code

        with ThreadPoolExecutor(max_workers=8) as pool:
            assert set(pool.map(post, range(16))) == {200}
        newer = order_body(3, "2025-03-01T10:00:09")
        assert receiver.client.post(PATH, content=newer, headers=delivery_headers(newer)).is_success
        assert [n.modified_at for n in receiver.settled()] == [
            "2025-03-01T10:00:00",
            "2025-03-01T10:00:09",
        ]
    finally:
        receiver.close()
