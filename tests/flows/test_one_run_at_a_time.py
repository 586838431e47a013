"""Two runs of one flow never interleave: each flow run holds the (shop, flow) run slot for
its whole run, also when it is started outside a deployment (a flow called directly, a CLI
command, a second worker). Real Prefect runs, real HTTP to the emulators, the store on
SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any, cast

import pytest
from prefect import Flow
from prefect.client.schemas.objects import State
from prefect.exceptions import CancelledRun

from blocks import SyncSettings
from emulators.control import FaultConfig
from emulators.demo import demo_catalogue
from flows.orders import transfer_orders
from flows.products import sync_products
from flows.refunds import process_refunds
from flows.stock import sync_stock
from flows.turnover import send_daily_turnover
from possync.store import Store
from possync.store.run_slots import hold_slot
from tests import catalog_admin as admin
from tests.shop import EmulatedShop, running_shop

CATALOGUE = demo_catalogue(40, seed=3)
SIMPLE_SKU = next(p.variants[0].sku for p in CATALOGUE if p.simple and p.variants[0].stock > 3)
ORDERS = 300
WOO_PRODUCTS_BATCH = "POST /wp-json/wc/v3/products/batch"


@pytest.fixture
def db_url(webshop_and_db: tuple[str, str]) -> str:
    return webshop_and_db[1]


@pytest.fixture
def shop(db_url: str, webshop: str) -> Iterator[EmulatedShop]:
    yield from running_shop(CATALOGUE, webshop=webshop)


def in_thread(run: Callable[[], State[Any]]) -> tuple[threading.Thread, list[State[Any]]]:
    """Start a flow run in its own thread, as a second process or worker would."""
    ended: list[State[Any]] = []
    thread = threading.Thread(target=lambda: ended.append(run()), daemon=True)
    thread.start()
    return thread, ended


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


@pytest.mark.woocommerce_only
def test_two_stock_syncs_at_once_never_write_the_older_count_last(shop: EmulatedShop) -> None:
    """The oversell window of issue 12: run A reads the register, a sale follows, run B
    reads the newer count and writes it, then A's slower write lands with the older count.
    The webshop must end at the register's count, and B must not start before A ends."""
    sync_stock()  # links the catalogue
    shop.sell_at_pos(SIMPLE_SKU, 1)  # run A has a change to write
    writes = shop.web_writes()
    shop.web.control.set_faults(FaultConfig(latency_seconds=6, only_paths=[WOO_PRODUCTS_BATCH]))
    first, first_state = in_thread(lambda: sync_stock(return_state=True))
    wait_for(lambda: shop.web_writes() > writes, "run A's write to reach the webshop")
    # A's write is in flight (6 s); the next writes go straight through.
    shop.web.control.set_faults(FaultConfig())
    shop.sell_at_pos(SIMPLE_SKU, 1)  # the newer count, after A read the register
    second, second_state = in_thread(lambda: sync_stock(return_state=True))
    first.join(120)
    second.join(120)
    assert not first.is_alive() and not second.is_alive()
    assert [s.type.value for s in first_state + second_state] == ["COMPLETED", "COMPLETED"]
    assert shop.web_stock(SIMPLE_SKU) == int(shop.pos_count(SIMPLE_SKU))
    summaries = [first_state[0].result(), second_state[0].result()]
    assert [s["changed"] for s in summaries] == [1, 1], summaries


@pytest.mark.woocommerce_only
def test_two_transfer_runs_over_300_orders_report_300_transferred(
    shop: EmulatedShop, db_url: str
) -> None:
    sync_stock()  # links the catalogue
    skus = [v.sku for p in CATALOGUE for v in p.variants if v.stock >= 10][:30]
    orders = [shop.web_order({skus[i % len(skus)]: 1}) for i in range(ORDERS)]
    start = threading.Barrier(2)

    def run() -> State[Any]:
        start.wait(30)
        state: State[Any] = transfer_orders(return_state=True)
        return state

    runs = [in_thread(run) for _ in range(2)]
    for thread, _ in runs:
        thread.join(600)
    states = [ended[0] for _, ended in runs]
    assert [s.type.value for s in states] == ["COMPLETED", "COMPLETED"]
    reported = [s.result().get("transferred", 0) for s in states]
    assert sum(reported) == ORDERS, reported
    sales = Counter(str(o.get("reference_id")) for o in shop.pos_orders())
    assert sales == Counter({f"{shop.web.system} order {o}": 1 for o in orders})
    assert shop.pos_payments() == ORDERS
    store = Store.open(db_url)
    try:
        assert {r.state for r in store.orders(shop.web.system, orders).values()} == {"transferred"}
    finally:
        store.close()


