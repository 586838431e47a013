"""Flow `process-refunds`: refunds and cancellations of transferred web orders return money
and stock to the POS, once each; money-only refunds move no stock."""

from __future__ import annotations

from prefect import flow
from prefect.task_runners import ThreadPoolTaskRunner

from blocks import SETTINGS_BLOCK
from flows.orders import run_order_flow
from tasks import orders as t


@flow(name="process-refunds", task_runner=ThreadPoolTaskRunner(max_workers=2))  # type: ignore[arg-type]
def process_refunds(settings_block: str = SETTINGS_BLOCK) -> dict[str, int]:
    """Refunds (full, partial, with or without items) and cancellations → the POS."""
    return run_order_flow("process-refunds", (), t.refund_batch, settings_block)
