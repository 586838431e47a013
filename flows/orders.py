"""Flow `transfer-orders`: accepted web orders become POS sales (or stock transactions),
exactly once; orders cancelled before that release their reservation."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

from prefect import flow
from prefect.artifacts import create_table_artifact
from prefect.task_runners import ThreadPoolTaskRunner

from blocks import SETTINGS_BLOCK
from flows import reports
from possync.store.run_slots import HeldSlot
from tasks import orders as t
from tasks.common import Connections, connect, exclusive, unvisited

ORDERS_PER_TASK = 25


def settings_of(c: Connections) -> t.OrderSettings:
    return t.OrderSettings(
        accepted=frozenset(c.settings.order_accepted_statuses or c.shop.accepted_statuses),
        mode=c.settings.order_mode,
        first_run_lookback=timedelta(hours=c.settings.orders_first_run_lookback_hours),
    )


def run_order_flow(
    flow_name: str,
    reopen_states: tuple[str, ...],
    batch_task: Callable[..., object],
    settings_block: str,
) -> dict[str, int]:
    """Both order flows, one run per shop at a time (`exclusive`); the orders this run
    claims carry its slot holder, so no other live run takes them over."""

    def body(slot: HeldSlot) -> dict[str, int]:
        return _order_run(slot, flow_name, reopen_states, batch_task, settings_block)

    return exclusive(flow_name, settings_block, body)


def _order_run(
    slot: HeldSlot,
    flow_name: str,
    reopen_states: tuple[str, ...],
    batch_task: Callable[..., object],
    settings_block: str,
) -> dict[str, int]:
    """Read → batches of orders as tasks → finish → artifact; shared by both order flows."""
    c = connect(settings_block)
    try:
        settings = replace(settings_of(c), holder=slot.holder)
        read = t.read_orders(c.shop, c.pos, c.store, flow_name, settings, reopen_states)
        orders = read.orders
        chunks = [orders[i : i + ORDERS_PER_TASK] for i in range(0, len(orders), ORDERS_PER_TASK)]
        futures = [
            batch_task.submit(c.pos, c.shop, c.store, unvisited(chunk), settings)  # type: ignore[attr-defined]
            for chunk in chunks
        ]
        results = [f.result(raise_on_failure=False) for f in futures]
        batches = [r for r in results if isinstance(r, t.BatchResult)]
        failed = [r for r in results if isinstance(r, BaseException)]
        outcomes = [o for b in batches for o in b.outcomes]
        problems = [p for b in batches for p in b.problems]
        handled = [o.order_id for o in outcomes]
        slot.check()  # the cursor moves only if no other run can have overlapped this one
        t.finish(c.store, c.shop.system, unvisited(read), flow_name, problems, handled, not failed)
        counts = Counter[str](o.result for o in outcomes)
        summary: dict[str, int] = {"read": len(orders), **counts, "failed_batches": len(failed)}
        create_table_artifact(
            reports.order_rows(outcomes, problems),
            key=flow_name,
            description=reports.orders_markdown(flow_name, summary),
        )
        if failed:
            raise RuntimeError(
                f"{len(failed)} order batch(es) failed after retries; the cursor was not "
                f"advanced and a rerun continues them: {failed[0]}"
            ) from failed[0]
        return summary
    finally:
        c.close()


@flow(name="transfer-orders", task_runner=ThreadPoolTaskRunner(max_workers=2))  # type: ignore[arg-type]
def transfer_orders(settings_block: str = SETTINGS_BLOCK) -> dict[str, int]:
    """Web orders in an accepted status → the POS, once each; reruns are safe."""
    reopen = ("reserved", "transferring", "quarantined")
    return run_order_flow("transfer-orders", reopen, t.transfer_batch, settings_block)