@pytest.mark.woocommerce_only
def test_three_product_syncs_at_once_make_one_set_of_writes(shop: EmulatedShop) -> None:
    """Three runs see the same webshop edits of owned fields: the master's values are
    written back once, not three times."""
    SyncSettings(
        setup="pos_master", product_fields=["name", "price", "sku", "barcode", "state"]
    ).save("possync-settings", overwrite=True)
    sync_products()  # links both catalogues
    edited = [p.variants[0].sku for p in CATALOGUE if p.simple][:5]
    for sku in edited:
        admin.woo_update(shop, admin.woo_by_sku(shop, sku), {"regular_price": "1.00"})
    writes = shop.web_writes()
    # A slow remote webshop: each write takes seconds, as a real shop's batch can, so runs
    # that start together (a second or two apart) are running together.
    shop.web.control.set_faults(FaultConfig(latency_seconds=8, only_paths=[WOO_PRODUCTS_BATCH]))
    start = threading.Barrier(3)

    def run() -> State[Any]:
        start.wait(30)
        state: State[Any] = sync_products(return_state=True)
        return state

    runs = [in_thread(run) for _ in range(3)]
    for thread, _ in runs:
        thread.join(300)
    shop.web.control.set_faults(FaultConfig())
    states = [ended[0] for _, ended in runs]
    assert [s.type.value for s in states] == ["COMPLETED"] * 3
    summaries = [s.result() for s in states]
    assert sum(s["overwritten_on_other_side"] for s in summaries) == len(edited), summaries
    assert sum(s["updated"] for s in summaries) == len(edited), summaries
    calls = sum(s["write_calls"] for s in summaries)
    assert shop.web_writes() - writes == calls
    assert sorted(s["write_calls"] for s in summaries)[:2] == [0, 0], summaries
    for sku in edited:
        assert admin.woo_by_sku(shop, sku)["regular_price"] != "1.00"


@pytest.mark.woocommerce_only
@pytest.mark.parametrize(
    ("flow_fn", "name"),
    [
        (sync_stock, "stock-sync"),
        (sync_products, "product-sync"),
        (transfer_orders, "transfer-orders"),
        (process_refunds, "process-refunds"),
        (send_daily_turnover, "daily-turnover"),
    ],
)
def test_a_run_that_finds_its_slot_taken_waits_then_ends_cancelled_naming_the_holder(
    shop: EmulatedShop,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    flow_fn: Flow[..., Any],
    name: str,
) -> None:
    """A run started outside any deployment (here, called directly) while another process
    holds the slot: it waits, then ends Cancelled saying who runs, having done nothing."""
    monkeypatch.setenv("POSSYNC_RUN_SLOT_WAIT_SECONDS", "1")
    holding = str(uuid.uuid4())
    store = Store.open(db_url)
    try:
        with hold_slot(store, "default", name, run_id=holding):
            started = time.monotonic()
            state = cast(State[Any], flow_fn(return_state=True))
            assert time.monotonic() - started >= 1, "it did not wait"
            with pytest.raises(CancelledRun, match=f"another {name} for shop default"):
                flow_fn()
    finally:
        store.close()
    assert state.is_cancelled()
    assert (state.message or "").startswith(
        f"another {name} for shop default is running (run {holding}, on "
    )
    assert shop.square_control.count() == 0 and shop.web.control.count() == 0


@pytest.mark.woocommerce_only
def test_possync_sync_says_which_run_holds_the_slot_and_exits_75(
    shop: EmulatedShop, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from possync.cli import EXIT_SLOT_TAKEN, app

    monkeypatch.setenv("POSSYNC_RUN_SLOT_WAIT_SECONDS", "0")
    holding = str(uuid.uuid4())
    store = Store.open(db_url)
    try:
        with hold_slot(store, "default", "stock-sync", run_id=holding):
            busy = CliRunner().invoke(app, ["sync", "stock"])
        done = CliRunner().invoke(app, ["sync", "stock"])
    finally:
        store.close()
    assert busy.exit_code == EXIT_SLOT_TAKEN == 75, busy.output
    assert f"another stock-sync for shop default is running (run {holding}" in busy.output
    assert "Traceback" not in busy.output
    assert done.exit_code == 0, done.output
    assert "'unchanged'" in done.output
