"""Tasks of the product sync; the logic is in `possync.productsync`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from prefect import task
from prefect.cache_policies import NO_CACHE

from possync import productsync
from possync.domain.products import ProductData
from possync.planning.products import Rules
from possync.store import Store
from tasks.common import RETRYING


@task(name="read-product-changes", **RETRYING)
def read_products(
    sides: productsync.Sides, store: Store, rules: Rules, full: bool
) -> productsync.Reading:
    return productsync.read(sides, store, rules, full=full)


@task(name="sync-product-chunks", **RETRYING)
def sync_chunks(
    sides: productsync.Sides,
    store: Store,
    rules: Rules,
    chunks: Sequence[Sequence[ProductData]],
    others: Mapping[str, ProductData],
) -> productsync.ChunkResult:
    """Several write calls' worth; each chunk is recorded as soon as it is written, so a
    retry (or a rerun after a crash) skips what already went through."""
    total = productsync.ChunkResult()
    for chunk in chunks:
        total.add(productsync.sync_chunk(sides, store, rules, chunk, others))
    return total


@task(name="finish-product-sync", cache_policy=NO_CACHE)
def finish(
    sides: productsync.Sides,
    store: Store,
    reading: productsync.Reading,
    result: productsync.ChunkResult,
) -> None:
    productsync.finish(sides, store, reading, result)
