"""possync's deployments, declared once: `make run` serves them (flows/serve.py) and
prefect.yaml, for a Prefect server with a process work pool, is written from them
(`python -m flows.deployments > prefect.yaml`; a test checks the file is current).

One run of each deployment at a time (Prefect's deployment concurrency limit), and what
Prefect does with a run due while one runs. ENQUEUE keeps it waiting for the slot: a
`full` stock or product reconciliation, or a turnover back-fill with its own days, must
not be dropped. CANCEL_NEW drops it: the order flows take no parameters and poll every
2 minutes (webhooks wake them in between), so a queued duplicate would only re-read what
the running one or the next tick covers, and a long backlog run would stack one poll per
tick behind it. Runs started outside a deployment are held apart by the run slot in the
store (`tasks.common.exclusive`).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from importlib import import_module
from typing import Any, cast

import yaml
from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.deployments.runner import RunnerDeployment
from prefect.flows import Flow
from prefect.schedules import Cron

ENQUEUE = ConcurrencyLimitStrategy.ENQUEUE
CANCEL_NEW = ConcurrencyLimitStrategy.CANCEL_NEW
TURNOVER_CRON = "0 2 * * *"  # 02:00 in the shop's timezone: the day before is complete
DEFAULT_TIMEZONE = "Europe/Copenhagen"
WORK_POOL = "possync"


@dataclass(frozen=True)
class Deployment:
    """One deployment: its flow, schedule (an interval in seconds, or a cron in the shop's
    timezone) and what happens to a run due while one runs."""

    name: str
    entrypoint: str  # "flows/stock.py:sync_stock", as prefect.yaml and workers load it
    description: str
    tags: tuple[str, ...]
    collision: ConcurrencyLimitStrategy
    every_seconds: float | None = None
    cron: str | None = None

    def flow(self) -> Flow[..., Any]:
        path, name = self.entrypoint.split(":")
        module = import_module(path.removesuffix(".py").replace("/", "."))
        return cast(Flow[..., Any], getattr(module, name))

    def concurrency(self) -> ConcurrencyLimitConfig:
        return ConcurrencyLimitConfig(limit=1, collision_strategy=self.collision)


DEPLOYMENTS: tuple[Deployment, ...] = (
    Deployment(
        "stock-sync",
        "flows/stock.py:sync_stock",
        "Stock from its master (the POS, or the webshop in setup webshop_master) to the "
        "other side, only what changed, in batches. make run: POSSYNC_STOCK_INTERVAL.",
        ("possync", "stock"),
        ENQUEUE,
        every_seconds=300,
    ),
    Deployment(
        "product-sync",
        "flows/products.py:sync_products",
        "Products, variants, prices and barcodes from the master side (the setup setting) "
        "to the other. make run: POSSYNC_PRODUCTS_INTERVAL.",
        ("possync", "products"),
        ENQUEUE,
        every_seconds=900,
    ),
    Deployment(
        "daily-turnover",
        "flows/turnover.py:send_daily_turnover",
        "Yesterday's POS sales to accounting as one balanced voucher, at 02:00 in the shop's "
        "timezone. Run it with `day` (and `until`) to post or back-fill other days; "
        "`correction` posts the difference for a day already posted.",
        ("possync", "turnover"),
        ENQUEUE,
        cron=TURNOVER_CRON,
    ),
    Deployment(
        "transfer-orders",
        "flows/orders.py:transfer_orders",
        "Paid web orders to the POS, exactly once. Webhooks start it within seconds; this "
        "schedule is the safety net for lost webhooks.",
        ("possync", "orders"),
        CANCEL_NEW,
        every_seconds=120,
    ),
    Deployment(
        "process-refunds",
        "flows/refunds.py:process_refunds",
        "Web refunds and cancellations: money and stock back in the POS, once each.",
        ("possync", "orders"),
        CANCEL_NEW,
        every_seconds=120,
    ),
)

COLLISIONS: dict[str, ConcurrencyLimitStrategy] = {d.name: d.collision for d in DEPLOYMENTS}


def deployments(
    intervals: Mapping[str, float] | None = None, timezone: str = DEFAULT_TIMEZONE
) -> list[RunnerDeployment]:
    """The deployments as `serve` takes them; `intervals` overrides the seconds between runs
    by deployment name (make run's POSSYNC_*_INTERVAL), `timezone` is the shop's."""
    made = []
    for d in DEPLOYMENTS:
        every = (intervals or {}).get(d.name, d.every_seconds)
        schedule: dict[str, Any] = (
            {"interval": timedelta(seconds=every)}
            if every is not None
            else {"schedules": [Cron(str(d.cron), timezone=timezone)]}
        )
        made.append(
            d.flow().to_deployment(
                name=d.name,
                concurrency_limit=d.concurrency(),
                description=d.description,
                tags=list(d.tags),
                **schedule,
            )
        )
    return cast(list[RunnerDeployment], made)


def prefect_yaml(timezone: str = DEFAULT_TIMEZONE) -> dict[str, Any]:
    """prefect.yaml's content for these deployments on the `possync` process work pool."""
    import prefect

    def entry(d: Deployment) -> dict[str, Any]:
        schedule: dict[str, Any] = (
            {"interval": d.every_seconds}
            if d.every_seconds is not None
            else {"cron": d.cron, "timezone": timezone}
        )
        return {
            "name": d.name,
            "entrypoint": d.entrypoint,
            "description": d.description,
            "tags": list(d.tags),
            "parameters": {},
            "concurrency_limit": {"limit": 1, "collision_strategy": d.collision.value},
            "schedules": [schedule],
            "work_pool": {"name": WORK_POOL, "work_queue_name": "default"},
        }

    return {
        "name": "possync",
        "prefect-version": prefect.__version__,
        "build": None,
        "push": None,
        "pull": None,
        "deployments": [entry(d) for d in DEPLOYMENTS],
    }


HEADER = """\
# Written by `python -m flows.deployments > prefect.yaml` from flows/deployments.py (the one
# list of deployments; `make run` serves the same). Edit that file, not this one.
# For a Prefect server with a process work pool:
#   prefect work-pool create possync --type process
#   prefect deploy --all          (from this folder)
#   prefect worker start --pool possync    (from this folder, with the venv active)
# Schedules: intervals in seconds (e.g. 7200 for stock every 2 hours); the turnover's cron
# runs in the shop's timezone.
"""


def render(timezone: str = DEFAULT_TIMEZONE) -> str:
    body = yaml.safe_dump(prefect_yaml(timezone), sort_keys=False, allow_unicode=True, width=100)
    return HEADER + body


if __name__ == "__main__":
    sys.stdout.write(render())
