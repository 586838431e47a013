"""Web orders to the POS exactly once; refunds and cancellations return stock once.
Real Prefect runs, real HTTP to both emulators, the ledger on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from prefect.settings import PREFECT_API_URL

from flows.orders import transfer_orders
from flows.refunds import process_refunds
from flows.stock import sync_stock
from possync.emulators.control import FaultConfig
from possync.emulators.demo import demo_catalogue
from possync.store import Store
from tests.shop import CK, CS, EmulatedShop, running_shop

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = demo_catalogue(40, seed=3)
SKUS = [v.sku for p in CATALOGUE for v in p.variants if v.stock >= 8]
SIMPLE = next(p.variants[0].sku for p in CATALOGUE if p.simple and p.variants[0].stock >= 8)


@pytest.fixture
def db_url(webshop_and_db: tuple[str, str]) -> str:
    """Overrides the conftest's: this module runs on every webshop (WooCommerce on both
    databases)."""
    return webshop_and_db[1]


@pytest.fixture
def shop(db_url: str, webshop: str) -> Iterator[EmulatedShop]:
    for running in running_shop(CATALOGUE, webshop=webshop):
        sync_stock()  # links the catalogue, as in a running shop
        yield running


def pos_sales_by_reference(shop: EmulatedShop) -> Counter[str]:
    return Counter(str(o.get("reference_id")) for o in shop.pos_orders())


def test_paid_order_becomes_one_pos_sale_and_draws_stock(shop: EmulatedShop) -> None:
    before = shop.pos_count(SIMPLE)
    order_id = shop.web_order({SIMPLE: 2})
    summary = transfer_orders()
    assert summary["transferred"] == 1
    assert shop.pos_count(SIMPLE) == before - 2
    sales = shop.pos_orders()
    assert [(s["reference_id"], s["state"]) for s in sales] == [
        (f"{shop.web.system} order {order_id}", "COMPLETED")
    ]
    again = transfer_orders()
    assert again.get("transferred", 0) == 0
    assert len(shop.pos_orders()) == 1 and shop.pos_count(SIMPLE) == before - 2


@pytest.mark.woocommerce_only
def test_first_run_leaves_old_order_history_alone(shop: EmulatedShop) -> None:
    real_clock = shop.woo.clock
    shop.woo.clock = lambda: real_clock() - timedelta(days=3)
    try:
        old = shop.web_order({SIMPLE: 1})  # paid three days ago, long before possync
    finally:
        shop.woo.clock = real_clock
    new = shop.web_order({SIMPLE: 1})
    assert transfer_orders()["transferred"] == 1
    assert [s["reference_id"] for s in shop.pos_orders()] == [f"{shop.web.system} order {new}"]
    assert old != new


def test_unpaid_order_waits_and_transfers_once_paid(shop: EmulatedShop) -> None:
    order_id = shop.web_order({SIMPLE: 1}, status="pending")
    assert transfer_orders().get("transferred", 0) == 0
    shop.set_order_status(order_id, "processing")
    assert transfer_orders()["transferred"] == 1
    assert len(shop.pos_orders()) == 1


@pytest.mark.woocommerce_only
def test_unmatched_line_quarantines_only_that_order(shop: EmulatedShop, db_url: str) -> None:
    good = shop.web_order({SIMPLE: 1})
    store = Store.open(db_url)
    try:
        # The webshop sells a product the POS has never heard of.
        woo = httpx.Client(base_url=f"{shop.woo_server.url}/wp-json/wc/v3", auth=(CK, CS))
        made = woo.post(
            "/products", json={"name": "Web only", "sku": "WEB-ONLY", "regular_price": "5.00"}
        )
        made.raise_for_status()
        bad = woo.post(
            "/orders",
            json={
                "status": "processing",
                "line_items": [{"product_id": made.json()["id"], "quantity": 1}],
            },
        ).json()["id"]
        summary = transfer_orders()
        assert summary["transferred"] == 1 and summary["quarantined"] == 1
        assert store.orders(shop.web.system, [str(bad)])[str(bad)].state == "quarantined"
        assert "WEB-ONLY" in (store.orders(shop.web.system, [str(bad)])[str(bad)].last_error or "")
        assert store.orders(shop.web.system, [good])[good].state == "transferred"
    finally:
        store.close()


def test_faults_and_lost_responses_then_rerun_book_every_order_once(
    shop: EmulatedShop, db_url: str
) -> None:
    orders = {shop.web_order({sku: 1}): sku for sku in SKUS[:12]}
    before = {sku: shop.pos_count(sku) for sku in orders.values()}
    shop.square_control.set_faults(
        FaultConfig(
            rate_429=0.15,
            rate_500=0.15,
            rate_drop_after_commit=0.2,
            stall_seconds=0.5,
            only_paths=["/v2/orders", "/v2/payments"],
            seed=5,
        )
    )
    try:
        transfer_orders(return_state=True)  # may fail part-way; that is the point
    finally:
        shop.square_control.set_faults(FaultConfig())
    transfer_orders()
    sales = pos_sales_by_reference(shop)
    assert sales == Counter({f"{shop.web.system} order {o}": 1 for o in orders})
    assert all(s["state"] == "COMPLETED" for s in shop.pos_orders())
    for sku in orders.values():
        assert shop.pos_count(sku) == before[sku] - 1, sku
    store = Store.open(db_url)
    try:
        records = store.orders(shop.web.system, list(orders))
        assert {r.state for r in records.values()} == {"transferred"}
        assert store.reserved_quantities(shop.web.system) == {}
    finally:
        store.close()
    assert shop.square_control.injected["drop_after_commit"] > 0


def test_killed_run_then_rerun_loses_nothing_and_doubles_nothing(
    shop: EmulatedShop, db_url: str
) -> None:
    orders = {shop.web_order({sku: 1}): sku for sku in SKUS[:10]}
    before = {sku: shop.pos_count(sku) for sku in orders.values()}
    shop.square_control.set_faults(FaultConfig(latency_seconds=0.25))  # a slow register
    env = {
        **os.environ,
        "PREFECT_API_URL": str(PREFECT_API_URL.value()),
        "POSSYNC_DATABASE_URL": db_url,
        # The killed run's slot lapses this long after its last heartbeat; the rerun
        # waits for that, then takes the slot (and the killed run's claims) over.
        "POSSYNC_RUN_SLOT_LEASE_SECONDS": "4",
    }
    child = subprocess.Popen(
        [sys.executable, "-c", "from flows.orders import transfer_orders; transfer_orders()"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 90
        while shop.pos_payments() < 3 and time.monotonic() < deadline:
            assert child.poll() is None, "the run finished before it could be killed"
            time.sleep(0.05)
        assert shop.pos_payments() >= 3
    finally:
        child.kill()  # SIGKILL: no cleanup, no commit
        child.wait(10)
    shop.square_control.set_faults(FaultConfig())
    booked = shop.pos_payments()
    assert booked < len(orders), "the kill came too late to test anything"
    transfer_orders()
    assert pos_sales_by_reference(shop) == Counter(
        {f"{shop.web.system} order {o}": 1 for o in orders}
    )
    for sku in orders.values():
        assert shop.pos_count(sku) == before[sku] - 1, sku
    store = Store.open(db_url)
    try:
        assert {r.state for r in store.orders(shop.web.system, list(orders)).values()} == {
            "transferred"
        }
    finally:
        store.close()


def test_retry_after_the_pos_forgot_the_key_finds_the_sale_instead_of_booking_again(
    shop: EmulatedShop, db_url: str
) -> None:
    before = shop.pos_count(SIMPLE)
    order_id = shop.web_order({SIMPLE: 2})
    # The payment is booked but no answer ever comes back, and the register stays
    # unreachable for the look-up the task retries make: the run fails mid-transfer.
    shop.square_control.set_faults(
        FaultConfig(rate_drop_after_commit=1.0, only_paths=["/v2/payments", "/v2/orders/search"])
    )
    assert transfer_orders(return_state=True).is_failed()
    shop.square_control.set_faults(FaultConfig())
    store = Store.open(db_url)
    try:
        assert store.orders(shop.web.system, [order_id])[order_id].state == "transferring"
        shop.square._idempotency.clear()  # days later: Square no longer knows the keys
        assert transfer_orders()["transferred"] == 1
        assert store.orders(shop.web.system, [order_id])[order_id].state == "transferred"
    finally:
        store.close()
    assert pos_sales_by_reference(shop) == Counter({f"{shop.web.system} order {order_id}": 1})
    assert shop.pos_count(SIMPLE) == before - 2


def test_partial_refund_returns_exactly_the_refunded_quantity(shop: EmulatedShop) -> None:
    order_id = shop.web_order({SIMPLE: 3})
    transfer_orders()
    after_sale = shop.pos_count(SIMPLE)
    shop.refund(order_id, {SIMPLE: 1}, amount="10.00")
    summary = process_refunds()
    assert summary["refunded"] == 1
    assert shop.pos_count(SIMPLE) == after_sale + 1
    assert process_refunds().get("refunded", 0) == 0  # rerun: nothing twice
    assert shop.pos_count(SIMPLE) == after_sale + 1


def test_money_only_refund_moves_no_stock(shop: EmulatedShop) -> None:
    order_id = shop.web_order({SIMPLE: 2})
    transfer_orders()
    after_sale = shop.pos_count(SIMPLE)
    shop.refund(order_id, {}, amount="3.00", restock=False)
    assert process_refunds()["refunded"] == 1
    assert shop.pos_count(SIMPLE) == after_sale


def test_cancelled_transferred_order_returns_stock_once(shop: EmulatedShop) -> None:
    before = shop.pos_count(SIMPLE)
    order_id = shop.web_order({SIMPLE: 2})
    transfer_orders()
    shop.set_order_status(order_id, "cancelled")
    summary = process_refunds()
    # Magento cannot cancel an invoiced order: the admin's way is a full credit memo with
    # the items back in stock, which the flow books as a refund.
    assert summary.get("returned", 0) + summary.get("refunded", 0) == 1
    assert shop.pos_count(SIMPLE) == before
    process_refunds()
    assert shop.pos_count(SIMPLE) == before


def test_webshop_never_shows_more_than_pos_minus_reservations(
    shop: EmulatedShop, db_url: str
) -> None:
    sku = SIMPLE
    shop.sell_at_pos(sku, 1)
    shop.square_control.set_faults(FaultConfig(rate_500=1.0, only_paths=["/v2/orders"]))
    shop.web_order({sku: 2})
    transfer_orders(return_state=True)  # the POS is down: the order stays reserved
    shop.sell_at_pos(sku, 1)
    sync_stock()
    store = Store.open(db_url)
    try:
        reserved = sum(store.reserved_quantities(shop.web.system).values())
        assert reserved == 2
        assert shop.web_stock(sku) == int(shop.pos_count(sku)) - reserved
        shop.square_control.set_faults(FaultConfig())
        transfer_orders()
        sync_stock()
        assert store.reserved_quantities(shop.web.system) == {}
        assert shop.web_stock(sku) == int(shop.pos_count(sku))
    finally:
        store.close()
