"""Cursors, the stock ledger, the quarantine lifecycle, the run log, and UTC round-trips."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import StatementError

from possync.store import QuarantinedRecord, QuarantineEntry, Store
from possync.store.tables import Cursor, Quarantine, RunLog, StockLedger

WOO = "woocommerce"
SQUARE = "square"


def _pause() -> None:
    """Let the clock move, so 'later' timestamps are strictly later."""
    time.sleep(0.002)


# -- cursors ---------------------------------------------------------------------------


def test_cursors(store: Store) -> None:
    assert store.get_cursor("woo.orders") is None
    store.set_cursor("woo.orders", "2025-11-01T00:00:00Z")
    store.set_cursor("square.catalog", "abc")
    store.set_cursor("woo.orders", "2025-11-02T00:00:00Z")
    assert store.get_cursor("woo.orders") == "2025-11-02T00:00:00Z"
    assert store.get_cursor("square.catalog") == "abc"
    with store.engine.connect() as conn:
        stamps = conn.execute(select(Cursor.updated_at)).scalars().all()
    assert len(stamps) == 2
    assert all(stamp.tzinfo is UTC for stamp in stamps)


# -- stock ledger ----------------------------------------------------------------------


def test_ledger_records_and_overwrites_pushes(store: Store) -> None:
    assert store.last_pushed(WOO, ["a"]) == {}
    store.record_pushes(WOO, {"a": 5, "b": 0, "c": -2}, run_id="run-1")
    store.record_pushes(SQUARE, {"a": 9})
    store.record_pushes(WOO, {"a": 4}, run_id="run-2")
    store.record_pushes(WOO, {})

    assert store.last_pushed(WOO, ["a", "b", "c", "never"]) == {"a": 4, "b": 0, "c": -2}
    assert store.last_pushed(SQUARE, ["a", "b"]) == {"a": 9}
    with store.engine.connect() as conn:
        rows = {
            key: (run_id, pushed_at)
            for key, run_id, pushed_at in conn.execute(
                select(StockLedger.product_key, StockLedger.run_id, StockLedger.pushed_at).where(
                    StockLedger.system == WOO
                )
            )
        }
    assert rows["a"][0] == "run-2"
    assert rows["b"][0] == "run-1"
    assert rows["a"][1] >= rows["b"][1]
    assert rows["a"][1].tzinfo is UTC


def test_ledger_with_twenty_thousand_keys(store: Store) -> None:
    quantities = {f"k{i}": i % 97 for i in range(20_000)}
    store.record_pushes(WOO, quantities, run_id="big")
    assert store.last_pushed(WOO, [*quantities, "missing"]) == quantities
    store.record_pushes(WOO, {key: q + 1 for key, q in quantities.items()})
    assert store.last_pushed(WOO, quantities)["k500"] == quantities["k500"] + 1


# -- quarantine ------------------------------------------------------------------------


def test_quarantine_lifecycle(store: Store) -> None:
    first = QuarantineEntry("stock", WOO, "sku-1", "barcode", "bad check digit", {"v": 1})
    store.quarantine([first])
    [opened] = store.open_quarantine("stock")
    assert opened == QuarantinedRecord(
        flow="stock",
        system=WOO,
        record_id="sku-1",
        field="barcode",
        reason="bad check digit",
        payload={"v": 1},
        attempts=1,
        first_seen=opened.first_seen,
        last_seen=opened.first_seen,
    )
    assert opened.first_seen.tzinfo is UTC

    _pause()
    store.quarantine([QuarantineEntry("stock", WOO, "sku-1", None, "no such product", {"v": 2})])
    [again] = store.open_quarantine("stock")
    assert (again.attempts, again.reason, again.field, again.payload) == (
        2,
        "no such product",
        None,
        {"v": 2},
    )
    assert again.first_seen == opened.first_seen
    assert again.last_seen > opened.last_seen

    assert store.resolve_quarantine("stock", WOO, ["sku-1", "unknown"]) == 1
    assert store.open_quarantine("stock") == []
    assert store.resolve_quarantine("stock", WOO, ["sku-1"]) == 0, "already resolved"
    with store.engine.connect() as conn:
        assert conn.execute(select(Quarantine.status)).scalar_one() == "resolved"

    _pause()
    store.quarantine([first])
    [reopened] = store.open_quarantine("stock")
    assert reopened.attempts == 3
    assert reopened.reason == "bad check digit"
    assert reopened.first_seen == opened.first_seen
    assert reopened.last_seen > again.last_seen
    with store.engine.connect() as conn:
        assert conn.execute(select(Quarantine.status)).scalar_one() == "open"


def test_quarantine_filters_by_flow_and_system(store: Store) -> None:
    store.quarantine(
        [
            QuarantineEntry("stock", WOO, "1", None, "r", {}),
            QuarantineEntry("stock", SQUARE, "1", None, "r", {}),
            QuarantineEntry("orders", WOO, "1", None, "r", {}),
        ]
    )
    assert {(r.flow, r.system) for r in store.open_quarantine("stock")} == {
        ("stock", WOO),
        ("stock", SQUARE),
    }
    assert [r.system for r in store.open_quarantine("stock", SQUARE)] == [SQUARE]
    assert store.resolve_quarantine("stock", SQUARE, ["1"]) == 1
    assert [r.system for r in store.open_quarantine("stock")] == [WOO]
    assert [r.flow for r in store.open_quarantine("orders")] == ["orders"]


def test_one_call_counts_one_attempt_per_record(store: Store) -> None:
    store.quarantine(
        [
            QuarantineEntry("stock", WOO, "1", None, "first", {}),
            QuarantineEntry("stock", WOO, "1", None, "second", {}),
        ]
    )
    [record] = store.open_quarantine("stock")
    assert (record.attempts, record.reason) == (1, "second")


def test_quarantine_payload_keeps_odd_values_readable(store: Store) -> None:
    when = datetime(2025, 11, 22, 23, 30, tzinfo=UTC)
    payload: dict[str, object] = {"price": Decimal("19.95"), "at": when, "tags": ["a", "ø"]}
    store.quarantine([QuarantineEntry("orders", WOO, "o1", "price", "negative", payload)])
    [record] = store.open_quarantine("orders")
    assert record.payload == {"price": "19.95", "at": str(when), "tags": ["a", "ø"]}


def test_quarantine_twenty_thousand_records(store: Store) -> None:
    ids = [f"r{i}" for i in range(20_000)]
    store.quarantine(QuarantineEntry("stock", WOO, rid, None, "x", {}) for rid in ids)
    assert len(store.open_quarantine("stock")) == 20_000
    assert store.resolve_quarantine("stock", WOO, ids) == 20_000
    assert store.open_quarantine("stock") == []


# -- run log ---------------------------------------------------------------------------


def test_run_log(store: Store) -> None:
    first = store.start_run("stock", "prefect-run-1")
    _pause()
    second = store.start_run("stock", None)
    store.start_run("orders", "other")
    assert first != second

    [newest, oldest] = store.recent_runs("stock")
    assert (newest.id, newest.run_id, newest.status, newest.finished_at) == (
        second,
        None,
        "running",
        None,
    )
    assert oldest.id == first
    assert newest.counts == {}

    _pause()
    store.finish_run(first, "completed", {"pushed": 120, "quarantined": 2})
    done = next(run for run in store.recent_runs("stock") if run.id == first)
    assert done.status == "completed"
    assert done.counts == {"pushed": 120, "quarantined": 2}
    assert done.finished_at is not None
    assert done.finished_at.tzinfo is UTC
    assert done.started_at.tzinfo is UTC
    assert done.finished_at > done.started_at

    assert [run.id for run in store.recent_runs("stock", limit=1)] == [second]
    assert [run.run_id for run in store.recent_runs("orders")] == ["other"]

    with pytest.raises(KeyError):
        store.finish_run(999_999, "completed", {})


# -- time zones ------------------------------------------------------------------------


def test_aware_datetimes_round_trip_as_utc(store: Store) -> None:
    copenhagen_summer = timezone(timedelta(hours=2))
    late_local = datetime(2025, 6, 30, 23, 30, tzinfo=copenhagen_summer)  # 21:30 UTC
    early_utc = datetime(2025, 6, 30, 22, 0, tzinfo=UTC)  # later instant, earlier clock
    with store.engine.begin() as conn:
        for name, when in (("local", late_local), ("utc", early_utc)):
            conn.execute(
                insert(RunLog).values(
                    flow="tz", run_id=name, started_at=when, status="x", counts="{}"
                )
            )
    runs = store.recent_runs("tz")
    assert [run.run_id for run in runs] == ["utc", "local"], "ordered by instant, not clock"
    local = runs[1].started_at
    assert local == late_local
    assert local.tzinfo is UTC
    assert (local.hour, local.minute) == (21, 30)


def test_naive_datetimes_are_refused(store: Store) -> None:
    with pytest.raises(StatementError, match="naive datetime"), store.engine.begin() as conn:
        conn.execute(
            insert(RunLog).values(
                flow="tz", run_id=None, started_at=datetime(2025, 1, 1), status="x", counts="{}"
            )
        )


def test_a_quarantine_reason_with_a_nul_character_is_kept_on_every_database(
    store: Store,
) -> None:
    """A vendor's message or a name quoted in a reason may hold NUL, which PostgreSQL's
    text refuses: that one record would have failed the step that quarantines it."""
    entry = QuarantineEntry(
        flow="product-sync",
        system="woocommerce",
        record_id="4711",
        field="name",
        reason="woocommerce refused it: name 'Nul\x00byte'",
        payload={"name": "Nul\x00byte"},
    )
    store.quarantine([entry])
    [record] = store.open_quarantine("product-sync")
    assert record.reason == "woocommerce refused it: name 'Nul\\x00byte'"
    assert record.payload == {"name": "Nul\x00byte"}
