"""Flow `product-sync`: products from the master side (the `setup` setting) to the other."""

from __future__ import annotations

from typing import cast
from uuid import UUID

from prefect import flow
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)

from blocks import SETTINGS_BLOCK
from flows.reports import products as product_report
from possync.store.run_slots import HeldSlot
from tasks import products as t
from tasks.common import connect, exclusive, unvisited

FLOW = "product-sync"
CHUNKS_PER_TASK = 20  # 2,000 WooCommerce products a task: few task runs, fine progress


@flow(name=FLOW)
def sync_products(full: bool = False, settings_block: str = SETTINGS_BLOCK) -> dict[str, int]:
    """Create, update and archive products on the other side, variants, prices and barcodes
    included. A first run (or `full`) reads both catalogues and links what exists by SKU,
    then barcode, before creating anything. One run per shop at a time (`exclusive`)."""
    return exclusive(FLOW, settings_block, lambda slot: _sync_products(slot, full, settings_block))


def _sync_products(slot: HeldSlot, full: bool, settings_block: str) -> dict[str, int]:
    c = connect(settings_block)
    try:
        sides = t.sides_for(c.settings, c.pos, c.shop)
        rules = t.rules_for(c.settings, sides, c.pos.currency())
        reading = t.read_products(sides, c.store, rules, full)
        chunks = t.chunks(reading.masters, sides.other.products_per_write)
        progress = cast(UUID, create_progress_artifact(0.0, key="product-sync-progress"))
        total = t.ChunkResult()
        done = 0
        t.report_progress(0, len(reading.masters))
        for start in range(0, len(chunks), CHUNKS_PER_TASK):
            group = chunks[start : start + CHUNKS_PER_TASK]
            result = t.sync_chunks(
                sides, c.store, rules, unvisited(group), unvisited(reading.others)
            )
            total.add(result)
            done += sum(len(chunk) for chunk in group)
            update_progress_artifact(progress, 100.0 * done / max(len(reading.masters), 1))
            t.report_progress(done, len(reading.masters))
        update_progress_artifact(progress, 100.0)
        slot.check()  # the cursors move only if no other run can have overlapped this one
        t.finish(sides, c.store, unvisited(reading), unvisited(total))
        summary = product_report.summarize(sides, reading, total)
        markdown = product_report.markdown(summary)
        create_table_artifact(product_report.rows(total), key="product-sync", description=markdown)
        create_markdown_artifact(markdown, key="product-sync-summary")
        return summary.as_dict()
    finally:
        c.close()
