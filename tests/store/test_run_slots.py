"""Run slots (one run per shop and flow) and the order claims that name their holder.

Every test runs on SQLite and PostgreSQL; racing threads and child processes each open
their own engine, as separate workers would.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from possync.store import OrderLine, Store
from possync.store.run_slots import (
    SlotBusy,
    SlotLost,
    SlotTimings,
    give_up_waiting_when,
    hold_slot,
)
from possync.store.tables import RunSlot

ROOT = Path(__file__).resolve().parents[2]
SHOP = "default"
FLOW = "stock-sync"
WOO = "woocommerce"
SHOPIFY = "shopify"
# Shopify order ids as the ledger keeps them: the numeric part of the order's GID.
ORDER = "5409125040004"
LINES = (OrderLine("DEMO-000001", 1, "k1", "CSTRXB2FXMKKSGA57ZRSBJA6", "19.95", line_id="1"),)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest) -> str:
    value: str = request.getfixturevalue(f"{request.param}_url")
    Store.open(value).close()
    return value


@pytest.fixture
def store(url: str) -> Iterator[Store]:
    opened = Store.open(url)
    try:
        yield opened
    finally:
        opened.close()


def run_id() -> str:
    """A Prefect flow run id."""
    return str(uuid.uuid4())


def quick(lease: float = 60, wait: float = 0) -> SlotTimings:
    return SlotTimings(lease=lease, wait=wait, poll=0.05)


# -- the slot -------------------------------------------------------------------------


def test_a_taken_slot_names_the_run_that_holds_it(store: Store) -> None:
    holding = run_id()
    with hold_slot(store, SHOP, FLOW, run_id=holding, timings=quick()) as held:
        current = store.slots.current(SHOP, FLOW)
        assert current is not None and current.holder == held.holder
        assert current.run_id == holding
        started = time.monotonic()
        with (
            pytest.raises(SlotBusy) as busy,
            hold_slot(store, SHOP, FLOW, run_id=run_id(), timings=quick(wait=0.3)),
        ):
            pytest.fail("two runs of one flow for one shop held the slot at once")
        assert time.monotonic() - started >= 0.3, "it gave up before its wait was over"
        assert str(busy.value).startswith(
            f"another stock-sync for shop default is running (run {holding}, on "
        )
        # Another flow, or another shop, has its own slot.
        with hold_slot(store, SHOP, "product-sync", timings=quick()):
            pass
        with hold_slot(store, "harbour-street", FLOW, timings=quick()):
            pass
    assert store.slots.current(SHOP, FLOW) is None, "released at the end of the run"


def test_a_waiting_run_starts_when_the_holder_ends(store: Store) -> None:
    order: list[str] = []
    first_in = threading.Event()

    def first() -> None:
        with hold_slot(store, SHOP, FLOW, timings=quick()):
            first_in.set()
            time.sleep(0.5)
            order.append("first ends")

    thread = threading.Thread(target=first)
    thread.start()
    assert first_in.wait(30)
    told: list[str | None] = []
    with hold_slot(
        store,
        SHOP,
        FLOW,
        timings=quick(wait=30),
        on_wait=lambda current: told.append(current.holder if current else None),
    ):
        order.append("second starts")
    thread.join(30)
    assert order == ["first ends", "second starts"]
    assert len(told) == 1 and told[0] is not None, "told once, with the holder"


def test_a_waiting_run_gives_up_at_once_when_its_starter_stops(store: Store) -> None:
    stopping = threading.Event()
    outcome: list[BaseException | None] = []

    def wait_long() -> None:
        try:
            with (
                give_up_waiting_when(stopping),
                hold_slot(store, SHOP, FLOW, timings=quick(wait=60)),
            ):
                outcome.append(None)
        except SlotBusy as busy:
            outcome.append(busy)

    with hold_slot(store, SHOP, FLOW, timings=quick()):
        waiter = threading.Thread(target=wait_long)
        waiter.start()
        time.sleep(0.3)
        assert waiter.is_alive() and not outcome, "it waits while the slot is taken"
        started = time.monotonic()
        stopping.set()
        waiter.join(10)
        assert time.monotonic() - started < 5, "Ctrl-C is not held up by the 60 s wait"
    assert len(outcome) == 1 and isinstance(outcome[0], SlotBusy)


def test_exactly_one_of_many_racers_takes_the_slot(url: str) -> None:
    stores = [Store.open(url) for _ in range(4)]
    barrier = threading.Barrier(len(stores))
    won: list[list[bool]] = [[] for _ in stores]
    errors: list[BaseException] = []

    def racer(i: int) -> None:
        try:
            for round_ in range(15):
                barrier.wait(30)
                holder = f"{i}-{round_}"
                got = stores[i].slots.try_acquire(SHOP, f"flow-{round_}", holder=holder, lease=60)
                won[i].append(got)
        except BaseException as exc:  # noqa: BLE001 - reported to the main thread below
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=racer, args=(i,)) for i in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    for opened in stores:
        opened.close()
    assert errors == []
    assert [sum(won[i][r] for i in range(len(stores))) for r in range(15)] == [1] * 15


def test_the_heartbeat_keeps_a_long_run_s_slot(store: Store) -> None:
    with hold_slot(store, SHOP, FLOW, timings=quick(lease=0.4)) as held:
        time.sleep(1.5)  # several leases long
        assert not store.slots.try_acquire(SHOP, FLOW, holder="intruder", lease=60)
        held.check()
    assert held.lost is None


def test_a_lapsed_slot_taken_by_another_run_fails_the_run_that_lost_it(store: Store) -> None:
    """A run that stalled past its lease (simulated by ageing the row) must not end as if
    it had run alone: it ends with SlotLost naming the run that took over."""
    other = run_id()
    with (
        pytest.raises(SlotLost, match=rf"taken by run {other}"),
        hold_slot(store, SHOP, FLOW, timings=quick(lease=0.4)) as held,
    ):
        with store.engine.begin() as conn:
            conn.execute(
                update(RunSlot)
                .where(RunSlot.holder == held.holder)
                .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
            )
        assert store.slots.try_acquire(SHOP, FLOW, holder="other", lease=60, run_id=other)
        time.sleep(0.5)  # the heartbeat finds the slot taken
        with pytest.raises(SlotLost):
            held.check()
    current = store.slots.current(SHOP, FLOW)
    assert current is not None and current.run_id == other, "the other run's slot stays"


_HOLDER = """
import sys, time
from possync.store import Store
from possync.store.run_slots import SlotTimings, hold_slot
store = Store.open(sys.argv[1])
timings = SlotTimings(lease=float(sys.argv[3]), wait=0, poll=0.05)
with hold_slot(store, "default", "stock-sync", run_id=sys.argv[2], timings=timings):
    print("held", flush=True)
    time.sleep(600)
