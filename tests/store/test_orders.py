"""The order ledger, order events and webhook deliveries: the store's exactly-once gates.

Every test runs on SQLite and PostgreSQL. The race tests give each thread its own engine
(as separate worker processes would have) and line the threads up on a barrier before
every attempt, so the compare-and-set really is contended.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import TypeVar, cast

import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError, StatementError

from possync.store import (
    ORDER_STATES,
    OrderEvent,
    OrderLine,
    OrderRecord,
    Store,
    make_engine,
)
from possync.store.tables import Cursor, OrderLedger, WebhookDelivery

WOO = "woocommerce"
OTHER_SHOP = "shopify"
MODIFIED = datetime(2025, 11, 23, 14, 5, tzinfo=timezone(timedelta(hours=1)))
LINES = (
    OrderLine("SKU-1", 2, "k1", "sq-var-1", "19.950", name="Mug", line_id="11"),
    OrderLine(None, 1, None, None, "5", name="Gift wrap", line_id="12"),
)

_T = TypeVar("_T")


def _pause() -> None:
    """Let the clock move, so 'later' timestamps are strictly later."""
    time.sleep(0.002)


def _save(
    store: Store,
    order_id: str,
    state: str = "seen",
    *,
    lines: tuple[OrderLine, ...] = LINES,
    key: str | None = None,
    status: str = "processing",
    expect: set[str | None] | None = None,
    shop: str = WOO,
) -> bool:
    return store.save_order(
        shop,
        order_id,
        status=status,
        state=state,
        lines=lines,
        modified_at=MODIFIED,
        idempotency_key=key or f"{shop}-{order_id}",
        expect_states=expect,
    )


def _order(store: Store, order_id: str, shop: str = WOO) -> OrderRecord:
    return store.orders(shop, [order_id])[order_id]


# -- save_order --------------------------------------------------------------------------


def test_save_order_inserts_and_reads_back(store: Store) -> None:
    assert _save(store, "1001", "reserved")
    _save(store, "1001", "seen", shop=OTHER_SHOP, lines=())

    found = store.orders(WOO, ["1001", "404", "1001"])
    assert list(found) == ["1001"]
    order = found["1001"]
    assert order == OrderRecord(
        shop=WOO,
        order_id="1001",
        status="processing",
        state="reserved",
        lines=LINES,
        idempotency_key="woocommerce-1001",
        pos_document=None,
        pos_payment=None,
        modified_at=MODIFIED,
        created_at=order.created_at,
        updated_at=order.created_at,
        transferred_at=None,
        last_error=None,
        attempts=0,
    )
    assert order.lines[0].price == "19.950", "the price text is kept as given"
    assert order.modified_at.tzinfo is UTC
    assert (order.modified_at.hour, order.modified_at.minute) == (13, 5)
    assert order.created_at.tzinfo is UTC
    assert _order(store, "1001", OTHER_SHOP).lines == ()
    assert store.orders(WOO, []) == {}


def test_save_order_updates_but_never_changes_the_idempotency_key(store: Store) -> None:
    _save(store, "1001", "seen", key="first-key")
    before = _order(store, "1001")
    _pause()
    new_lines = (OrderLine("SKU-2", 3, "k2", "sq-var-2", "7.00", line_id="13"),)
    later = datetime(2025, 11, 24, tzinfo=UTC)
    assert store.save_order(
        WOO,
        "1001",
        status="on-hold",
        state="reserved",
        lines=new_lines,
        modified_at=later,
        idempotency_key="second-key",
    )
    after = _order(store, "1001")
    assert (after.status, after.state, after.lines, after.modified_at) == (
        "on-hold",
        "reserved",
        new_lines,
        later,
    )
    assert after.idempotency_key == "first-key"
    assert after.created_at == before.created_at
    assert after.updated_at > before.updated_at


def test_save_order_insert_only(store: Store) -> None:
    assert _save(store, "1001", "seen", key="k-1", expect={None})
    assert not _save(store, "1001", "reserved", status="completed", key="k-2", expect={None})
    order = _order(store, "1001")
    assert (order.state, order.status, order.idempotency_key) == ("seen", "processing", "k-1")


def test_save_order_compare_and_set(store: Store) -> None:
    assert not _save(store, "1001", "reserved", expect={"seen"}), "no row is not 'seen'"
    assert store.orders(WOO, ["1001"]) == {}

    assert _save(store, "1001", "seen", expect={None, "seen"}), "missing: inserted"
    assert _save(store, "1001", "reserved", expect={None, "seen"}), "seen: updated"
    assert _order(store, "1001").state == "reserved"

    assert not _save(store, "1001", "cancelled", status="cancelled", expect={None, "seen"})
    assert not _save(store, "1001", "cancelled", status="cancelled", expect={"seen"})
    assert (_order(store, "1001").state, _order(store, "1001").status) == (
        "reserved",
        "processing",
    )

    assert _save(store, "1001", "cancelled", status="cancelled", expect={"reserved", "seen"})
    assert _order(store, "1001").state == "cancelled"

    assert not _save(store, "1001", "seen", expect=set()), "nothing is expected: no write"
    assert not _save(store, "1002", "seen", expect=set())
    assert _order(store, "1001").state == "cancelled"
    assert store.orders(WOO, ["1002"]) == {}


def test_save_order_refuses_what_it_cannot_keep_exactly(store: Store) -> None:
    with pytest.raises(ValueError, match="unknown order state"):
        _save(store, "1", "paid")
    with pytest.raises(ValueError, match="unknown order states"):
        _save(store, "1", "seen", expect={None, "transfered"})
    with pytest.raises(TypeError, match="collection"):
        _save(store, "1", "seen", expect=cast(set[str | None], "seen"))
    float_price = OrderLine("S", 1, "k", None, cast(str, 19.95))
    with pytest.raises(TypeError, match="price must be a decimal string"):
        _save(store, "1", "seen", lines=(float_price,))
    with pytest.raises(ValueError, match="not a decimal number"):
        _save(store, "1", "seen", lines=(OrderLine("S", 1, "k", None, "12,50"),))
    with pytest.raises(TypeError, match="quantity must be an int"):
        _save(store, "1", "seen", lines=(OrderLine("S", cast(int, 1.5), "k", None, "1"),))
    with pytest.raises(StatementError, match="naive datetime"):
        store.save_order(
            WOO,
            "1",
            status="processing",
            state="seen",
            lines=(),
            modified_at=datetime(2025, 11, 23),
            idempotency_key="k",
        )
    assert store.orders(WOO, ["1"]) == {}

    decimal_price = OrderLine("S", 1, "k", None, cast(str, Decimal("3.10")))
    _save(store, "2", "seen", lines=(decimal_price,))
    assert _order(store, "2").lines[0].price == "3.10"


def test_orders_with_many_ids(store: Store) -> None:
    """Lookups are chunked: more ids than SQLite takes bound variables in one statement."""
    with store.engine.begin() as conn:
        now = datetime.now(UTC)
        conn.execute(
            insert(OrderLedger),
            [
                {
                    "shop": WOO,
                    "order_id": str(i),
                    "status": "processing",
                    "state": "seen",
                    "lines": "[]",
                    "idempotency_key": f"k{i}",
                    "modified_at": now,
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(1_200)
            ],
        )
    found = store.orders(WOO, [str(i) for i in range(-100, 1_300)])
    assert sorted(found, key=int) == [str(i) for i in range(1_200)]


def test_orders_in_states(store: Store) -> None:
    for order_id, state in [("1", "reserved"), ("2", "seen"), ("3", "transferring")]:
        _save(store, order_id, state)
        _pause()
    _save(store, "4", "reserved", shop=OTHER_SHOP)
    picked = store.orders_in_states(WOO, {"reserved", "transferring"})
    assert [o.order_id for o in picked] == ["1", "3"], "first seen first"
    assert store.orders_in_states(WOO, []) == []
    assert store.orders_in_states(WOO, ["quarantined"]) == []
    with pytest.raises(ValueError, match="unknown order states"):
        store.orders_in_states(WOO, ["paid"])


# -- transition_order ---------------------------------------------------------------------


def test_transition_order_compare_and_set(store: Store) -> None:
    _save(store, "1001", "reserved")
    assert not store.transition_order(WOO, "404", from_states={"reserved"}, to_state="transferring")
    assert not store.transition_order(WOO, "1001", from_states={"seen"}, to_state="transferring")
    assert store.transition_order(
        WOO, "1001", from_states={"reserved"}, to_state="transferring", count_attempt=True
    )
    assert not store.transition_order(
        WOO, "1001", from_states={"reserved"}, to_state="transferring"
    ), "the second identical move loses"
    assert not store.transition_order(WOO, "1001", from_states=(), to_state="transferred")

    moving = _order(store, "1001")
    assert (moving.state, moving.attempts, moving.transferred_at) == ("transferring", 1, None)

    store.note_order_error(WOO, "1001", "POS timed out")
    assert store.transition_order(
        WOO,
        "1001",
        from_states={"transferring"},
        to_state="transferred",
        pos_document="sq-order-1",
        pos_payment="sq-pay-1",
    )
    done = _order(store, "1001")
    assert (done.state, done.pos_document, done.pos_payment, done.last_error) == (
        "transferred",
        "sq-order-1",
        "sq-pay-1",
        None,
    )
    assert done.attempts == 2, "no count_attempt this time; note_order_error counted one"
    assert done.transferred_at is not None
    assert done.transferred_at.tzinfo is UTC
    assert done.transferred_at >= moving.updated_at

    assert store.transition_order(
        WOO, "1001", from_states={"transferred"}, to_state="partly_refunded"
    )
    refunded = _order(store, "1001")
    assert (refunded.pos_document, refunded.pos_payment) == ("sq-order-1", "sq-pay-1"), (
        "None never erases the POS ids"
    )
    assert refunded.transferred_at == done.transferred_at


def test_transition_order_keeps_or_sets_last_error(store: Store) -> None:
    _save(store, "1", "reserved")
    store.note_order_error(WOO, "1", "SKU-1 unknown in the POS")
    assert store.transition_order(WOO, "1", from_states={"reserved"}, to_state="transferring")
    assert _order(store, "1").last_error == "SKU-1 unknown in the POS", "kept when not given"
    assert store.transition_order(
        WOO,
        "1",
        from_states={"transferring"},
        to_state="quarantined",
        last_error="gave up after 5 attempts",
        count_attempt=True,
    )
    order = _order(store, "1")
    assert (order.state, order.last_error, order.attempts) == (
        "quarantined",
        "gave up after 5 attempts",
        2,
    )


def test_transition_order_refuses_unknown_states(store: Store) -> None:
    _save(store, "1", "reserved")
    with pytest.raises(ValueError, match="unknown order state"):
        store.transition_order(WOO, "1", from_states={"reserved"}, to_state="paid")
    with pytest.raises(ValueError, match="unknown order states"):
        store.transition_order(WOO, "1", from_states={"reserverd"}, to_state="transferring")
    with pytest.raises(TypeError, match="collection"):
        store.transition_order(WOO, "1", from_states="reserved", to_state="transferring")
    assert _order(store, "1").state == "reserved"


def test_transition_writes_the_cursor_only_when_it_moves(store: Store) -> None:
    _save(store, "1", "reserved")
    store.set_cursor("woo.orders", "before")
    assert not store.transition_order(
        WOO, "1", from_states={"seen"}, to_state="transferring", cursor=("woo.orders", "lost")
    )
    assert store.get_cursor("woo.orders") == "before"
    assert not store.transition_order(
        WOO, "404", from_states={"reserved"}, to_state="transferring", cursor=("new", "x")
    )
    assert store.get_cursor("new") is None

    assert store.transition_order(
        WOO, "1", from_states={"reserved"}, to_state="transferring", cursor=("woo.orders", "won")
    )
    assert store.get_cursor("woo.orders") == "won"
    assert store.transition_order(
        WOO, "1", from_states={"transferring"}, to_state="transferred", cursor=("new", "y")
    )
    assert store.get_cursor("new") == "y"


def test_transition_and_cursor_commit_or_fail_together(store: Store) -> None:
    """If the cursor cannot be written, the order does not move either."""
    _save(store, "1", "reserved")
    with pytest.raises(IntegrityError):
        store.transition_order(
            WOO,
            "1",
            from_states={"reserved"},
            to_state="transferring",
            cursor=("woo.orders", cast(str, None)),
        )
    order = _order(store, "1")
    assert (order.state, order.updated_at) == ("reserved", order.created_at)
    with store.engine.connect() as conn:
        assert conn.execute(select(Cursor.name)).all() == []


def test_note_order_error(store: Store) -> None:
    _save(store, "1", "transferring")
    store.note_order_error(WOO, "1", "503 from Square")
    store.note_order_error(WOO, "1", "429 from Square")
    order = _order(store, "1")
    assert (order.state, order.last_error, order.attempts) == (
        "transferring",
        "429 from Square",
        2,
    )
    with pytest.raises(KeyError):
        store.note_order_error(WOO, "404", "x")


# -- reserved quantities ---------------------------------------------------------------------


def test_reserved_quantities_count_accepted_but_untransferred_orders(store: Store) -> None:
    def line(key: str | None, quantity: int) -> OrderLine:
        return OrderLine(f"SKU-{key}", quantity, key, None, "1.00")

    assert store.reserved_quantities(WOO) == {}
    _save(store, "1", "reserved", lines=(line("a", 2), line("b", 1), line(None, 7)))
    _save(store, "2", "transferring", lines=(line("a", 3),))
    _save(store, "3", "reserved", lines=(line("a", 1), line("a", 1)))
    for number, state in enumerate(set(ORDER_STATES) - {"reserved", "transferring"}, start=10):
        _save(store, str(number), state, lines=(line("a", 100), line("c", 100)))
    _save(store, "4", "reserved", lines=(line("a", 50),), shop=OTHER_SHOP)

    assert store.reserved_quantities(WOO) == {"a": 7, "b": 1}
    assert store.reserved_quantities(OTHER_SHOP) == {"a": 50}

    store.transition_order(WOO, "2", from_states={"transferring"}, to_state="transferred")
    assert store.reserved_quantities(WOO) == {"a": 4, "b": 1}


# -- order events -------------------------------------------------------------------------


def test_events_are_recorded_once(store: Store) -> None:
    refund_lines = (OrderLine("SKU-1", 1, "k1", "sq-var-1", "19.95", line_id="11"),)
    first = store.record_event(
        WOO,
        "1001",
        "refund:77",
        kind="refund",
        idempotency_key="r-1",
        lines=refund_lines,
        amount="19.95",
    )
    assert first == OrderEvent(
        shop=WOO,
        order_id="1001",
        event_key="refund:77",
        kind="refund",
        state="pending",
        idempotency_key="r-1",
        lines=refund_lines,
        amount="19.95",
        pos_document=None,
        last_error=None,
        created_at=first.created_at,
        done_at=None,
        attempts=0,
    )
    assert first.created_at.tzinfo is UTC

    again = store.record_event(
        WOO, "1001", "refund:77", kind="cancel", idempotency_key="r-2", lines=(), amount=None
    )
    assert again == first, "a replayed event comes back as first recorded"
    assert store.events(WOO) == [first]


def test_events_are_completed_once(store: Store) -> None:
    store.record_event(
        WOO, "1001", "cancel", kind="cancel", idempotency_key="c-1", lines=LINES, amount=None
    )
    store.note_event_error(WOO, "1001", "cancel", "POS unreachable")
    [failed] = store.events(WOO, "1001")
    assert (failed.state, failed.last_error, failed.attempts) == (
        "pending",
        "POS unreachable",
        1,
    )

    assert store.complete_event(WOO, "1001", "cancel", "sq-adj-9")
    assert not store.complete_event(WOO, "1001", "cancel", "sq-adj-10")
    [done] = store.events(WOO, "1001")
    assert (done.state, done.pos_document, done.last_error) == ("done", "sq-adj-9", None)
    assert done.done_at is not None
    assert done.done_at.tzinfo is UTC
    assert done.done_at >= done.created_at

    replayed = store.record_event(
        WOO, "1001", "cancel", kind="cancel", idempotency_key="c-2", lines=(), amount=None
    )
    assert replayed == done, "recording it again does not reopen it"

    with pytest.raises(KeyError):
        store.complete_event(WOO, "1001", "refund:404", None)
    with pytest.raises(KeyError):
        store.note_event_error(WOO, "404", "cancel", "x")


def test_complete_event_without_a_document_keeps_none(store: Store) -> None:
    store.record_event(
        WOO, "1", "cancel", kind="cancel", idempotency_key="c", lines=(), amount=None
    )
    assert store.complete_event(WOO, "1", "cancel", None)
    [done] = store.events(WOO)
    assert (done.state, done.pos_document) == ("done", None)


def test_events_filter_by_order_and_state(store: Store) -> None:
    for order_id, key in [("1", "refund:1"), ("1", "refund:2"), ("2", "cancel")]:
        store.record_event(
            WOO,
            order_id,
            key,
            kind=key.split(":")[0],
            idempotency_key=f"{order_id}-{key}",
            lines=(),
            amount="1.00" if key.startswith("refund") else None,
        )
        _pause()
    store.record_event(
        OTHER_SHOP, "1", "cancel", kind="cancel", idempotency_key="x", lines=(), amount=None
    )
    store.complete_event(WOO, "1", "refund:1", "doc")

    assert [e.event_key for e in store.events(WOO)] == ["refund:1", "refund:2", "cancel"]
    assert [e.event_key for e in store.events(WOO, "1")] == ["refund:1", "refund:2"]
    assert [e.event_key for e in store.events(WOO, states={"pending"})] == ["refund:2", "cancel"]
    assert [e.event_key for e in store.events(WOO, "1", {"done"})] == ["refund:1"]
    assert store.events(WOO, states=[]) == []
    with pytest.raises(ValueError, match="unknown event states"):
        store.events(WOO, states={"failed"})


def test_record_event_refuses_unknown_kinds_and_float_amounts(store: Store) -> None:
    with pytest.raises(ValueError, match="unknown event kind"):
        store.record_event(WOO, "1", "x", kind="return", idempotency_key="k", lines=(), amount=None)
    with pytest.raises(TypeError, match="decimal string"):
        store.record_event(
            WOO,
            "1",
            "refund:1",
            kind="refund",
            idempotency_key="k",
            lines=(),
            amount=cast(str, 1.1),
        )
    assert store.events(WOO) == []


# -- webhook deliveries -------------------------------------------------------------------


def test_first_delivery_and_prune(store: Store) -> None:
    assert store.first_delivery(WOO, "d-1")
    assert not store.first_delivery(WOO, "d-1")
    assert store.first_delivery("square", "d-1"), "keys are per source"
    assert store.first_delivery(WOO, "d-2")

    week_ago = datetime.now(UTC) - timedelta(days=7)
    with store.engine.begin() as conn:
        conn.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.delivery_key == "d-1")
            .values(received_at=week_ago)
        )
    assert store.prune_deliveries(datetime.now(UTC) - timedelta(days=1)) == 2
    assert store.prune_deliveries(datetime.now(UTC) - timedelta(days=1)) == 0
    with store.engine.connect() as conn:
        left = conn.execute(select(WebhookDelivery.source, WebhookDelivery.delivery_key)).all()
    assert [tuple(row) for row in left] == [(WOO, "d-2")]
    assert not store.first_delivery(WOO, "d-2")
    assert store.first_delivery(WOO, "d-1"), "forgotten after pruning"

    with pytest.raises(StatementError, match="naive datetime"):
        store.prune_deliveries(datetime(2025, 1, 1))


# -- races --------------------------------------------------------------------------------

THREADS = 6
ROUNDS = 15


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest) -> str:
    value: str = request.getfixturevalue(f"{request.param}_url")
    Store.open(value).close()
    return value


@pytest.fixture
def stores(url: str) -> Iterator[list[Store]]:
    """One Store per thread, each with its own engine and connection pool."""
    opened = [Store(make_engine(url)) for _ in range(THREADS)]
    yield opened
    for store in opened:
        store.close()


def _race(stores: list[Store], attempt: Callable[[Store, int, int], _T]) -> list[list[_T]]:
    """Run ``attempt(store, thread, round)`` in every thread, all starting each round at
    once; returns each round's results in thread order."""
    barrier = threading.Barrier(len(stores))
    results: list[list[_T | None]] = [[None] * len(stores) for _ in range(ROUNDS)]
    errors: list[BaseException] = []

    def worker(thread: int) -> None:
        try:
            for round_ in range(ROUNDS):
                barrier.wait(timeout=60)
                results[round_][thread] = attempt(stores[thread], thread, round_)
        except BaseException as exc:  # noqa: BLE001 - reported to the main thread below
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not any(thread.is_alive() for thread in threads), "a racer hung"
    assert errors == []
    return [[cast(_T, result) for result in round_results] for round_results in results]


