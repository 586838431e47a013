"""Forgetting old delivery keys on a schedule, so the delivery log does not grow forever.

A key only has to outlive the sender's retries: WooCommerce delivers each webhook once and
never retries it (a failure only counts towards disabling the webhook); Shopify retries a
failed delivery 8 times over 4 hours, with the original body (changelog of 2024-09-10;
before that, 19 times over 48 hours). The retention (the settings Block's
`webhook_retention_hours`, 7 days by default) is kept well above both, and never below
MIN_RETENTION. A replay older than the retention is acted on once more, which costs one
run of the order flows: they read by cursor and are idempotent.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

__all__ = ["DEFAULT_RETENTION", "MIN_RETENTION", "PRUNE_EVERY", "DeliveryPruner"]

logger = logging.getLogger("possync.webhooks")

DEFAULT_RETENTION = timedelta(days=7)
MIN_RETENTION = timedelta(hours=48)  # the longest retry window either vendor ever had
PRUNE_EVERY = 3600.0  # seconds; the table's received_at index makes a prune cheap


class DeliveryPruner:
    """Calls `prune(older_than)` at start and then every `every` seconds on a thread.

    `retention` is read at each prune, so a changed setting applies without a restart; a
    retention below MIN_RETENTION is raised to it (with a warning). A failed prune (the
    store or the settings unreachable) is logged and tried again at the next tick.
    """

    def __init__(
        self,
        prune: Callable[[datetime], int],
        retention: Callable[[], timedelta],
        *,
        every: float = PRUNE_EVERY,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        name: str = "possync-delivery-pruner",
    ) -> None:
        self._prune = prune
        self._retention = retention
        self._every = every
        self._clock = clock
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._rounds = 0
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    @property
    def rounds(self) -> int:
        """Prunes attempted so far (failed ones included)."""
        with self._lock:
            return self._rounds

    def prune_now(self) -> int:
        """Forget the keys older than the retention now; how many went."""
        retention = self._retention()
        if retention < MIN_RETENTION:
            logger.warning(
                "webhook retention %s is shorter than the vendors' retry windows; keeping "
                "delivery keys for %s instead",
                retention,
                MIN_RETENTION,
            )
            retention = MIN_RETENTION
        gone = self._prune(self._clock() - retention)
        if gone:
            logger.info("forgot %d webhook delivery keys older than %s", gone, retention)
        return gone

    def close(self, timeout: float | None = None) -> bool:
        """Stop the schedule (a prune under way finishes); True when the thread has ended."""
        self._stop.set()
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.prune_now()
            except Exception:
                logger.exception("pruning the webhook delivery log failed; trying again later")
            finally:
                with self._lock:
                    self._rounds += 1
            self._stop.wait(self._every)
