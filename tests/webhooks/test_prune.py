"""The delivery log is pruned on a schedule: keys older than the retention go, recent ones
stay (and still deduplicate), on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from possync.store import Store
from possync.store.tables import WebhookDelivery
from possync.webhooks import MIN_RETENTION, DeliveryPruner
from tests.webhooks.support import SHOPIFY, start_receiver, wait_until

WEEK = timedelta(days=7)


def remembered(store: Store) -> set[str]:
    with store.engine.connect() as conn:
        return set(conn.scalars(select(WebhookDelivery.delivery_key)))


def received(store: Store, key: str, ago: timedelta) -> None:
    """Record `key` as received `ago` before now (what a running receiver leaves behind)."""
    assert store.first_delivery("shopify", key)
    with store.engine.begin() as conn:
        conn.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.delivery_key == key)
            .values(received_at=datetime.now(UTC) - ago)
        )


def test_old_keys_go_and_recent_ones_stay_at_every_tick(store: Store) -> None:
    received(store, "body:8-days", timedelta(days=8))
    received(store, "body:6-days", timedelta(days=6, hours=23))
    received(store, "body:just-now", timedelta(seconds=1))
    pruner = DeliveryPruner(store.prune_deliveries, lambda: WEEK, every=0.1)
    try:
        assert wait_until(lambda: "body:8-days" not in remembered(store))
        assert remembered(store) == {"body:6-days", "body:just-now"}
        # Later rows age out on a later tick, not only at start.
        received(store, "body:9-days", timedelta(days=9))
        rounds = pruner.rounds
        assert wait_until(lambda: pruner.rounds > rounds + 1)
        assert remembered(store) == {"body:6-days", "body:just-now"}
    finally:
        assert pruner.close(10)


def test_a_retention_shorter_than_the_retry_windows_is_raised_to_the_minimum(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    received(store, "body:past-minimum", MIN_RETENTION + timedelta(hours=1))
    received(store, "body:within-minimum", MIN_RETENTION - timedelta(hours=1))
    with caplog.at_level(logging.WARNING, logger="possync.webhooks"):
        pruner = DeliveryPruner(store.prune_deliveries, lambda: timedelta(hours=1), every=60)
        try:
            assert wait_until(lambda: pruner.rounds >= 1)
        finally:
            assert pruner.close(10)
    assert remembered(store) == {"body:within-minimum"}
    assert "shorter than the vendors' retry windows" in caplog.text


def test_a_failed_prune_is_logged_and_tried_again(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    received(store, "body:8-days", timedelta(days=8))
    calls: list[datetime] = []

    def flaky(older_than: datetime) -> int:
        calls.append(older_than)
        if len(calls) == 1:
            raise OSError("database is locked")
        return store.prune_deliveries(older_than)

    with caplog.at_level(logging.ERROR, logger="possync.webhooks"):
        pruner = DeliveryPruner(flaky, lambda: WEEK, every=0.05)
        try:
            assert wait_until(lambda: "body:8-days" not in remembered(store))
        finally:
            assert pruner.close(10)
    assert len(calls) >= 2
    assert "pruning the webhook delivery log failed" in caplog.text
    assert "database is locked" in caplog.text


def test_a_pruned_log_still_deduplicates_recent_deliveries(store: Store) -> None:
    """A redelivery within the retention is still a duplicate after a prune."""
    receiver = start_receiver(store, vendor=SHOPIFY)
    pruner = DeliveryPruner(store.prune_deliveries, lambda: WEEK, every=0.05)
    try:
        body = SHOPIFY.body(modified=None)
        headers = SHOPIFY.headers(body)
        assert receiver.client.post(receiver.path, content=body, headers=headers).is_success
        assert len(receiver.notices.wait_for(1)) == 1
        rounds = pruner.rounds
        assert wait_until(lambda: pruner.rounds > rounds + 1)
        again = receiver.client.post(receiver.path, content=body, headers=SHOPIFY.headers(body))
        assert again.json() == {"ok": True, "duplicate": True}
        assert len(receiver.settled()) == 1
    finally:
        assert pruner.close(10)
        receiver.close()
