"""The schema Alembic builds, opening twice or concurrently, and engine/URL handling."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, event, inspect, text
from sqlalchemy.exc import IntegrityError

from possync.store import (
    DEFAULT_SQLITE_NAME,
    Link,
    OrderLine,
    Store,
    database_url,
    make_engine,
    migrate,
)
from possync.store.engine import alembic_config, migration_connection
from possync.store.tables import Base

INITIAL_TABLES = {"id_map", "sync_cursors", "stock_ledger", "quarantine", "run_log"}
ORDER_TABLES = {"order_ledger", "order_events", "webhook_deliveries"}
PRODUCT_TABLES = {"product_pairs", "catalog_codes"}
TABLES = INITIAL_TABLES | ORDER_TABLES | PRODUCT_TABLES | {"turnover_ledger", "run_slots"}
HEAD = "0006_run_slots"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fresh_url(request: pytest.FixtureRequest) -> str:
    """A URL to an empty database (no Store opened on it yet)."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


@pytest.fixture
def engine(fresh_url: str) -> Iterator[Engine]:
    built = make_engine(fresh_url)
    yield built
    built.dispose()


def _unique_sets(engine: Engine, table: str) -> set[tuple[str, ...]]:
    return {tuple(uc["column_names"]) for uc in inspect(engine).get_unique_constraints(table)}


def _index_sets(engine: Engine, table: str) -> set[tuple[str, ...]]:
    return {tuple(str(c) for c in ix["column_names"]) for ix in inspect(engine).get_indexes(table)}


def test_migration_creates_every_table_and_constraint(store: Store) -> None:
    inspector = inspect(store.engine)
    assert set(inspector.get_table_names()) == TABLES | {"alembic_version"}

    assert _unique_sets(store.engine, "id_map") == {
        ("system", "external_id", "variant_id"),
        ("system", "product_key"),
    }
    assert _unique_sets(store.engine, "quarantine") == {("flow", "system", "record_id")}
    assert _unique_sets(store.engine, "order_ledger") == {("shop", "order_id")}
    assert _unique_sets(store.engine, "order_events") == {("shop", "order_id", "event_key")}
    assert _unique_sets(store.engine, "webhook_deliveries") == {("source", "delivery_key")}
    assert ("shop", "state") in _index_sets(store.engine, "order_ledger")
    assert ("shop", "state") in _index_sets(store.engine, "order_events")
    assert ("received_at",) in _index_sets(store.engine, "webhook_deliveries")
    assert {("system", "sku"), ("system", "barcode"), ("system", "variant_id")} <= _index_sets(
        store.engine, "id_map"
    )
    assert inspector.get_pk_constraint("stock_ledger")["constrained_columns"] == [
        "system",
        "product_key",
    ]
    assert inspector.get_pk_constraint("sync_cursors")["constrained_columns"] == ["name"]
    assert inspector.get_pk_constraint("run_log")["constrained_columns"] == ["id"]
    assert _unique_sets(store.engine, "product_pairs") == {("shop_system", "shop_id", "pos_system")}
    assert {("system", "sku"), ("system", "barcode")} <= _index_sets(store.engine, "catalog_codes")
    with store.engine.connect() as conn:
        versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    assert versions == [HEAD]


def test_migration_matches_the_models(store: Store) -> None:
    """A column added to tables.py without a migration shows up here as a difference."""
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_status_check_constraint_rejects_unknown_status(store: Store) -> None:
    with pytest.raises(IntegrityError, match=r"(?i)check"), store.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO quarantine (flow, system, record_id, reason, payload, status,"
                " first_seen, last_seen, attempts) VALUES ('f', 's', 'r', 'x', '{}', 'lost',"
                " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 1)"
            )
        )


@pytest.mark.parametrize(
    ("table", "columns", "values"),
    [
        (
            "order_ledger",
            "shop, order_id, status, state, lines, idempotency_key, modified_at, created_at,"
            " updated_at",
            "'woo', '1', 'processing', 'paid', '[]', 'k', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP,"
            " CURRENT_TIMESTAMP",
        ),
        (
            "order_events",
            "shop, order_id, event_key, kind, state, idempotency_key, lines, created_at",
            "'woo', '1', 'cancel', 'cancel', 'failed', 'k', '[]', CURRENT_TIMESTAMP",
        ),
    ],
)
def test_order_state_check_constraints(store: Store, table: str, columns: str, values: str) -> None:
    """The database itself refuses a state the ledger does not know, whoever writes it."""
    with pytest.raises(IntegrityError, match=r"(?i)check"), store.engine.begin() as conn:
        conn.execute(text(f"INSERT INTO {table} ({columns}) VALUES ({values})"))  # noqa: S608


