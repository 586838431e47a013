"""The webhook receiver wired to the order flows: a verified, new delivery wakes one
coalesced run of `transfer-orders` then `process-refunds` in this process, so a paid web
order reaches the POS within seconds. The scheduled deployments stay as the safety net for
lost webhooks (and are all a webshop without webhooks, Magento, has)."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from possync.emulators.server import RunningServer, serve_in_thread
from possync.store import Store
from possync.webhooks import (
    CoalescingTrigger,
    NoticeWorker,
    OrderNotice,
    create_webhook_app,
    webhook_source,
)

log = logging.getLogger(__name__)


@dataclass
class Receiver:
    server: RunningServer
    trigger: CoalescingTrigger
    store: Store
    notices: NoticeWorker
    webshop: str

    @property
    def url(self) -> str:
        """Where the receiver takes this webshop's deliveries."""
        return f"{self.server.url}/webhooks/{self.webshop}"

    def stop(self) -> None:
        self.server.stop()
        self.notices.close(timeout=10)
        self.trigger.close(timeout=60)
        self.store.close()


def run_order_flows() -> None:
    """One pass of both order flows; a failed run is logged and the next poke tries again."""
    from flows.orders import transfer_orders
    from flows.refunds import process_refunds

    for flow_fn in (transfer_orders, process_refunds):
        state = flow_fn(return_state=True)
        if state.is_cancelled():
            # Another run of the flow (the schedule's) held the shop's slot all the while
            # this one waited: it, or the next tick, takes the webhook's order in.
            log.warning("%s did not run: %s", flow_fn.name, state.message)
        elif not state.is_completed():
            log.error("%s ended %s: %s", flow_fn.name, state.type.value, state.message)


class SettingsSecret:
    """The settings Block's webhook secret, re-read at most every `ttl` seconds, so a
    rotated secret applies within seconds without a restart and a burst of deliveries does
    not cost a Block read each."""

    def __init__(self, ttl: float = 5.0) -> None:
        self._ttl = ttl
        self._lock = threading.Lock()
        self._value = ""
        self._read_at = -math.inf

    def __call__(self) -> str:
        with self._lock:
            if time.monotonic() - self._read_at >= self._ttl:
                self._value = self._read()
                self._read_at = time.monotonic()
            return self._value

    @staticmethod
    def _read() -> str:
        from blocks import SETTINGS_BLOCK, SyncSettings

        # Called from the receiver's event loop: `_sync` makes Prefect load synchronously.
        block = SyncSettings.load(SETTINGS_BLOCK, _sync=True)  # type: ignore[call-arg]
        assert isinstance(block, SyncSettings)
        value = block.webhook_secret
        return value.get_secret_value() if value else ""


def start_receiver(
    host: str,
    port: int,
    webshop: str,
    secret: Callable[[], str] | None = None,
    run: Callable[[], object] = run_order_flows,
) -> Receiver:
    """Serve the receiver for this webshop on host:port; deliveries are deduplicated in the
    state store. A webshop without webhooks gets a receiver with no routes."""
    store = Store.open()
    trigger = CoalescingTrigger(run, name="order-flows")

    def wake(_notice: OrderNotice) -> None:
        trigger.poke()

    source = webhook_source(webshop, secret or SettingsSecret())
    app = create_webhook_app(
        sources=[source] if source is not None else [], deliveries=store, on_notice=wake
    )
    return Receiver(
        server=serve_in_thread(app, host, port),
        trigger=trigger,
        store=store,
        notices=app.state.notice_worker,
        webshop=webshop,
    )
