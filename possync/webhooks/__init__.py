"""Webhook receiver: verifies a webshop's signed deliveries, drops repeats, wakes the sync.

    trigger = CoalescingTrigger(run_order_sync)
    app = create_webhook_app(
        sources=[ShopifySource(lambda: settings.webhook_secret)],  # a vendor's webhook.py
        deliveries=store,                      # possync.store.Store
        on_notice=lambda notice: trigger.poke(),
    )

A notice only wakes the sync, which then reads every order changed since its cursor; so
notices are coalesced, and a lost one costs a delay until the next scheduled run, never
an order. A DeliveryPruner forgets delivery keys once the senders' retry windows are
long past. No Prefect import here: the flow is started by whatever `run` does.
"""

from possync.webhooks.app import MAX_BODY_BYTES, create_webhook_app
from possync.webhooks.notices import DeliveryLog, NoticeWorker, OrderNotice
from possync.webhooks.prune import DEFAULT_RETENTION, MIN_RETENTION, DeliveryPruner
from possync.webhooks.sources import (
    BadPayload,
    Reading,
    WebhookSource,
    hmac_sha256_base64,
    signature_matches,
)
from possync.webhooks.trigger import CoalescingTrigger

__all__ = [
    "DEFAULT_RETENTION",
    "MAX_BODY_BYTES",
    "MIN_RETENTION",
    "BadPayload",
    "CoalescingTrigger",
    "DeliveryLog",
    "DeliveryPruner",
    "NoticeWorker",
    "OrderNotice",
    "Reading",
    "WebhookSource",
    "create_webhook_app",
    "hmac_sha256_base64",
    "signature_matches",
]