def _version(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())


def test_0002_upgrades_a_0001_store_and_downgrades_back(engine: Engine) -> None:
    """A store created before the order ledger gains it, keeps its rows, and can go back."""
    migrate(engine, "0001")
    assert set(inspect(engine).get_table_names()) == INITIAL_TABLES | {"alembic_version"}
    old = Store(engine)
    old.set_cursor("woo.products", "2025-11-01T00:00:00Z")
    old.save_links([Link("k1", "woocommerce", "10", "", "SKU-1", None)])

    migrate(engine)
    assert _version(engine) == [HEAD]
    assert set(inspect(engine).get_table_names()) == TABLES | {"alembic_version"}
    store = Store(engine)
    assert store.get_cursor("woo.products") == "2025-11-01T00:00:00Z"
    assert store.links_by_key("woocommerce", ["k1"])["k1"].external_id == "10"
    assert store.save_order(
        "woocommerce",
        "1001",
        status="processing",
        state="reserved",
        lines=[OrderLine("SKU-1", 2, "k1", "sq-1", "9.95")],
        modified_at=datetime(2025, 11, 23, 12, tzinfo=UTC),
        idempotency_key="woo-1001",
    )
    assert store.reserved_quantities("woocommerce") == {"k1": 2}
    assert store.first_delivery("woocommerce", "d1")

    config = alembic_config()
    with migration_connection(engine) as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0001")
    assert _version(engine) == ["0001"]
    assert set(inspect(engine).get_table_names()) == INITIAL_TABLES | {"alembic_version"}
    assert old.get_cursor("woo.products") == "2025-11-01T00:00:00Z"
    assert old.links_by_key("woocommerce", ["k1"])["k1"].external_id == "10"

    migrate(engine)
    assert _version(engine) == [HEAD]
    assert store.orders("woocommerce", ["1001"]) == {}, "the downgrade dropped the ledger"
    assert store.first_delivery("woocommerce", "d1")


def test_0005_widens_the_stock_ledger_to_64_bits_keeping_its_rows(engine: Engine) -> None:
    """Issue 12, defect 2: a 0004 store's 32-bit quantities (PostgreSQL refuses
    2,147,483,648 there) become 64-bit; existing rows stay, and the largest count any
    webshop holds (WooCommerce's PHP int64) is recorded and read back exactly."""
    migrate(engine, "0004")
    old = Store(engine)
    assert old.record_pushes("woocommerce", {"k-small": 7, "k-int32": 2_147_483_647}) == {}
    refused = old.record_pushes("woocommerce", {"k-over": 2_147_483_648, "k-fine": 3})
    if engine.dialect.name == "postgresql":
        assert set(refused) == {"k-over"}, refused  # only the bad row, named with why
        assert "out of range" in refused["k-over"]
    assert old.last_pushed("woocommerce", ["k-fine"]) == {"k-fine": 3}

    migrate(engine)
    assert _version(engine) == [HEAD]
    store = Store(engine)
    biggest = 2**63 - 1
    assert store.record_pushes("woocommerce", {"k-over": 2_147_483_648, "k-max": biggest}) == {}
    assert store.last_pushed("woocommerce", ["k-small", "k-int32", "k-over", "k-max"]) == {
        "k-small": 7,
        "k-int32": 2_147_483_647,
        "k-over": 2_147_483_648,
        "k-max": biggest,
    }
    # Beyond 64 bits the row fails alone, with the reason; the rest of the batch is kept.
    refused = store.record_pushes("woocommerce", {"k-beyond": 2**64, "k-after": 5})
    assert set(refused) == {"k-beyond"}
    assert store.last_pushed("woocommerce", ["k-beyond", "k-after"]) == {"k-after": 5}

    with engine.begin() as conn:
        conn.execute(text("DELETE FROM stock_ledger WHERE quantity > 2147483647"))
    config = alembic_config()
    with migration_connection(engine) as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0004")
    assert _version(engine) == ["0004"]
    assert old.last_pushed("woocommerce", ["k-small", "k-int32"]) == {
        "k-small": 7,
        "k-int32": 2_147_483_647,
    }