def test_exactly_one_racer_moves_an_order(stores: list[Store]) -> None:
    """The exactly-once gate: of many runs trying to start the same transfer at once, one
    wins, and only the winner's cursor is written."""
    for round_ in range(ROUNDS):
        _save(stores[0], str(round_), "reserved")

    def attempt(store: Store, thread: int, round_: int) -> bool:
        return store.transition_order(
            WOO,
            str(round_),
            from_states={"reserved"},
            to_state="transferring",
            count_attempt=True,
            cursor=("woo.orders", f"{round_}:{thread}"),
        )

    outcomes = _race(stores, attempt)
    winners = [[t for t, won in enumerate(results) if won] for results in outcomes]
    assert all(len(won) == 1 for won in winners), winners
    for round_ in range(ROUNDS):
        order = _order(stores[0], str(round_))
        assert (order.state, order.attempts) == ("transferring", 1)
    assert stores[0].get_cursor("woo.orders") == f"{ROUNDS - 1}:{winners[-1][0]}"


def test_exactly_one_racer_inserts_an_order_and_its_key_stays(stores: list[Store]) -> None:
    """Two runs seeing a new paid order at once: one records it, with its own key."""

    def attempt(store: Store, thread: int, round_: int) -> bool:
        return _save(store, str(round_), "reserved", key=f"key-{thread}", expect={None})

    outcomes = _race(stores, attempt)
    for round_, results in enumerate(outcomes):
        [winner] = [t for t, won in enumerate(results) if won]
        assert _order(stores[0], str(round_)).idempotency_key == f"key-{winner}"


def test_exactly_one_racer_completes_an_event(stores: list[Store]) -> None:
    def attempt(store: Store, thread: int, round_: int) -> tuple[OrderEvent, bool]:
        recorded = store.record_event(
            WOO,
            "1001",
            f"refund:{round_}",
            kind="refund",
            idempotency_key=f"r-{round_}-{thread}",
            lines=(),
            amount="1.00",
        )
        return recorded, store.complete_event(WOO, "1001", f"refund:{round_}", f"doc-{thread}")

    outcomes = _race(stores, attempt)
    for round_, results in enumerate(outcomes):
        keys = {recorded.idempotency_key for recorded, _ in results}
        assert len(keys) == 1, f"round {round_}: every racer got the one recorded event"
        assert sum(completed for _, completed in results) == 1
    assert len(stores[0].events(WOO, "1001", {"done"})) == ROUNDS


def test_exactly_one_racer_sees_a_delivery_first(stores: list[Store]) -> None:
    def attempt(store: Store, _thread: int, round_: int) -> bool:
        return store.first_delivery(WOO, f"delivery-{round_}")

    outcomes = _race(stores, attempt)
    assert [sum(results) for results in outcomes] == [1] * ROUNDS
