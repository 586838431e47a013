"""The webhook receiver wired to the order flows: a verified, new delivery wakes one
coalesced run of `transfer-orders` then `process-refunds` in this process, so a paid web
order reaches the POS within seconds. The scheduled deployments stay as the safety net for
lost webhooks."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from possync.emulators.server import RunningServer, serve_in_thread
from possync.store import Store
from possync.webhooks import CoalescingTrigger, NoticeWorker, OrderNotice, create_webhook_app

log = logging.getLogger(__name__)

WOOCOMMERCE_PATH = "/webhooks/woocommerce"


@dataclass
class Receiver:
    server: RunningServer
    trigger: CoalescingTrigger
    store: Store
    notices: NoticeWorker

    @property
    def woocommerce_url(self) -> str:
        return self.server.url + WOOCOMMERCE_PATH

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
        if not state.is_completed():
            log.error("%s ended %s: %s", flow_fn.name, state.type.value, state.message)


def start_receiver(
    host: str,
    port: int,
    woocommerce_secret: Callable[[], str],
    run: Callable[[], object] = run_order_flows,
) -> Receiver:
    """Serve the receiver on host:port; deliveries are deduplicated in the state store."""
    store = Store.open()
    trigger = CoalescingTrigger(run, name="order-flows")

    def wake(_notice: OrderNotice) -> None:
        trigger.poke()

    app = create_webhook_app(
        woocommerce_secret=woocommerce_secret, deliveries=store, on_notice=wake
    )
    return Receiver(
        server=serve_in_thread(app, host, port),
        trigger=trigger,
        store=store,
        notices=app.state.notice_worker,
    )
