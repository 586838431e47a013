"""Serves possync's deployments from this process (the embedded default's runner)."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import cast

from prefect import serve
from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.deployments import run_deployment
from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron

from flows.orders import transfer_orders
from flows.products import sync_products
from flows.refunds import process_refunds
from flows.stock import sync_stock
from flows.turnover import send_daily_turnover

STOCK_DEPLOYMENT = "stock-sync/stock-sync"


TURNOVER_CRON = "0 2 * * *"  # 02:00 in the shop's timezone: the day before is complete

# One run of each deployment at a time (Prefect's deployment concurrency limit), and what
# Prefect does with a run due while one runs. ENQUEUE keeps it waiting for the slot: a
# `full` stock or product reconciliation, or a turnover back-fill with its own days, must
# not be dropped. CANCEL_NEW drops it: the order flows take no parameters and poll every
# 2 minutes (webhooks wake them in between), so a queued duplicate would only re-read what
# the running one or the next tick covers, and a long backlog run would stack one poll per
# tick behind it. prefect.yaml declares the same; runs started outside a deployment are
# held apart by the run slot in the store (`tasks.common.exclusive`).
COLLISIONS: dict[str, ConcurrencyLimitStrategy] = {
    "stock-sync": ConcurrencyLimitStrategy.ENQUEUE,
    "product-sync": ConcurrencyLimitStrategy.ENQUEUE,
    "daily-turnover": ConcurrencyLimitStrategy.ENQUEUE,
    "transfer-orders": ConcurrencyLimitStrategy.CANCEL_NEW,
    "process-refunds": ConcurrencyLimitStrategy.CANCEL_NEW,
}


def one_at_a_time(deployment: str) -> ConcurrencyLimitConfig:
    """The deployment's concurrency limit: 1, with its collision strategy."""
    return ConcurrencyLimitConfig(limit=1, collision_strategy=COLLISIONS[deployment])


def deployments(
    stock_interval: float,
    orders_interval: float,
    products_interval: float = 900,
    timezone: str = "Europe/Copenhagen",
) -> list[RunnerDeployment]:
    """The deployments `make run` serves (prefect.yaml declares the same for a worker)."""
    made = [
        sync_stock.to_deployment(
            name="stock-sync",
            concurrency_limit=one_at_a_time("stock-sync"),
            interval=timedelta(seconds=stock_interval),
            description="Stock from its master (the POS, or the webshop in setup "
            "webshop_master) to the other side. Schedule: POSSYNC_STOCK_INTERVAL seconds.",
            tags=["possync", "stock"],
        ),
        sync_products.to_deployment(
            name="product-sync",
            concurrency_limit=one_at_a_time("product-sync"),
            interval=timedelta(seconds=products_interval),
            description="Products, variants, prices and barcodes from the master side (the "
            "setup setting) to the other. Schedule: POSSYNC_PRODUCTS_INTERVAL seconds.",
            tags=["possync", "products"],
        ),
        send_daily_turnover.to_deployment(
            name="daily-turnover",
            concurrency_limit=one_at_a_time("daily-turnover"),
            schedules=[Cron(TURNOVER_CRON, timezone=timezone)],
            description="Yesterday's POS sales → accounting as one balanced voucher, at 02:00 "
            "in the shop's timezone. Run it with `day` (and `until`) to post or back-fill "
            "other days; `correction` posts the difference for a day already posted.",
            tags=["possync", "turnover"],
        ),
        transfer_orders.to_deployment(
            name="transfer-orders",
            concurrency_limit=one_at_a_time("transfer-orders"),
            interval=timedelta(seconds=orders_interval),
            description="Paid web orders → POS, exactly once. Webhooks start it within "
            "seconds; this schedule is the safety net for lost webhooks.",
            tags=["possync", "orders"],
        ),
        process_refunds.to_deployment(
            name="process-refunds",
            concurrency_limit=one_at_a_time("process-refunds"),
            interval=timedelta(seconds=orders_interval),
            description="Web refunds and cancellations → money and stock back in the POS.",
            tags=["possync", "orders"],
        ),
    ]
    return cast(list[RunnerDeployment], made)


def serve_all(
    stock_interval: float,
    orders_interval: float,
    products_interval: float = 900,
    run_now: bool = True,
    timezone: str = "Europe/Copenhagen",
) -> None:
    """Serve every deployment on its schedule until interrupted; start one stock run now.
    `timezone` is the shop's: the turnover's 02:00 is local."""
    if run_now:
        threading.Thread(target=_kick_off, name="first-run", daemon=True).start()
    # pause_on_shutdown=False: a restart of the main job keeps the schedules running.
    serve(
        *deployments(stock_interval, orders_interval, products_interval, timezone),
        print_starting_message=False,
        pause_on_shutdown=False,
    )


def _kick_off() -> None:
    """A first run right away, so the demo does not wait for the first interval."""
    import time

    from prefect.exceptions import ObjectNotFound

    for _ in range(60):
        try:
            run_deployment(STOCK_DEPLOYMENT, timeout=0)
            return
        except ObjectNotFound:
            time.sleep(1)  # serve() has not created the deployment yet
