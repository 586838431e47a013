"""The state store's tables, as typed SQLAlchemy 2 declarative classes.

These classes describe the schema Alembic's ``versions/`` migrations create; a test
compares the two, so a column added here without a migration fails the suite.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Dialect,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

__all__ = [
    "EVENT_STATES",
    "ORDER_STATES",
    "Base",
    "CatalogCode",
    "Cursor",
    "IdMap",
    "OrderEventLog",
    "OrderLedger",
    "ProductPair",
    "Quarantine",
    "RunLog",
    "RunSlot",
    "StockLedger",
    "TurnoverLedger",
    "UTCDateTime",
    "WebhookDelivery",
]

# Strings are unbounded (VARCHAR without a length), so PostgreSQL never rejects a value
# that SQLite accepted. Constraint names are fixed, so both dialects and later migrations
# agree on them.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# The order ledger's states, in the order an order normally moves through them:
# seen (known, not yet payable) -> reserved (paid, its stock held back from the webshop)
# -> transferring (the POS write may have happened) -> transferred, then possibly
# partly_refunded / refunded; cancelled and quarantined end the road. Kept here so the
# CHECK constraint and the repository agree.
ORDER_STATES = (
    "seen",
    "reserved",
    "transferring",
    "transferred",
    "partly_refunded",
    "refunded",
    "cancelled",
    "quarantined",
)
EVENT_STATES = ("pending", "done")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that always comes back timezone-aware in UTC.

    PostgreSQL keeps the offset (``timestamptz``) but SQLite stores text without one, so
    values are normalised to UTC on the way in (naive ones are refused, because a naive
    time's zone is a guess) and UTC is attached on the way out.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: the store keeps timezone-aware times")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            # SQLite's DATETIME text has no offset; every stored value is UTC.
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base carrying the shared metadata and naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class IdMap(Base):
    """Which vendor product/variant each internal product key is, per system."""

    __tablename__ = "id_map"
    __table_args__ = (
        UniqueConstraint("system", "external_id", "variant_id"),
        UniqueConstraint("system", "product_key"),
        Index(None, "system", "sku"),
        Index(None, "system", "barcode"),
        Index(None, "system", "variant_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    product_key: Mapped[str] = mapped_column(String())
    system: Mapped[str] = mapped_column(String())
    external_id: Mapped[str] = mapped_column(String())
    variant_id: Mapped[str] = mapped_column(String(), default="", server_default="")
    sku: Mapped[str | None] = mapped_column(String())
    barcode: Mapped[str | None] = mapped_column(String())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Cursor(Base):
    """Where an incremental read stopped (e.g. a ``modified_after`` timestamp)."""

    __tablename__ = "sync_cursors"

    name: Mapped[str] = mapped_column(String(), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class StockLedger(Base):
    """The quantity we last pushed to a system, so unchanged stock is not pushed again.

    64-bit: every count a webshop or the POS holds fits (WooCommerce's is PHP's int64, the
    others' are smaller); the planner refuses a count beyond it before anything is written.
    """

    __tablename__ = "stock_ledger"

    system: Mapped[str] = mapped_column(String(), primary_key=True)
    product_key: Mapped[str] = mapped_column(String(), primary_key=True)
    quantity: Mapped[int] = mapped_column(BigInteger)
    pushed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    run_id: Mapped[str | None] = mapped_column(String())


class Quarantine(Base):
    """A record a flow could not process, kept with its reason until it goes through."""

    __tablename__ = "quarantine"
    __table_args__ = (
        UniqueConstraint("flow", "system", "record_id"),
        CheckConstraint("status IN ('open', 'resolved')", name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    flow: Mapped[str] = mapped_column(String())
    system: Mapped[str] = mapped_column(String())
    record_id: Mapped[str] = mapped_column(String())
    field: Mapped[str | None] = mapped_column(String())
    reason: Mapped[str] = mapped_column(Text)
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String())
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer)


class RunLog(Base):
    """One row per flow run: when, how it ended, and what it counted."""

    __tablename__ = "run_log"
    __table_args__ = (Index(None, "flow", "started_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    flow: Mapped[str] = mapped_column(String())
    run_id: Mapped[str | None] = mapped_column(String())
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String())
    counts: Mapped[str] = mapped_column(Text)


class OrderLedger(Base):
    """One row per webshop order: where it is on its way to the POS, and under which
    idempotency key it is written there, so a retried or rerun flow writes it once."""

    __tablename__ = "order_ledger"
    __table_args__ = (
        UniqueConstraint("shop", "order_id"),
        Index(None, "shop", "state"),
        CheckConstraint(_one_of("state", ORDER_STATES), name="state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    shop: Mapped[str] = mapped_column(String())
    order_id: Mapped[str] = mapped_column(String())
    status: Mapped[str] = mapped_column(String())
    state: Mapped[str] = mapped_column(String())
    lines: Mapped[str] = mapped_column(Text)
    idempotency_key: Mapped[str] = mapped_column(String())
    pos_document: Mapped[str | None] = mapped_column(String())
    pos_payment: Mapped[str | None] = mapped_column(String())
    modified_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    transferred_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The run slot holder (see RunSlot) whose run moved the order to `transferring`: only
    # that run, or any run once that holder's slot has lapsed, may take it over.
    claimed_by: Mapped[str | None] = mapped_column(String())


class OrderEventLog(Base):
    """A refund or cancellation of a webshop order, applied to the POS exactly once."""

    __tablename__ = "order_events"
    __table_args__ = (
        UniqueConstraint("shop", "order_id", "event_key"),
        Index(None, "shop", "state"),
        CheckConstraint(_one_of("state", EVENT_STATES), name="state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    shop: Mapped[str] = mapped_column(String())
    order_id: Mapped[str] = mapped_column(String())
    event_key: Mapped[str] = mapped_column(String())
    kind: Mapped[str] = mapped_column(String())
    state: Mapped[str] = mapped_column(String())
    idempotency_key: Mapped[str] = mapped_column(String())
    lines: Mapped[str] = mapped_column(Text)
    amount: Mapped[str | None] = mapped_column(String())
    pos_document: Mapped[str | None] = mapped_column(String())
    last_error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WebhookDelivery(Base):
    """A webhook delivery already acted on; vendors redeliver, we act once."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("source", "delivery_key"),
        # prune_deliveries deletes by age.
        Index(None, "received_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String())
    delivery_key: Mapped[str] = mapped_column(String())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ProductPair(Base):
    """A POS product and the webshop product it is synced with, and the fingerprints of each
    side's synced fields as they were when both last agreed (a change that comes back with
    that fingerprint is our own write, not news)."""

    __tablename__ = "product_pairs"
    __table_args__ = (UniqueConstraint("shop_system", "shop_id", "pos_system"),)

    pos_system: Mapped[str] = mapped_column(String(), primary_key=True)
    pos_id: Mapped[str] = mapped_column(String(), primary_key=True)
    shop_system: Mapped[str] = mapped_column(String(), primary_key=True)
    shop_id: Mapped[str] = mapped_column(String())
    pos_fingerprint: Mapped[str] = mapped_column(String())
    shop_fingerprint: Mapped[str] = mapped_column(String())
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CatalogCode(Base):
    """Every SKU and barcode each side's catalogue holds, linked or not: what new products
    are matched against without reading the other side's whole catalogue again."""

    __tablename__ = "catalog_codes"
    __table_args__ = (Index(None, "system", "sku"), Index(None, "system", "barcode"))

    system: Mapped[str] = mapped_column(String(), primary_key=True)
    product_id: Mapped[str] = mapped_column(String(), primary_key=True)
    variant_id: Mapped[str] = mapped_column(String(), primary_key=True)
    sku: Mapped[str | None] = mapped_column(String())
    barcode: Mapped[str | None] = mapped_column(String())


class TurnoverLedger(Base):
    """One voucher per shop day (revision 0) and its corrections (1, 2, …): posting while
    the accounting system may or may not have it, posted once it does."""

    __tablename__ = "turnover_ledger"
    __table_args__ = (CheckConstraint("state IN ('posting', 'posted')", name="state"),)

    shop: Mapped[str] = mapped_column(String(), primary_key=True)
    day: Mapped[str] = mapped_column(String(), primary_key=True)  # ISO date, the local day
    revision: Mapped[int] = mapped_column(Integer, primary_key=True)
    state: Mapped[str] = mapped_column(String())
    idempotency_key: Mapped[str] = mapped_column(String())
    reference: Mapped[str] = mapped_column(String())
    system: Mapped[str] = mapped_column(String())
    voucher_id: Mapped[str | None] = mapped_column(String())
    lines: Mapped[str] = mapped_column(Text)  # the voucher's lines as JSON
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)


class RunSlot(Base):
    """The one run of a flow for a shop that may run now: a lease. The holder renews
    `expires_at` while its run lives; a holder that dies (kill -9, a lost machine) stops
    renewing, and the slot is free again once `expires_at` has passed."""

    __tablename__ = "run_slots"

    shop: Mapped[str] = mapped_column(String(), primary_key=True)
    flow: Mapped[str] = mapped_column(String(), primary_key=True)
    holder: Mapped[str] = mapped_column(String())  # a fresh token per acquisition
    run_id: Mapped[str | None] = mapped_column(String())  # the Prefect flow run, if any
    owner: Mapped[str] = mapped_column(String())  # host and process id, for the message
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime())
    renewed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
