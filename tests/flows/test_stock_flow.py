"""The stock-sync flow end to end: real Prefect runs, real HTTP to the emulators, the state
store on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from prefect.client.schemas.objects import State
from prefect.settings import PREFECT_API_URL

from emulators.control import FaultConfig
from emulators.demo import DemoProduct, DemoVariant, demo_catalogue
from flows.stock import sync_stock
from possync.store import Store
from tests.shop import EmulatedShop, running_shop, save_blocks

CATALOGUE = demo_catalogue(40, seed=3)
SIMPLE_SKU = next(p.variants[0].sku for p in CATALOGUE if p.simple and p.variants[0].stock > 3)
VARIANT_SKU = next(v.sku for p in CATALOGUE if not p.simple for v in p.variants if v.stock > 3)
POS_ONLY = DemoProduct(
    key="X1",
    name="Only in the register",
    description="",
    simple=True,
    variants=[DemoVariant("POS-ONLY-1", "5700000000017", "Regular", Decimal("9.95"), 4)],
)


@pytest.fixture
def db_url(webshop_and_db: tuple[str, str]) -> str:
    """Overrides the conftest's: this module runs on every webshop (WooCommerce on both
    databases)."""
    return webshop_and_db[1]


@pytest.fixture
def shop(db_url: str, webshop: str) -> Iterator[EmulatedShop]:
    yield from running_shop(CATALOGUE, webshop=webshop)


def run(**params: Any) -> tuple[dict[str, int], list[dict[str, Any]]]:
    state: State[Any] = sync_stock(return_state=True, **params)
    summary = state.result()
    flow_run_id = state.state_details.flow_run_id
    # Straight to the REST API: what the UI reads.
    response = httpx.post(
        f"{PREFECT_API_URL.value()}/artifacts/filter",
        json={"artifacts": {"flow_run_id": {"any_": [str(flow_run_id)]}}},
    )
    response.raise_for_status()
    tables = [a for a in response.json() if a["type"] == "table"]
    assert len(tables) == 1
    data = tables[0]["data"]
    rows = json.loads(data) if isinstance(data, str) else data
    assert isinstance(rows, list)
    return summary, rows


def test_first_run_links_by_sku_and_writes_nothing_when_equal(shop: EmulatedShop) -> None:
    summary, rows = run()
    total = sum(len(p.variants) for p in CATALOGUE)
    assert summary["read"] == total
    assert summary["unchanged"] == total
    assert summary["changed"] == 0 and summary["quarantined"] == 0
    assert shop.web_writes() == 0
    assert rows == []


def test_each_run_is_in_the_store_s_run_log(shop: EmulatedShop, db_url: str) -> None:
    state: State[Any] = sync_stock(return_state=True)
    summary = state.result()
    with Store.open(db_url) as store:
        [logged] = store.recent_runs("stock-sync")
    assert logged.run_id == str(state.state_details.flow_run_id)
    assert (logged.status, logged.counts) == ("completed", summary)


def test_pos_sale_lowers_webshop_stock_and_rerun_writes_nothing(shop: EmulatedShop) -> None:
    run()
    before_simple, before_variant = shop.web_stock(SIMPLE_SKU), shop.web_stock(VARIANT_SKU)
    assert before_simple is not None and before_variant is not None
    shop.sell_at_pos(SIMPLE_SKU, 2)
    shop.sell_at_pos(VARIANT_SKU, 3)

    summary, rows = run()
    assert shop.web_stock(SIMPLE_SKU) == before_simple - 2
    assert shop.web_stock(VARIANT_SKU) == before_variant - 3
    assert summary["changed"] == 2 and summary["read"] == 2
    # WooCommerce: products/batch + the parent's variations/batch; the others take simple
    # products and variants in one call.
    assert summary["write_calls"] == (2 if shop.web.system == "woocommerce" else 1)
    changed = {r["sku"]: (r["from"], r["to"]) for r in rows if r["status"] == "changed"}
    assert changed == {
        SIMPLE_SKU: (before_simple, before_simple - 2),
        VARIANT_SKU: (before_variant, before_variant - 3),
    }

    writes = shop.web_writes()
    again, rows = run()
    assert again["changed"] == 0 and again["write_calls"] == 0
    assert shop.web_writes() == writes
    assert rows == []


def test_overlap_rereads_skip_what_already_synced(shop: EmulatedShop) -> None:
    """With an overlap, the next run re-reads the whole seeded catalogue (one timestamp);
    the ledger recognises it as synced, so only the new sale is planned and written."""
    save_blocks(shop, overlap_seconds=3600)
    run()
    shop.sell_at_pos(SIMPLE_SKU, 1)
    summary, _rows = run()
    assert summary["read"] == 1 and summary["changed"] == 1
    assert shop.web_stock(SIMPLE_SKU) == int(shop.pos_count(SIMPLE_SKU))


def test_webshop_drift_is_corrected_by_a_full_run(shop: EmulatedShop) -> None:
    run()
    shop.web.set_stock(SIMPLE_SKU, 999)
    assert run()[0]["changed"] == 0  # nothing changed in the POS since the cursor
    summary, _rows = run(full=True)
    assert summary["changed"] == 1
    assert shop.web_stock(SIMPLE_SKU) == int(shop.pos_count(SIMPLE_SKU))


def test_bad_records_are_quarantined_with_reason_and_the_rest_syncs(
    db_url: str, webshop: str
) -> None:
    for shop in running_shop(CATALOGUE, pos_only=[POS_ONLY], webshop=webshop):
        run()
        on_hand = int(shop.pos_count(VARIANT_SKU))
        shop.sell_at_pos(VARIANT_SKU, on_hand + 2)  # oversold: the POS count goes negative
        shop.sell_at_pos(SIMPLE_SKU, 1)

        summary, rows = run()
        assert shop.web_stock(SIMPLE_SKU) == int(shop.pos_count(SIMPLE_SKU))
        reasons = {
            r["sku"]: (r["field"], r["reason"]) for r in rows if r["status"] == "quarantined"
        }
        assert reasons["POS-ONLY-1"][0] == "link"
        assert "no webshop product or variation has SKU 'POS-ONLY-1'" in reasons["POS-ONLY-1"][1]
        assert reasons[VARIANT_SKU][0] == "quantity"
        assert "negative" in reasons[VARIANT_SKU][1]
        assert summary["changed"] == 1

        store = Store.open(db_url)
        try:
            open_ids = {q.record_id for q in store.open_quarantine("stock-sync")}
            assert shop.square.variation_id_for_sku(VARIANT_SKU) in open_ids
            # The register is restocked: the quarantined record syncs at the next run.
            shop.square_restock(VARIANT_SKU, 7)  # -2 + 7 = 5 on hand
            summary, rows = run()
            assert shop.web_stock(VARIANT_SKU) == 5
            still_open = {q.record_id for q in store.open_quarantine("stock-sync")}
            assert shop.square.variation_id_for_sku(VARIANT_SKU) not in still_open
            assert shop.square.variation_id_for_sku("POS-ONLY-1") in still_open
        finally:
            store.close()


def test_transient_webshop_faults_are_retried_to_success(shop: EmulatedShop) -> None:
    run()
    for product in CATALOGUE[:10]:
        for v in product.variants:
            if v.stock > 0:
                shop.sell_at_pos(v.sku, 1)
    control = shop.web.control
    control.set_faults(FaultConfig(rate_429=0.3, rate_500=0.2, seed=11))
    summary, _ = run()
    control.reset()
    for product in CATALOGUE[:10]:
        for v in product.variants:
            assert shop.web_stock(v.sku) == int(shop.pos_count(v.sku)), v.sku
    assert summary["quarantined"] == 0


@pytest.mark.woocommerce_only
def test_failed_batch_keeps_the_cursor_and_the_rerun_catches_up(shop: EmulatedShop) -> None:
    run()
    shop.sell_at_pos(SIMPLE_SKU, 1)
    control = shop.web.control
    control.set_faults(FaultConfig(rate_500=1.0, only_paths=["/wp-json/wc/v3/products/batch"]))
    state: State[Any] = sync_stock(return_state=True)
    assert state.is_failed()
    control.reset()
    summary, _ = run()
    assert summary["changed"] == 1
    assert shop.web_stock(SIMPLE_SKU) == int(shop.pos_count(SIMPLE_SKU))


# The largest count each webshop holds: WooCommerce keeps `_stock` through
# wc_stock_amount (PHP intval, int64); Shopify's inventorySetQuantities refuses more than
# 1,000,000,000 (INVALID_QUANTITY_TOO_HIGH); Magento's inventory_source_item.quantity is
# decimal(12,4), so 99,999,999 whole units.
HOLDS_2_147_483_648 = {"woocommerce": True, "shopify": False, "magento": False}


def test_an_oversized_count_is_quarantined_and_no_run_fails_twice(
    shop: EmulatedShop, db_url: str
) -> None:
    """Issue 12, defect 2: 2,147,483,648 overflowed the ledger's 32-bit column on
    PostgreSQL and 10^20 SQLite's 64-bit integer, after the webshop was written, so every
    rerun failed in the same place. Counts beyond what the webshop holds are quarantined
    with the field and the reason; the rest syncs; a rerun fails no more than the first."""
    run()
    int32_overflow, huge = SIMPLE_SKU, VARIANT_SKU
    other = next(
        p.variants[0].sku
        for p in CATALOGUE
        if p.simple and p.variants[0].stock > 3 and p.variants[0].sku != SIMPLE_SKU
    )
    shop.count_at_pos(int32_overflow, "2147483648")
    shop.count_at_pos(huge, str(10**20))
    shop.sell_at_pos(other, 1)
    holds = HOLDS_2_147_483_648[shop.web.system]
    for attempt in (1, 2):
        summary, rows = run()
        assert shop.web_stock(other) == int(shop.pos_count(other)), attempt
        reasons = {
            r["sku"]: (r["field"], r["reason"]) for r in rows if r["status"] == "quarantined"
        }
        assert reasons[huge][0] == "quantity", (attempt, reasons)
        assert "100000000000000000000" in reasons[huge][1]
        if holds:
            assert int32_overflow not in reasons
            assert shop.web_stock(int32_overflow) == 2_147_483_648
        else:
            assert reasons[int32_overflow][0] == "quantity", (attempt, reasons)
            assert shop.web_stock(int32_overflow) != 2_147_483_648
        assert summary["quarantined"] == (1 if holds else 2)
    store = Store.open(db_url)
    try:
        open_ids = {q.record_id for q in store.open_quarantine("stock-sync")}
        assert shop.square.variation_id_for_sku(huge) in open_ids
        if holds:
            key = store.links_by_variant(
                "square", [shop.square.variation_id_for_sku(int32_overflow)]
            )
            [link] = key.values()
            assert store.last_pushed(shop.web.system, [link.product_key]) == {
                link.product_key: 2_147_483_648
            }
    finally:
        store.close()
