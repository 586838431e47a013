"""The webhook delivery log: each delivery acted on once, forgotten after the retention."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    delete,
)

from possync.store.session import (
    StoreSession,
    utc_now,
)
from possync.store.tables import (
    WebhookDelivery,
)


class DeliveryStore(StoreSession):
    """The webhook delivery log: each delivery acted on once, forgotten after the retention."""

    def first_delivery(self, source: str, delivery_key: str) -> bool:
        """``True`` (and remembered) the first time a delivery is seen, ``False`` after.

        The unique constraint decides, so of concurrent receivers exactly one gets ``True``.
        """
        stmt = (
            self.insert_into(WebhookDelivery)
            .on_conflict_do_nothing(index_elements=["source", "delivery_key"])
            .returning(WebhookDelivery.id)
        )
        with self.transaction() as conn:
            inserted = conn.execute(
                stmt, {"source": source, "delivery_key": delivery_key, "received_at": utc_now()}
            ).first()
            return inserted is not None

    def prune_deliveries(self, older_than: datetime) -> int:
        """Forget deliveries received before *older_than*; returns how many went.

        Keep them longer than the vendor's redelivery window, or a late retry acts twice.
        """
        with self.transaction() as conn:
            result = conn.execute(
                delete(WebhookDelivery).where(WebhookDelivery.received_at < older_than)
            )
            return result.rowcount
