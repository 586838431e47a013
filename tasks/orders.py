"""Tasks of the order flows; the logic is in `possync.ordersync`."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from prefect import task
from prefect.cache_policies import NO_CACHE

from possync import ordersync
from possync.domain.models import Problem, WebOrder
from possync.quarantine import quarantine_problems
from possync.store import Store
from possync.vendors.ports import Pos, Webshop
from tasks.common import RETRYING


@task(name="read-web-orders", **RETRYING)
def read_orders(
    shop: Webshop,
    pos: Pos,
    store: Store,
    flow: str,
    settings: ordersync.OrderSettings,
    reopen_states: Collection[str],
) -> ordersync.OrdersRead:
    return ordersync.read_orders(
        shop,
        pos,
        store,
        flow=flow,
        overlap=settings.overlap,
        first_run_lookback=settings.first_run_lookback,
        reopen_states=reopen_states,
    )


@task(name="transfer-orders-batch", **RETRYING)
def transfer_batch(
    pos: Pos,
    shop: Webshop,
    store: Store,
    orders: Sequence[WebOrder],
    settings: ordersync.OrderSettings,
) -> ordersync.BatchResult:
    return ordersync.transfer_batch(pos, shop, store, orders, settings)


@task(name="refund-orders-batch", **RETRYING)
def refund_batch(
    pos: Pos,
    shop: Webshop,
    store: Store,
    orders: Sequence[WebOrder],
    settings: ordersync.OrderSettings,
) -> ordersync.BatchResult:
    return ordersync.refund_batch(pos, shop, store, orders, settings)


@task(name="finish-orders", cache_policy=NO_CACHE)
def finish(
    store: Store,
    shop_system: str,
    read: ordersync.OrdersRead,
    flow: str,
    problems: Sequence[Problem],
    handled_ids: Sequence[str],
    advance_cursor: bool,
) -> None:
    """Quarantine what failed (retried next run), release what now went through, and move
    the cursor only when every batch finished."""
    quarantine_problems(store, flow, problems)
    failed = {p.record_id for p in problems}
    resolved = [i for i in handled_ids if i not in failed]
    if resolved:
        store.resolve_quarantine(flow, shop_system, resolved)
    if advance_cursor:
        ordersync.advance(store, read)