"""


def test_a_slot_left_by_a_killed_holder_frees_itself_within_the_lease(url: str) -> None:
    lease = 2.0
    holding = run_id()
    child = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, url, holding, str(lease)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    store = Store.open(url)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "held"
        time.sleep(lease * 1.5)  # alive: its heartbeat keeps the slot past one lease
        with (
            pytest.raises(SlotBusy, match=f"run {holding}"),
            hold_slot(store, SHOP, FLOW, timings=quick(wait=0.2)),
        ):
            pass
        child.kill()  # SIGKILL: no release, no last heartbeat
        child.wait(10)
        killed = time.monotonic()
        with hold_slot(store, SHOP, FLOW, timings=quick(wait=30)):
            waited = time.monotonic() - killed
        assert waited <= lease + 1.0, f"the dead holder blocked for {waited:.1f} s"
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
        store.close()


def test_timings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSSYNC_RUN_SLOT_LEASE_SECONDS", "90")
    monkeypatch.setenv("POSSYNC_RUN_SLOT_WAIT_SECONDS", "0")
    timings = SlotTimings.from_env()
    assert (timings.lease, timings.wait) == (90.0, 0.0)
    monkeypatch.setenv("POSSYNC_RUN_SLOT_WAIT_SECONDS", "five minutes")
    with pytest.raises(ValueError, match="POSSYNC_RUN_SLOT_WAIT_SECONDS='five minutes'"):
        SlotTimings.from_env()
    with pytest.raises(ValueError, match="lease must be positive"):
        SlotTimings(lease=0)


# -- order claims ---------------------------------------------------------------------


def _reserve(store: Store, order_id: str = ORDER) -> None:
    assert store.save_order(
        SHOPIFY,
        order_id,
        status="paid",
        state="reserved",
        lines=LINES,
        modified_at=datetime(2025, 11, 23, 13, 5, tzinfo=UTC),
        idempotency_key=str(uuid.uuid4()),
    )


def test_a_live_run_s_claim_is_never_taken_over(store: Store) -> None:
    """The `transferring -> transferring` re-claim of issue 12: a second run may not take
    an order another live run is transferring, nor finish it, nor count it."""
    _reserve(store)
    with (
        hold_slot(store, SHOP, "transfer-orders", timings=quick()) as first,
        hold_slot(store, "other-shop", "transfer-orders", timings=quick()) as second,
    ):
        assert store.claim_order(SHOPIFY, ORDER, holder=first.holder)
        assert not store.claim_order(SHOPIFY, ORDER, holder=second.holder)
        assert store.claim_order(SHOPIFY, ORDER, holder=first.holder), "a retry of its own"
        assert not store.transition_order(
            SHOPIFY,
            ORDER,
            from_states={"transferring"},
            to_state="transferred",
            claimed_by=second.holder,
        )
        assert store.orders(SHOPIFY, [ORDER])[ORDER].claimed_by == first.holder
        assert store.transition_order(
            SHOPIFY,
            ORDER,
            from_states={"transferring"},
            to_state="transferred",
            pos_document="ZqTlHvvGLQ9Knce8m8QPOrdaxyDZY",
            claimed_by=first.holder,
        )
        assert not store.claim_order(SHOPIFY, ORDER, holder=first.holder), "done is done"
    assert store.orders(SHOPIFY, [ORDER])[ORDER].state == "transferred"


def test_a_claim_whose_run_ended_or_died_is_taken_over(store: Store) -> None:
    orders = [str(5409125040004 + i) for i in range(3)]
    for order_id in orders:
        _reserve(store, order_id)
    # 1. The claiming run ended (its slot released) with the write unconfirmed.
    with hold_slot(store, SHOP, "transfer-orders", timings=quick()) as ended:
        assert store.claim_order(SHOPIFY, orders[0], holder=ended.holder)
    # 2. The claiming run was killed: its slot lapses and is not renewed.
    assert store.slots.try_acquire(SHOP, "transfer-orders", holder="killed", lease=0.2)
    assert store.claim_order(SHOPIFY, orders[1], holder="killed")
    time.sleep(0.3)
    # 3. A claim made without a slot (or before claims named their run).
    assert store.claim_order(SHOPIFY, orders[2], holder=None)
    with hold_slot(store, SHOP, "transfer-orders", timings=quick()) as rerun:
        for order_id in orders:
            assert store.claim_order(SHOPIFY, order_id, holder=rerun.holder), order_id
            assert store.orders(SHOPIFY, [order_id])[order_id].claimed_by == rerun.holder
    assert store.orders(WOO, orders) == {}, "another webshop's orders are other rows"


def test_a_stop_elsewhere_does_not_cut_another_run_s_wait(store: Store) -> None:
    """Giving up is scoped to the runs its starter began: a receiver stopped in this process
    must not make every later run give up its wait."""
    stopped_elsewhere = threading.Event()
    stopped_elsewhere.set()
    with give_up_waiting_when(stopped_elsewhere):
        pass
    with hold_slot(store, SHOP, FLOW, timings=quick()):
        started = time.monotonic()
        with (
            pytest.raises(SlotBusy),
            hold_slot(store, SHOP, FLOW, timings=quick(wait=0.3)),
        ):
            pytest.fail("two runs held the slot at once")
        assert time.monotonic() - started >= 0.3, "it gave up before its wait was over"
