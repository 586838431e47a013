"""The webhook receiver wired to the order flows: a verified, new delivery wakes one
coalesced run of `transfer-orders` then `process-refunds` in this process, so a paid web
order reaches the POS within seconds. The scheduled deployments stay as the safety net for
lost webhooks (and are all a webshop without webhooks, Magento, has).

The receiver also keeps its delivery log small: wherever it runs (`possync run`, or
`possync webhooks serve` beside the deployments) it forgets delivery keys older than the
settings' `webhook_retention_hours`, at start and every hour."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from possync.serving import RunningServer, serve_in_thread
from possync.store import Store
from possync.store.run_slots import give_up_waiting_when
from possync.vendors.registry import webhook_source
from possync.webhooks import (
    CoalescingTrigger,
    DeliveryPruner,
    NoticeWorker,
    OrderNotice,
    create_webhook_app,
)
from possync.webhooks.prune import PRUNE_EVERY

if TYPE_CHECKING:
    from blocks import SyncSettings

log = logging.getLogger(__name__)


@dataclass
class Receiver:
    server: RunningServer
    trigger: CoalescingTrigger
    store: Store
    notices: NoticeWorker
    pruner: DeliveryPruner
    webshop: str
    stopping: threading.Event

    @property
    def url(self) -> str:
        """Where the receiver takes this webshop's deliveries."""
        return f"{self.server.url}/webhooks/{self.webshop}"

    def stop(self) -> None:
        """Stop taking deliveries and end quickly: a pending order run is dropped and a
        run waiting for its slot gives up (the scheduled runs catch up after a restart);
        a run under way finishes within its own timeouts."""
        self.server.stop()
        self.notices.close(timeout=10)
        self.stopping.set()
        self.trigger.close(timeout=60, run_pending=False)
        self.pruner.close(timeout=30)
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
        value = settings_block().webhook_secret
        return value.get_secret_value() if value else ""


def settings_block() -> SyncSettings:
    """The settings Block, loaded synchronously (callers run in the receiver's event loop
    or its threads, where Prefect's `load` would otherwise hand back a coroutine)."""
    from blocks import SETTINGS_BLOCK, SyncSettings

    block = SyncSettings.load(SETTINGS_BLOCK, _sync=True)  # type: ignore[call-arg]
    assert isinstance(block, SyncSettings)
    return block


def settings_retention() -> timedelta:
    """How long delivery keys are kept: the settings Block's `webhook_retention_hours`."""
    return timedelta(hours=settings_block().webhook_retention_hours)


def start_receiver(
    host: str,
    port: int,
    webshop: str,
    secret: Callable[[], str] | None = None,
    run: Callable[[], object] = run_order_flows,
    retention: Callable[[], timedelta] = settings_retention,
    prune_every: float = PRUNE_EVERY,
) -> Receiver:
    """Serve the receiver for this webshop on host:port; deliveries are deduplicated in the
    state store, and keys older than `retention` are forgotten every `prune_every` seconds.
    A webshop without webhooks gets a receiver with no routes."""
    store = Store.open()
    stopping = threading.Event()

    def run_until_stopped() -> object:
        with give_up_waiting_when(stopping):
            return run()

    trigger = CoalescingTrigger(run_until_stopped, name="order-flows")

    def wake(_notice: OrderNotice) -> None:
        trigger.poke()

    source = webhook_source(webshop, secret or SettingsSecret())
    app = create_webhook_app(
        sources=[source] if source is not None else [], deliveries=store, on_notice=wake
    )
    try:
        server = serve_in_thread(app, host, port)
    except BaseException:
        app.state.notice_worker.close(10)
        trigger.close(10)
        store.close()
        raise
    return Receiver(
        server=server,
        trigger=trigger,
        store=store,
        notices=app.state.notice_worker,
        pruner=DeliveryPruner(store.prune_deliveries, retention, every=prune_every),
        webshop=webshop,
        stopping=stopping,
    )
