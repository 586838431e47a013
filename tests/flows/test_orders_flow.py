"""Web orders to the POS exactly once; refunds and cancellations return stock once.
Real Prefect runs, real HTTP to both emulators, the ledger on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import httpx
import pytest
from prefect.settings import PREFECT_API_URL
from pydantic import SecretStr

from blocks import SyncSettings, XeroCredentials
from emulators.control import FaultConfig
from emulators.demo import demo_catalogue
from emulators.square_seed import SeedLine, SeedSale
from emulators.webshops import Pricing, percent_of
from emulators.xero import DEMO_TOKEN, PREFIX, create_xero_app
from emulators.xero_state import DEMO_TENANT_ID, XeroState
from flows.orders import transfer_orders
from flows.refunds import process_refunds
from flows.stock import sync_stock
from flows.turnover import send_daily_turnover
from possync.domain.money import from_minor
from possync.serving import serve_in_thread
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
        (shop.pos_reference(order_id), "COMPLETED")
    ]
    # the full reference is kept beside it, however long the webshop's id
    assert sales[0]["metadata"] == {"possync_reference": f"{shop.web.system} order {order_id}"}
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
    assert [s["reference_id"] for s in shop.pos_orders()] == [shop.pos_reference(new)]
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
    assert sales == Counter({shop.pos_reference(o): 1 for o in orders})
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
    assert pos_sales_by_reference(shop) == Counter({shop.pos_reference(o): 1 for o in orders})
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
    assert pos_sales_by_reference(shop) == Counter({shop.pos_reference(order_id): 1})
    assert shop.pos_count(SIMPLE) == before - 2


def test_a_resumed_order_gets_its_own_sale_and_its_refund_hits_its_own_payment(
    shop: EmulatedShop, db_url: str
) -> None:
    """Two orders whose ids share a long prefix (Shopify's are 13+ digits): the first one's
    payment fails after its POS order was made, the second is booked, then the first is
    resumed. It must find its own sale, not the other one, and its refund must go to its
    own payment and give back stock it really drew."""
    first_sku, second_sku = SKUS[0], SKUS[1]
    before = {sku: shop.pos_count(sku) for sku in (first_sku, second_sku)}
    first = shop.web_order({first_sku: 2})
    # The register takes the order but refuses every payment: retries run out, the run
    # fails, the order stays 'transferring' with an unpaid sale in the POS.
    shop.square_control.set_faults(FaultConfig(rate_500=1.0, only_paths=["/v2/payments"]))
    assert transfer_orders(return_state=True).is_failed()
    shop.square_control.set_faults(FaultConfig())
    second = shop.web_order({second_sku: 1})
    # One item of the first order is refunded: it is now the later-changed order, so the
    # rerun books the second one before it resumes the first.
    shop.refund(first, {first_sku: 1}, amount="1.00")
    assert transfer_orders()["transferred"] == 2
    store = Store.open(db_url)
    try:
        records = store.orders(shop.web.system, [first, second])
    finally:
        store.close()
    sales = shop.square.sales
    assert records[first].pos_document != records[second].pos_document
    for order_id, sku, quantity in ((first, first_sku, 2), (second, second_sku, 1)):
        record = records[order_id]
        assert record.state == "transferred", order_id
        sale = sales.orders[str(record.pos_document)]
        assert sale.state == "COMPLETED"
        assert [(line.catalog_object_id, line.quantity) for line in sale.lines] == [
            (shop.square.variation_id_for_sku(sku), Decimal(quantity))
        ], order_id
        assert sales.payments[str(record.pos_payment)].data["order_id"] == sale.id
    assert len(sales.orders) == 2 and len(sales.payments) == 2
    assert shop.pos_count(first_sku) == before[first_sku] - 2
    assert shop.pos_count(second_sku) == before[second_sku] - 1
    assert process_refunds()["refunded"] == 1
    assert [r.data["payment_id"] for r in sales.refunds.values()] == [records[first].pos_payment]
    assert sales.payments[str(records[second].pos_payment)].refunded == 0
    assert shop.pos_count(first_sku) == before[first_sku] - 1
    assert shop.pos_count(second_sku) == before[second_sku] - 1


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


PRICED = [v.sku for p in CATALOGUE if p.simple for v in p.variants if v.stock >= 8][:3]


def web_pricing(include: bool) -> Pricing:
    """A 10 % discount on every line, 25 % and 12 % VAT and a zero-rated line, shipping at
    25 %: what a Danish or Swedish webshop's order really carries."""
    return Pricing(
        vat={PRICED[0]: Decimal(25), PRICED[1]: Decimal(12)},
        discount_percent=Decimal(10),
        prices_include_tax=include,
        shipping=Decimal("39.20"),
        shipping_vat=Decimal(25),
    )


@pytest.mark.parametrize("include", [False, True], ids=["vat-added", "vat-included"])
def test_a_discounted_order_with_two_vat_rates_is_sold_at_the_price_paid(
    shop: EmulatedShop, include: bool
) -> None:
    order_id = shop.web_order(
        {PRICED[0]: 2, PRICED[1]: 1, PRICED[2]: 3}, pricing=web_pricing(include)
    )
    charged = shop.web_charged(order_id)
    assert charged.tax_by_rate.keys() == {Decimal(25), Decimal(12)}  # the order is what we mean
    assert transfer_orders()["transferred"] == 1
    [found] = shop.pos_orders()
    sale: dict[str, Any] = dict(found)
    # The customer's money, not the register's catalogue prices, and the VAT as charged.
    assert from_minor(sale["total_money"]["amount"], "DKK") == charged.total
    assert from_minor(sale["total_tax_money"]["amount"], "DKK") == charged.tax
    per_rate: dict[Decimal, Decimal] = {}
    for tax in sale.get("taxes") or []:
        rate = Decimal(tax["percentage"]).normalize()
        amount = from_minor(tax["applied_money"]["amount"], "DKK")
        per_rate[rate] = per_rate.get(rate, Decimal(0)) + amount
    assert per_rate == charged.tax_by_rate
    paid = sum(p.total for p in shop.square.sales.payments.values())
    assert from_minor(paid, "DKK") == charged.total


@pytest.fixture
def xero(shop: EmulatedShop) -> Iterator[XeroState]:
    state = XeroState()
    app = create_xero_app(state, access_token=DEMO_TOKEN, tenant_id=DEMO_TENANT_ID)
    server = serve_in_thread(app)
    XeroCredentials(
        base_url=f"{server.url}{PREFIX}",
        access_token=SecretStr(DEMO_TOKEN),
        tenant_id=DEMO_TENANT_ID,
    ).save("possync-xero", overwrite=True)
    try:
        yield state
    finally:
        server.stop()


@pytest.mark.parametrize("web_sales", ["exclude", "include"])
def test_the_days_voucher_leaves_web_sales_to_the_webshop_or_takes_them_at_the_price_paid(
    shop: EmulatedShop, xero: XeroState, web_sales: Literal["exclude", "include"]
) -> None:
    SyncSettings(
        webshop=shop.web.system,
        shop="test-shop",
        web_sales=web_sales,
        revenue_accounts={"25": "200", "12": "260", "0": "260"},
    ).save("possync-settings", overwrite=True)
    lines = {PRICED[0]: 2, PRICED[1]: 1, PRICED[2]: 3}
    order_id = shop.web_order(lines, pricing=web_pricing(False))
    charged = shop.web_charged(order_id)
    assert transfer_orders()["transferred"] == 1
    [sale] = shop.pos_orders()
    closed = datetime.fromisoformat(str(sale["closed_at"]).replace("Z", "+00:00"))
    day = closed.astimezone(ZoneInfo("Europe/Copenhagen")).date()
    # and a sale at the register the same day: 100.00 + 25.00 VAT by card
    shop.square.seed_sales([SeedSale(closed_at=closed, lines=(SeedLine(price=12500),))])
    # the customer gets 10.00 back: a Square refund of the web order's payment
    shop.refund(order_id, {}, amount="10.00", restock=False)
    assert process_refunds()["refunded"] == 1
    [result] = send_daily_turnover(day=day)
    assert result["outcome"] == "posted"
    [journal] = xero.journals()
    booked: dict[str, Decimal] = {}
    for line in journal.lines:
        what = (line.description or "").removesuffix(f" {day.isoformat()}")
        booked[what] = booked.get(what, Decimal(0)) + line.amount
    if web_sales == "exclude":  # the webshop's revenue reaches the books from the webshop
        assert booked == {
            "card": Decimal("125.00"),
            "sales 25 % VAT": Decimal("-100.00"),
            "VAT": Decimal("-25.00"),
        }
        return
    prices = {v.sku: v.price for p in CATALOGUE for v in p.variants}

    def net(sku: str) -> Decimal:  # what the line cost without VAT: the list price less 10 %
        listed = prices[sku] * lines[sku]
        return listed - percent_of(listed, Decimal(10), 2)

    # the web order's payment as the customer paid it, less what was paid back
    assert booked.pop("other") == charged.total - Decimal("10.00")
    assert booked.pop("card") == Decimal("125.00")
    refund = {  # the 10.00 taken back at the sale's rates, net and VAT (spread by gross)
        key: booked[key] - sold
        for key, sold in {
            "sales 25 % VAT": -(Decimal("100.00") + net(PRICED[0]) + Decimal("39.20")),
            "sales 12 % VAT": -net(PRICED[1]),
            "sales 0 % VAT": -net(PRICED[2]),
            "VAT": -(Decimal("25.00") + charged.tax),
        }.items()
    }
    assert sum(refund.values()) == Decimal("10.00")
    assert all(Decimal(0) <= back < Decimal("10.00") for back in refund.values())
    assert charged.tax == sum(charged.tax_by_rate.values())
