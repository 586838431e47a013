"""What every task shares: retry policy and the connections a flow run works with."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from prefect import Task, get_run_logger
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State, TaskRun
from prefect.runtime import flow_run
from prefect.states import Cancelled
from prefect.tasks import exponential_backoff
from prefect.utilities.annotations import quote

from blocks import CREDENTIALS, SETTINGS_BLOCK, CredentialsBlock, SyncSettings
from possync.domain.config import SyncConfig
from possync.store import Store
from possync.store.run_slots import HeldSlot, SlotBusy, SlotHolder, hold_slot
from possync.vendors.errors import is_retriable
from possync.vendors.ports import Accounting, Pos, Webshop
from possync.vendors.registry import build_pos, build_webshop

T = TypeVar("T")

# The shop every run works for until possync serves several shops (a later issue): the
# key of its run slots. `shop_of` is the one place that names it.
DEFAULT_SHOP = "default"


def unvisited(value: T) -> T:
    """Hand a large value to a task without Prefect walking every element of it to track
    dependencies (a 100,000-count batch took minutes that way); `quote` is unwrapped
    before the task runs."""
    return cast(T, quote(value))


def retry_if_retriable(task: Task[Any, Any], task_run: TaskRun, state: State[Any]) -> bool:
    """Retry a task only when it failed with a retriable error (429, 5xx, timeout)."""
    exc = state.data if isinstance(state.data, BaseException) else None
    if exc is None:
        try:
            state.result(raise_on_failure=True)
        except Exception as raised:  # noqa: BLE001 - we classify, then Prefect re-raises
            exc = raised
    return exc is not None and is_retriable(exc)


# Keyword arguments for every task that calls an external system. The back-off base is
# POSSYNC_TASK_RETRY_BACKOFF seconds (default 2: retries after about 2, 4 and 8 s).
RETRYING: dict[str, Any] = {
    "retries": 3,
    "retry_delay_seconds": exponential_backoff(
        backoff_factor=float(os.environ.get("POSSYNC_TASK_RETRY_BACKOFF", "2"))
    ),
    "retry_jitter_factor": 0.5,
    "retry_condition_fn": retry_if_retriable,
    "cache_policy": NO_CACHE,
}


@dataclass
class Connections:
    """The systems and store one flow run works with; close() releases them."""

    settings: SyncConfig
    pos: Pos
    shop: Webshop
    store: Store

    def close(self) -> None:
        self.pos.close()
        self.shop.close()
        self.store.close()


def connect(settings_block: str = SETTINGS_BLOCK) -> Connections:
    """Load the settings Block and the credentials it names; open connectors and store."""
    settings = cast(SyncSettings, SyncSettings.load(settings_block))
    pos_credentials = load_credentials(settings.pos, settings.pos_block)
    shop_credentials = load_credentials(settings.webshop, settings.webshop_block_name)
    return Connections(
        settings=settings.config(),
        pos=build_pos(settings.pos, pos_credentials.config()),
        shop=build_webshop(settings.webshop, shop_credentials.config()),
        store=Store.open(),
    )


def connect_accounting(settings_block: str = SETTINGS_BLOCK) -> Accounting:
    """The accounting system the settings Block names, from its credentials Block."""
    from possync.vendors.registry import build_accounting

    settings = cast(SyncSettings, SyncSettings.load(settings_block))
    credentials = load_credentials(settings.accounting, settings.accounting_block)
    return build_accounting(settings.accounting, credentials.config())


def load_credentials(vendor: str, block_name: str) -> CredentialsBlock:
    """The named vendor's credentials Block saved as `block_name`."""
    block = CREDENTIALS.get(vendor)
    if block is None:
        raise ValueError(f"no vendor {vendor!r}; choose one of {', '.join(CREDENTIALS)}")
    return cast(CredentialsBlock, block.load(block_name))


def shop_of(settings_block: str) -> str:
    """The shop whose settings Block this is: the key of the run's slot. One shop today;
    when each shop has its own settings Block, its slug is derived here, and only here."""
    del settings_block  # one shop for now; the parameter is where its slug will come from
    return DEFAULT_SHOP


def exclusive(flow_name: str, settings_block: str, body: Callable[[HeldSlot], T]) -> T:
    """Run `body` holding the (shop, flow) run slot for the whole run, so that no two runs
    of a flow for one shop interleave, however they were started: a deployment, a flow
    called directly, a `possync` command, the webhook receiver, a second worker.

    A run that finds the slot taken waits for it (POSSYNC_RUN_SLOT_WAIT_SECONDS, default
    300) and then ends Cancelled with a message naming the run that holds it, having done
    nothing. The Cancelled state is returned from the flow, which Prefect makes the run's
    final state (a direct call raises `CancelledRun` with that message), so the cast below
    never reaches a caller as a value.
    """
    logger = get_run_logger()
    shop = shop_of(settings_block)
    run_id = str(flow_run.id) if flow_run.id else None

    def waiting(current: SlotHolder | None) -> None:
        who = current.describe() if current is not None else "a run that has just ended"
        logger.info("another %s for shop %s is running (%s); waiting", flow_name, shop, who)

    entered = False
    store = Store.open()
    try:
        with hold_slot(store, shop, flow_name, run_id=run_id, on_wait=waiting) as slot:
            entered = True
            return logged_run(store, flow_name, run_id, lambda: body(slot))
    except SlotBusy as busy:
        if entered:
            raise
        logger.warning("%s", busy)
        return cast(T, Cancelled(message=str(busy)))
    finally:
        store.close()


def logged_run(store: Store, flow_name: str, run_id: str | None, body: Callable[[], T]) -> T:
    """Run `body` with a row in the store's run log: started, then completed with the
    run's counts (the int values of what it returns) or failed. A run log that cannot be
    closed is logged, and leaves the run's own outcome alone."""
    log_id = store.start_run(flow_name, run_id)
    status, counts = "failed", {}
    try:
        result = body()
        status = "completed"
        if isinstance(result, Mapping):
            counts = {str(k): v for k, v in result.items() if isinstance(v, int)}
        return result
    finally:
        try:
            store.finish_run(log_id, status, counts)
        except Exception:
            logging.getLogger(__name__).exception(
                "could not close run log row %s of %s (%s)", log_id, flow_name, status
            )
