"""Serves possync's deployments from this process (the embedded default's runner)."""

from __future__ import annotations

import threading
from datetime import timedelta

from prefect import serve
from prefect.deployments import run_deployment
from prefect.deployments.runner import RunnerDeployment

from flows.stock import sync_stock

STOCK_DEPLOYMENT = "stock-sync/stock-sync"


def serve_all(stock_interval_seconds: float, run_now: bool = True) -> None:
    """Serve every deployment on its schedule until interrupted; start one stock run now."""
    stock: RunnerDeployment = sync_stock.to_deployment(  # type: ignore[assignment]
        name="stock-sync",
        interval=timedelta(seconds=stock_interval_seconds),
        description="POS stock → webshop. Schedule: POSSYNC_STOCK_INTERVAL seconds.",
        tags=["possync", "stock"],
    )
    if run_now:
        threading.Thread(target=_kick_off, name="first-run", daemon=True).start()
    # pause_on_shutdown=False: a restart of the main job keeps the schedule running.
    serve(stock, print_starting_message=False, pause_on_shutdown=False)


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
