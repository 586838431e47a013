"""Tasks of the stock sync; the logic is in `possync.stocksync`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from prefect import task
from prefect.cache_policies import NO_CACHE

from possync import stock_to_pos, stocksync
from possync.domain.models import Problem, StockUpdate, WriteOutcome
from possync.store import Store
from possync.vendors.errors import FatalError
from possync.vendors.ports import Pos, Webshop
from tasks.common import RETRYING


@task(name="read-pos-stock-changes", **RETRYING)
def read_candidates(
    pos: Pos, shop: Webshop, store: Store, full: bool, overlap_seconds: float
) -> stocksync.Candidates:
    return stocksync.read_candidates(
        pos, shop, store, full=full, overlap=timedelta(seconds=overlap_seconds)
    )


@task(name="match-and-link", **RETRYING)
def match_and_link(
    pos: Pos, shop: Webshop, store: Store, candidates: stocksync.Candidates
) -> stocksync.Matched:
    return stocksync.match_and_link(pos, shop, store, candidates)


@task(name="push-stock-batches", **RETRYING)
def push_batches(
    shop: Webshop, store: Store, batches: Sequence[Sequence[StockUpdate]], run_id: str | None
) -> list[list[WriteOutcome] | FatalError]:
    return stocksync.push_batches(shop, store, batches, run_id)


@task(name="finish-stock-sync", cache_policy=NO_CACHE)
def finish(pos: Pos, shop: Webshop, store: Store, end: stocksync.RunEnd) -> list[Problem]:
    return stocksync.finish(pos, shop, store, end)


@task(name="webshop-stock-to-pos", **RETRYING)
def webshop_stock_to_pos(
    pos: Pos, shop: Webshop, store: Store, run_id: str | None
) -> stock_to_pos.ToPosResult:
    return stock_to_pos.sync_to_pos(pos, shop, store, run_id)
