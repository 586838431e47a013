"""What a webhook tells us, where deliveries are remembered, and the thread that acts on it."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

__all__ = ["DeliveryLog", "NoticeWorker", "OrderNotice"]

logger = logging.getLogger("possync.webhooks")


class DeliveryLog(Protocol):
    """Remembers delivery keys, so a redelivered webhook is acted on once.

    `possync.store.Store` implements it with a unique constraint, so concurrent
    receivers agree on which one saw a key first.
    """

    def first_delivery(self, source: str, delivery_key: str) -> bool:
        """True the first time `delivery_key` is seen for `source` (and remember it)."""
        ...


@dataclass(frozen=True)
class OrderNotice:
    """An order changed at a webshop; the sync reads the order itself, this only wakes it."""

    source: str  # "woocommerce"
    topic: str  # "order.created", "order.updated"
    order_id: str
    modified_at: str | None  # the order's date_modified_gmt, as the body said it
    delivery_id: str | None


class NoticeWorker:
    """Hands notices to `on_notice` on one background thread, in arrival order.

    The receiver answers the webshop at once and never waits for `on_notice`: a slow
    handler must not make WooCommerce time out and count the delivery as failed.
    """

    def __init__(
        self, on_notice: Callable[[OrderNotice], None], name: str = "possync-webhook-notices"
    ) -> None:
        self._on_notice = on_notice
        self._queue: queue.Queue[OrderNotice | None] = queue.Queue()
        self._closed = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def submit(self, notice: OrderNotice) -> bool:
        """Queue `notice`; False (and a warning) once the worker is closed."""
        with self._lock:
            if self._closed:
                logger.warning(
                    "webhook notice for %s order %s arrived after shutdown; the next "
                    "scheduled run picks the order up",
                    notice.source,
                    notice.order_id,
                )
                return False
            self._queue.put(notice)
            return True

    def join(self, timeout: float | None = None) -> bool:
        """Wait until every queued notice was handled; False if `timeout` ran out first."""
        with self._queue.all_tasks_done:
            return self._queue.all_tasks_done.wait_for(
                lambda: self._queue.unfinished_tasks == 0, timeout
            )

    def close(self, timeout: float | None = None) -> bool:
        """Handle what is queued, then stop; True when the thread has ended."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._queue.put(None)
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _loop(self) -> None:
        while True:
            notice = self._queue.get()
            try:
                if notice is None:
                    return
                self._on_notice(notice)
            except Exception:
                logger.exception(
                    "handling the webhook notice for %s order %s failed",
                    notice.source if notice else "?",
                    notice.order_id if notice else "?",
                )
            finally:
                self._queue.task_done()