def test_second_open_is_a_no_op(fresh_url: str) -> None:
    first = Store.open(fresh_url)
    first.save_links([Link("k1", "woocommerce", "10", "", "SKU-1", None)])
    first.close()

    engine = make_engine(fresh_url)
    statements: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _capture(*args: Any) -> None:
        statements.append(str(args[2]))

    try:
        migrate(engine)
    finally:
        engine.dispose()
    changes = [
        s
        for s in statements
        if s.lstrip().upper().startswith(("CREATE", "ALTER", "DROP", "INSERT", "UPDATE"))
    ]
    assert changes == []
    assert any("alembic_version" in s for s in statements), "the version was not even read"

    second = Store.open(fresh_url)
    try:
        assert second.links_by_key("woocommerce", ["k1"])["k1"].external_id == "10"
    finally:
        second.close()


def test_downgrade_to_base_and_back(engine: Engine) -> None:
    migrate(engine)
    config = alembic_config()
    with migration_connection(engine) as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate(engine)
    assert set(inspect(engine).get_table_names()) >= TABLES


_CHILD = """
import os, sys, time
from pathlib import Path
from possync.store import Store
ready, go = Path(sys.argv[1]), Path(sys.argv[2])
ready.touch()
deadline = time.monotonic() + 60
while not go.exists():
    if time.monotonic() > deadline:
        sys.exit("never told to go")
    time.sleep(0.005)
Store.open().close()
"""


def test_concurrent_open_on_a_fresh_database(fresh_url: str, tmp_path: Path) -> None:
    """Processes started together on an empty database all open it; one migrates.

    Without the migration lock this fails most runs (duplicate table or version row).
    """
    processes = 3
    go = tmp_path / "go"
    env = {**os.environ, "POSSYNC_DATABASE_URL": fresh_url}
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(tmp_path / f"ready{i}"), str(go)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(processes)
    ]
    try:
        deadline = time.monotonic() + 60
        while not all((tmp_path / f"ready{i}").exists() for i in range(processes)):
            assert time.monotonic() < deadline, "children did not start"
            assert all(child.poll() is None for child in children), "a child died early"
            time.sleep(0.01)
        go.touch()
        outcomes = [child.communicate(timeout=120) for child in children]
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
    for child, (_out, err) in zip(children, outcomes, strict=True):
        assert child.returncode == 0, err

    engine = make_engine(fresh_url)
    try:
        assert set(inspect(engine).get_table_names()) >= TABLES
        with engine.connect() as conn:
            versions = conn.execute(text("SELECT version_num FROM alembic_version")).all()
        assert [v for (v,) in versions] == [HEAD]
    finally:
        engine.dispose()


def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


def test_sqlite_transactions_are_real(sqlite_url: str) -> None:
    """DDL and SELECTs roll back with the transaction (sqlite3's legacy mode would not)."""
    engine = make_engine(sqlite_url)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
            conn.rollback()
            names = inspect(conn).get_table_names()
        assert "t" not in names
    finally:
        engine.dispose()


def test_in_memory_sqlite_store_works() -> None:
    with Store.open("sqlite://") as store:
        store.set_cursor("c", "1")
        assert store.get_cursor("c") == "1"


def test_database_url_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSSYNC_DATABASE_URL", "postgresql+psycopg://u@h/from_env")
    assert database_url("sqlite:///explicit.db") == "sqlite:///explicit.db"
    assert database_url() == "postgresql+psycopg://u@h/from_env"

    monkeypatch.delenv("POSSYNC_DATABASE_URL")
    home = tmp_path / "nested" / "home"
    monkeypatch.setenv("POSSYNC_HOME", str(home))
    assert database_url() == f"sqlite:///{home / DEFAULT_SQLITE_NAME}"
    assert home.is_dir()

    monkeypatch.delenv("POSSYNC_HOME")
    monkeypatch.chdir(tmp_path)
    assert database_url() == f"sqlite:///{tmp_path.resolve() / '.possync' / DEFAULT_SQLITE_NAME}"
    assert (tmp_path / ".possync").is_dir()


def test_postgres_urls_use_psycopg_3() -> None:
    for url in ("postgresql://u@h/db", "postgres://u@h/db"):
        engine = make_engine(url)
        assert engine.dialect.driver == "psycopg"
        engine.dispose()


def test_passwords_stay_out_of_reprs_and_errors() -> None:
    engine = make_engine("postgresql://shop:hunter2secret@db.example/possync")
    try:
        assert "hunter2secret" not in repr(Store(engine))
        assert "hunter2secret" not in repr(engine)
    finally:
        engine.dispose()
    with pytest.raises(ValueError, match="unsupported database") as raised:
        make_engine("mysql://shop:hunter2secret@db.example/possync")
    assert "hunter2secret" not in str(raised.value)
