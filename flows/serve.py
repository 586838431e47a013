"""Serves possync's deployments (flows/deployments.py) from this process: the embedded
default's runner."""

from __future__ import annotations

import threading

from prefect import serve
from prefect.deployments import run_deployment

from flows.deployments import deployments

STOCK_DEPLOYMENT = "stock-sync/stock-sync"


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
    intervals = {
        "stock-sync": stock_interval,
        "product-sync": products_interval,
        "transfer-orders": orders_interval,
        "process-refunds": orders_interval,
    }
    serve(
        *deployments(intervals, timezone),
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
