"""Flow `stock-sync`: POS stock → webshop, only what changed, in vendor-sized batches."""

from __future__ import annotations

from prefect import flow
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.runtime import flow_run
from prefect.task_runners import ThreadPoolTaskRunner

from blocks import SETTINGS_BLOCK
from flows import reports
from possync.store.run_slots import HeldSlot
from tasks import stock as t
from tasks.common import Connections, connect, exclusive, unvisited

FLOW = "stock-sync"


# Prefect 3.8 types ThreadPoolTaskRunner() as TaskRunner[Never]; it is the documented use.
@flow(name=FLOW, task_runner=ThreadPoolTaskRunner(max_workers=4))  # type: ignore[arg-type]
def sync_stock(full: bool = False, settings_block: str = SETTINGS_BLOCK) -> dict[str, int]:
    """Sync stock from the POS to the webshop. `full` re-reads everything (reconciliation);
    a first run is always full and links existing products by SKU, then barcode. One run
    per shop at a time, in either direction (see `exclusive`)."""
    return exclusive(FLOW, settings_block, lambda slot: _sync_stock(slot, full, settings_block))


def _sync_stock(slot: HeldSlot, full: bool, settings_block: str) -> dict[str, int]:
    c = connect(settings_block)
    try:
        if c.settings.stock_master == "webshop":
            return _webshop_to_pos(c)
        overlap = c.settings.stock_overlap_seconds
        candidates = t.read_candidates(c.pos, c.shop, c.store, full, overlap)
        matched = t.match_and_link(c.pos, c.shop, c.store, unvisited(candidates))
        plan = t.plan(c.pos, c.shop, matched, c.store.reserved_quantities(c.shop.system))
        batches = c.shop.write_batches(plan.updates)
        run_id = str(flow_run.id) if flow_run.id else None
        groups = t.task_groups(batches)
        futures = [t.push_batches.submit(c.shop, c.store, unvisited(g), run_id) for g in groups]
        results = t.per_batch(groups, [f.result(raise_on_failure=False) for f in futures])
        pushed = t.collect(c.pos.system, batches, results)
        problems = matched.result.problems + plan.problems + pushed.problems
        synced = [u.pos_id for u in plan.unchanged + pushed.written]
        end = t.RunEnd(
            candidates=candidates,
            problems=problems,
            synced_pos_ids=synced,
            advance_cursor=not pushed.failed,
            pos_quantities=t.seen_quantities(matched, synced),
            pos_ids=t.pos_ids_by_key(matched),
        )
        slot.check()  # the cursor moves only if no other run can have overlapped this one
        problems = problems + t.finish(c.pos, c.shop, c.store, unvisited(end))
        summary = reports.StockSummary(
            read=len(candidates.counts),
            changed=len(pushed.written),
            unchanged=len(plan.unchanged),
            quarantined=len(problems),
            write_calls=len(batches),
            retried_from_quarantine=candidates.retried,
        )
        rows = reports.stock_rows(pushed.written, len(plan.unchanged), problems)
        create_table_artifact(rows, key="stock-sync", description=reports.stock_markdown(summary))
        create_markdown_artifact(reports.stock_markdown(summary), key="stock-sync-summary")
        pushed.raise_if_failed()
        return summary.as_dict()
    finally:
        c.close()


def _webshop_to_pos(c: Connections) -> dict[str, int]:
    """Setup `webshop_master`: the webshop's stock is set in the POS."""
    run_id = str(flow_run.id) if flow_run.id else None
    result = t.webshop_stock_to_pos(c.pos, c.shop, c.store, run_id)
    rows = reports.problem_rows(result.problems)
    markdown = reports.counts_markdown("Stock: webshop → POS", result.as_dict())
    create_table_artifact(rows, key="stock-sync", description=markdown)
    create_markdown_artifact(markdown, key="stock-sync-summary")
    return result.as_dict()
