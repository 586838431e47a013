"""The receiver that `possync run` and `possync webhooks serve` start prunes its delivery
log on its own schedule, with the retention from the settings Block."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import select, update

from blocks import SETTINGS_BLOCK, SyncSettings
from flows.receiver import start_receiver
from possync.serving import free_port
from possync.store import Store
from possync.store.tables import WebhookDelivery
from tests.webhooks.support import wait_until


def remembered(store: Store) -> set[str]:
    with store.engine.connect() as conn:
        return set(conn.scalars(select(WebhookDelivery.delivery_key)))


def received(store: Store, key: str, ago: timedelta) -> None:
    assert store.first_delivery("woocommerce", key)
    with store.engine.begin() as conn:
        conn.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.delivery_key == key)
            .values(received_at=datetime.now(UTC) - ago)
        )


def test_the_retention_setting_outlasts_the_vendors_retries() -> None:
    assert SyncSettings().webhook_retention_hours == 168  # 7 days > Shopify's 4 h (once 48 h)
    with pytest.raises(ValidationError):
        SyncSettings(webhook_retention_hours=4)


def test_the_receiver_prunes_on_its_schedule_with_the_blocks_retention(
    db_url: str,
) -> None:
    SyncSettings(webshop="woocommerce", webhook_retention_hours=72).save(
        SETTINGS_BLOCK, overwrite=True
    )
    with Store.open(db_url) as store:
        received(store, "body:4-days", timedelta(days=4))
        received(store, "order:4127@2025-03-01T10:00:00", timedelta(hours=71))
        received(store, "body:an-hour", timedelta(hours=1))
        receiver = start_receiver(
            "127.0.0.1", free_port(), "woocommerce", lambda: "secret", run=lambda: None,
            prune_every=0.2,
        )  # fmt: skip
        try:
            assert wait_until(lambda: "body:4-days" not in remembered(store), timeout=30)
            assert remembered(store) == {"order:4127@2025-03-01T10:00:00", "body:an-hour"}
            received(store, "body:5-days", timedelta(days=5))
            assert wait_until(lambda: "body:5-days" not in remembered(store), timeout=30)
            assert remembered(store) == {"order:4127@2025-03-01T10:00:00", "body:an-hour"}
        finally:
            receiver.stop()
        assert receiver.pruner.close(0)  # stop() ended the schedule
