"""What every task shares: retry policy and the connections a flow run works with."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from prefect import Task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State, TaskRun
from prefect.tasks import exponential_backoff
from prefect.utilities.annotations import quote

from blocks import (
    POS_CREDENTIALS,
    SETTINGS_BLOCK,
    WEBSHOP_CREDENTIALS,
    SquareCredentials,
    SyncSettings,
    WebshopCredentials,
)
from possync.config import SyncConfig
from possync.connectors.base import Accounting, Pos, Webshop
from possync.connectors.errors import is_retriable
from possync.connectors.registry import build_pos, build_webshop
from possync.store import Store

T = TypeVar("T")


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
    pos_credentials = cast(
        SquareCredentials, POS_CREDENTIALS[settings.pos].load(settings.pos_block)
    )
    shop_credentials = cast(
        WebshopCredentials,
        WEBSHOP_CREDENTIALS[settings.webshop].load(settings.webshop_block_name),
    )
    return Connections(
        settings=settings.config(),
        pos=build_pos(settings.pos, pos_credentials.config()),
        shop=build_webshop(settings.webshop, shop_credentials.config()),
        store=Store.open(),
    )


def connect_accounting(settings_block: str = SETTINGS_BLOCK) -> Accounting:
    """The accounting system the settings Block names, from its credentials Block."""
    from blocks import ACCOUNTING_CREDENTIALS, EconomicCredentials, XeroCredentials
    from possync.connectors.registry import build_accounting

    settings = cast(SyncSettings, SyncSettings.load(settings_block))
    block = ACCOUNTING_CREDENTIALS[settings.accounting]
    credentials = cast(XeroCredentials | EconomicCredentials, block.load(settings.accounting_block))
    return build_accounting(settings.accounting, credentials.config())
