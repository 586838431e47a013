"""The typed repository over the store's tables: what flows and tasks call.

The order ledger is what makes a webshop order reach the POS exactly once: every state
change is a compare-and-set (``UPDATE ... WHERE state IN (...)``), so of two runs racing
to transfer the same order only one moves it to ``transferring``, and the idempotency key
stored with the order is the one every retry sends to the POS.

Every method is one short transaction on its own pooled connection (so one Store may be
shared by threads), takes and returns plain frozen dataclasses (never ORM objects bound to
a session), and handles batches: lookups split their ``IN`` lists into chunks (SQLite caps
bound variables) and writes are one ``executemany`` of ``INSERT ... ON CONFLICT`` rows, so
100,000 rows take seconds, not one ORM flush per row.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Self, TypeVar, cast

from sqlalchemy import (
    Connection,
    Engine,
    and_,
    any_,
    delete,
    insert,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY as PgArray
from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import InterfaceError, OperationalError, StatementError
from sqlalchemy.sql import ColumnElement, Update
from sqlalchemy.sql.base import ReadOnlyColumnCollection

from possync.store.catalog_state import CatalogState
from possync.store.engine import WRITE_OPTION, database_url, make_engine, migrate, redact_url
from possync.store.run_slots import RunSlots
from possync.store.tables import (
    EVENT_STATES,
    ORDER_STATES,
    Base,
    Cursor,
    IdMap,
    OrderEventLog,
    OrderLedger,
    Quarantine,
    RunLog,
    RunSlot,
    StockLedger,
    WebhookDelivery,
)
from possync.store.turnover_ledger import TurnoverState

__all__ = [
    "EVENT_KINDS",
    "EVENT_STATES",
    "ORDER_STATES",
    "Link",
    "OrderEvent",
    "OrderLine",
    "OrderRecord",
    "QuarantineEntry",
    "QuarantinedRecord",
    "RunRecord",
    "Store",
]

# Values per lookup query. SQLite gets an IN list, far below its bound-variable limit
# (32,766; 999 on old builds); PostgreSQL gets one array parameter (``= ANY(:array)``),
# so it takes bigger chunks and fewer round trips.
SQLITE_CHUNK = 500
POSTGRES_CHUNK = 5_000

# After writing this many rows in one call, PostgreSQL re-ANALYZEs the table. Until a
# table has statistics (autovacuum may be off, or not have come round after a first bulk
# load) the planner can pick an index on ``system`` alone and filter 100,000 rows per
# lookup: minutes instead of seconds.
ANALYZE_AFTER_ROWS = 5_000

# Serialises id-map writers on PostgreSQL: save_links reads then writes, and two
# concurrent batches touching the same product must not interleave.
_ID_MAP_LOCK_KEY = 0x706F7373796E6302

# What an order event can be: stock going back to the POS for a refund or a cancellation.
EVENT_KINDS = ("refund", "cancel")

# What save_order updates on an existing row; never the idempotency key or created_at.
_ORDER_CHANGES = ("status", "state", "lines", "modified_at", "updated_at")

# Orders whose stock the POS still counts as on hand although the webshop has sold it.
RESERVING_STATES = ("reserved", "transferring")

_T = TypeVar("_T")

# What a write of one bad row raises: the database refusing the value (PostgreSQL's
# numeric out of range is a DataError) or the driver unable to bind it (sqlite3 raises a
# plain OverflowError for an integer beyond 64 bits). A lost connection is no row's fault.
_ROW_ERRORS = (StatementError, OverflowError, ValueError, TypeError)
_CONNECTION_ERRORS = (OperationalError, InterfaceError)


def _text(value: str) -> str:
    """Text a record brought along (a vendor's message, a name), storable anywhere:
    PostgreSQL's text refuses NUL, so it is kept visible as the escape it is."""
    return value.replace("\x00", "\\x00")


def _row_error(exc: BaseException) -> str:
    """The database's reason for refusing a row, in one line and without the statement."""
    cause = getattr(exc, "orig", None) or exc
    return f"{type(cause).__name__}: {str(cause).splitlines()[0] if str(cause) else ''}"


def _now() -> datetime:
    return datetime.now(UTC)


def _chunks(items: Sequence[_T], size: int) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _distinct(values: Iterable[str | None]) -> list[str]:
    """Sorted unique non-empty values: stable chunks and no pointless ``IN ('')``."""
    return sorted({value for value in values if value})


@dataclass(frozen=True)
class Link:
    """One product key's identity in one system (``variant_id`` is ``''`` without variants)."""

    product_key: str
    system: str
    external_id: str
    variant_id: str
    sku: str | None
    barcode: str | None


@dataclass(frozen=True)
class QuarantineEntry:
    """A record a flow set aside, and why (``field`` names the offending field, if one)."""

    flow: str
    system: str
    record_id: str
    field: str | None
    reason: str
    payload: dict[str, object]


@dataclass(frozen=True)
class QuarantinedRecord(QuarantineEntry):
    """A quarantined record as stored: how often it failed and since when."""

    attempts: int
    first_seen: datetime
    last_seen: datetime


@dataclass(frozen=True)
class RunRecord:
    """One flow run from the run log (``finished_at`` is ``None`` while it runs)."""

    id: int
    flow: str
    run_id: str | None
    started_at: datetime
    finished_at: datetime | None
    status: str
    counts: dict[str, int]


@dataclass(frozen=True)
class OrderLine:
    """One line of a webshop order as the POS write needs it.

    ``price`` is the unit price as a decimal string (never a float); ``product_key`` is
    ``None`` when the line matched no product, ``line_id`` is the webshop's line item id.
    """

    sku: str | None
    quantity: int
    product_key: str | None
    pos_id: str | None
    price: str
    name: str = ""
    line_id: str = ""


@dataclass(frozen=True)
class OrderRecord:
    """A webshop order in the ledger: its state on the way to the POS and what it became."""

    shop: str
    order_id: str
    status: str
    state: str
    lines: tuple[OrderLine, ...]
    idempotency_key: str
    pos_document: str | None
    pos_payment: str | None
    modified_at: datetime
    created_at: datetime
    updated_at: datetime
    transferred_at: datetime | None
    last_error: str | None
    attempts: int
    # The run slot holder whose run moved the order to `transferring` (``claim_order``).
    claimed_by: str | None = None


@dataclass(frozen=True)
class OrderEvent:
    """A refund or cancellation of an order, applied to the POS once (``pending``/``done``).

    ``amount`` is a decimal string; ``attempts`` counts the failures noted so far.
    """

    shop: str
    order_id: str
    event_key: str
    kind: str
    state: str
    idempotency_key: str
    lines: tuple[OrderLine, ...]
    amount: str | None
    pos_document: str | None
    last_error: str | None
    created_at: datetime
    done_at: datetime | None
    attempts: int = 0


_LINK_COLUMNS = (
    IdMap.product_key,
    IdMap.system,
    IdMap.external_id,
    IdMap.variant_id,
    IdMap.sku,
    IdMap.barcode,
)


def _latest_links(links: Iterable[Link]) -> list[Link]:
    """Drop links that a later link in the same batch supersedes.

    A later link wins over an earlier one that shares its (system, external id, variant)
    or its (system, product key), as if they had been saved one after the other.
    """
    kept: dict[int, Link] = {}
    by_external: dict[tuple[str, str, str], int] = {}
    by_key: dict[tuple[str, str], int] = {}
    for index, link in enumerate(links):
        external = (link.system, link.external_id, link.variant_id)
        key = (link.system, link.product_key)
        for old in {by_external.get(external), by_key.get(key)}:
            if old is None:
                continue
            previous = kept.pop(old)
            by_external.pop((previous.system, previous.external_id, previous.variant_id))
            by_key.pop((previous.system, previous.product_key))
        kept[index] = link
        by_external[external] = index
        by_key[key] = index
    return list(kept.values())


def _json(value: Mapping[str, object]) -> str:
    # default=str keeps a Decimal or datetime in a vendor payload from losing the record.
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def _decimal_text(value: object, what: str) -> str:
    """*value* as decimal text, refusing floats: a float price has already lost cents."""
    if isinstance(value, Decimal):
        text_value = str(value)
    elif isinstance(value, str):
        text_value = value
    else:
        raise TypeError(f"{what} must be a decimal string, not {type(value).__name__}")
    try:
        finite = Decimal(text_value).is_finite()
    except InvalidOperation:
        finite = False
    if not finite:
        raise ValueError(f"{what} {text_value!r} is not a decimal number")
    return text_value


def _lines_json(lines: Iterable[OrderLine]) -> str:
    """Order lines as a JSON list of objects; prices stay strings, so no cent is lost."""
    rows: list[dict[str, object]] = []
    for line in lines:
        if isinstance(line.quantity, bool) or not isinstance(line.quantity, int):
            raise TypeError(
                f"order line {line.line_id!r}: quantity must be an int, "
                f"not {type(line.quantity).__name__}"
            )
        rows.append(
            {
                "sku": line.sku,
                "quantity": line.quantity,
                "product_key": line.product_key,
                "pos_id": line.pos_id,
                "price": _decimal_text(line.price, f"order line {line.line_id!r}: price"),
                "name": line.name,
                "line_id": line.line_id,
            }
        )
    return json.dumps(rows, ensure_ascii=False)


def _lines_from_json(stored: str) -> tuple[OrderLine, ...]:
    return tuple(
        OrderLine(
            sku=item.get("sku"),
            quantity=int(item["quantity"]),
            product_key=item.get("product_key"),
            pos_id=item.get("pos_id"),
            price=str(item["price"]),
            name=item.get("name") or "",
            line_id=item.get("line_id") or "",
        )
        for item in cast(list[dict[str, Any]], json.loads(stored))
    )


def _known(what: str, allowed: tuple[str, ...], values: Iterable[str]) -> list[str]:
    """The distinct *values*, refusing unknown ones: a misspelt state would never match,
    and a compare-and-set that silently never happens looks like a lost race."""
    if isinstance(values, str):
        raise TypeError(f"{what}: pass a collection of names, not the string {values!r}")
    chosen = sorted(set(values))
    unknown = [value for value in chosen if value not in allowed]
    if unknown:
        raise ValueError(f"unknown {what} {unknown}: expected one of {list(allowed)}")
    return chosen


def _order_record(row: Any) -> OrderRecord:
    return OrderRecord(
        shop=row.shop,
        order_id=row.order_id,
        status=row.status,
        state=row.state,
        lines=_lines_from_json(row.lines),
        idempotency_key=row.idempotency_key,
        pos_document=row.pos_document,
        pos_payment=row.pos_payment,
        modified_at=row.modified_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
        transferred_at=row.transferred_at,
        last_error=row.last_error,
        attempts=row.attempts,
        claimed_by=row.claimed_by,
    )


def _order_event(row: Any) -> OrderEvent:
    return OrderEvent(
        shop=row.shop,
        order_id=row.order_id,
        event_key=row.event_key,
        kind=row.kind,
        state=row.state,
        idempotency_key=row.idempotency_key,
        lines=_lines_from_json(row.lines),
        amount=row.amount,
        pos_document=row.pos_document,
        last_error=row.last_error,
        created_at=row.created_at,
        done_at=row.done_at,
        attempts=row.attempts,
    )


class Store:
    """The state store: id map, sync cursors, stock ledger, quarantine, run log, order
    ledger with its events, and the webhook delivery log."""

    engine: Engine

    def __init__(self, engine: Engine) -> None:
        if engine.dialect.name not in {"sqlite", "postgresql"}:
            raise ValueError(f"unsupported database dialect {engine.dialect.name!r}")
        self.engine = engine
        self._postgres = engine.dialect.name == "postgresql"
        self._chunk = POSTGRES_CHUNK if self._postgres else SQLITE_CHUNK

    @classmethod
    def open(cls, url: str | None = None) -> Self:
        """Connect (see ``database_url``), migrate to the latest schema, return the store.

        Safe to call from several processes at once: migrations are serialised by a lock
        in the database, and a store already at head is left untouched.
        """
        engine = make_engine(database_url(url))
        try:
            migrate(engine)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine)

    @property
    def turnover(self) -> TurnoverState:
        """The turnover ledger: each shop day's voucher, posted exactly once."""
        return TurnoverState(self)

    @property
    def slots(self) -> RunSlots:
        """Run slots: one run per shop and flow at a time (see ``run_slots``)."""
        return RunSlots(self)

    @property
    def catalog(self) -> CatalogState:
        """Product pairs and the catalogue code index (the product sync's memory)."""
        return CatalogState(self)

    def close(self) -> None:
        """Close the pooled connections."""
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({redact_url(self.engine.url)})"

    # -- plumbing ------------------------------------------------------------------------

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """One transaction that takes SQLite's write lock up front (``BEGIN IMMEDIATE``)."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(**{WRITE_OPTION: True})
            with conn.begin():
                yield conn

    def _chunks(self, values: Sequence[_T]) -> Iterator[Sequence[_T]]:
        return _chunks(values, self._chunk)

    def _among(self, column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
        """``column IN (...)``, as one array parameter on PostgreSQL."""
        if self._postgres:
            array = literal(list(values), PgArray(column.type))
            return cast(ColumnElement[bool], column == any_(array))
        return cast(ColumnElement[bool], column.in_(values))

    def _analyze_if_bulk(self, conn: Connection, entity: type[Base], rows: int) -> None:
        if self._postgres and rows >= ANALYZE_AFTER_ROWS:
            conn.execute(text(f"ANALYZE {entity.__tablename__}"))

    def _insert(self, entity: type[Base]) -> PgInsert | SqliteInsert:
        """``INSERT`` in this engine's dialect, so ``ON CONFLICT`` clauses can follow."""
        return pg_insert(entity) if self._postgres else sqlite_insert(entity)

    def _upsert(
        self,
        entity: type[Base],
        conflict: Sequence[str],
        changes: Callable[[ReadOnlyColumnCollection[str, Any]], Mapping[str, Any]],
        only_if: Callable[[ReadOnlyColumnCollection[str, Any]], ColumnElement[bool]] | None = None,
    ) -> PgInsert | SqliteInsert:
        """``INSERT ... ON CONFLICT (conflict) DO UPDATE`` in this engine's dialect.

        *changes* and *only_if* get the ``excluded`` pseudo-row (the values offered).
        """
        stmt = self._insert(entity)
        excluded = stmt.excluded
        return stmt.on_conflict_do_update(
            index_elements=list(conflict),
            set_=dict(changes(excluded)),
            where=only_if(excluded) if only_if is not None else None,
        )

    # -- id map --------------------------------------------------------------------------

    def _links_where(
        self, system: str, column: Any, values: Iterable[str | None]
    ) -> Iterator[Link]:
        wanted = _distinct(values)
        with self._read() as conn:
            for chunk in self._chunks(wanted):
                rows = conn.execute(
                    select(*_LINK_COLUMNS)
                    .where(IdMap.system == system, self._among(column, chunk))
                    .order_by(IdMap.id)
                )
                for row in rows:
                    yield Link(*row)

    def links_by_variant(self, system: str, variant_ids: Collection[str]) -> dict[str, Link]:
        """Links by vendor variant id; products without variants (``''``) never match."""
        return {
            link.variant_id: link
            for link in self._links_where(system, IdMap.variant_id, variant_ids)
        }

    def links_by_external(
        self, system: str, external_ids: Collection[str]
    ) -> dict[str, list[Link]]:
        """Links by vendor product id: one per variant, or one for a product without."""
        found: dict[str, list[Link]] = {}
        for link in self._links_where(system, IdMap.external_id, external_ids):
            found.setdefault(link.external_id, []).append(link)
        return found

    def links_by_key(self, system: str, product_keys: Collection[str]) -> dict[str, Link]:
        """Each product key's link in *system* (a key has at most one per system)."""
        return {
            link.product_key: link
            for link in self._links_where(system, IdMap.product_key, product_keys)
        }

    def links_by_sku(self, system: str, skus: Collection[str]) -> dict[str, list[Link]]:
        """Links by SKU; a list, because nothing stops a vendor from reusing a SKU."""
        found: dict[str, list[Link]] = {}
        for link in self._links_where(system, IdMap.sku, skus):
            found.setdefault(cast(str, link.sku), []).append(link)
        return found

    def links_by_barcode(self, system: str, barcodes: Collection[str]) -> dict[str, list[Link]]:
        """Links by barcode; a list, because shops do put one barcode on several items."""
        found: dict[str, list[Link]] = {}
        for link in self._links_where(system, IdMap.barcode, barcodes):
            found.setdefault(cast(str, link.barcode), []).append(link)
        return found

    def save_links(self, links: Iterable[Link]) -> None:
        """Insert or update links, in one transaction.

        A link replaces any row with its (system, external id, variant) or its (system,
        product key): a product re-created in the webshop keeps its key and its row, now
        pointing at the new id; an external id claimed by another key moves to that key.
        Within *links*, a later link supersedes an earlier one that shares either key, and
        a superseded link has no effect at all.
        """
        chosen = _latest_links(links)
        if not chosen:
            return
        wanted: dict[str, dict[tuple[str, str], str]] = {}
        for link in chosen:
            wanted.setdefault(link.system, {})[(link.external_id, link.variant_id)] = (
                link.product_key
            )
        now = _now()
        rows = [
            {
                "product_key": link.product_key,
                "system": link.system,
                "external_id": link.external_id,
                "variant_id": link.variant_id,
                "sku": link.sku,
                "barcode": link.barcode,
                "updated_at": now,
            }
            for link in chosen
        ]
        stmt = self._upsert(
            IdMap,
            ["system", "product_key"],
            lambda new: {
                "external_id": new.external_id,
                "variant_id": new.variant_id,
                "sku": new.sku,
                "barcode": new.barcode,
                "updated_at": new.updated_at,
            },
            # Leave unchanged rows alone: updated_at then says when a link last changed.
            lambda new: or_(
                IdMap.external_id != new.external_id,
                IdMap.variant_id != new.variant_id,
                IdMap.sku.is_distinct_from(new.sku),
                IdMap.barcode.is_distinct_from(new.barcode),
            ),
        )
        with self._write() as conn:
            if self._postgres:
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ID_MAP_LOCK_KEY})
            # Rows holding an offered external id under another key lose it first; the
            # upsert on (system, product_key) then cannot hit the other unique constraint.
            stale: list[int] = []
            for system, by_external in wanted.items():
                for chunk in self._chunks(_distinct(external for external, _ in by_external)):
                    held = conn.execute(
                        select(
                            IdMap.id, IdMap.external_id, IdMap.variant_id, IdMap.product_key
                        ).where(IdMap.system == system, self._among(IdMap.external_id, chunk))
                    )
                    for row_id, external_id, variant_id, product_key in held:
                        key = by_external.get((external_id, variant_id))
                        if key is not None and key != product_key:
                            stale.append(row_id)
            for id_chunk in self._chunks(stale):
                conn.execute(delete(IdMap).where(self._among(IdMap.id, id_chunk)))
            conn.execute(stmt, rows)
            self._analyze_if_bulk(conn, IdMap, len(rows))

    def new_product_key(self) -> str:
        """A fresh internal product key."""
        return uuid.uuid4().hex

    # -- cursors -------------------------------------------------------------------------

    def get_cursor(self, name: str) -> str | None:
        """The cursor's value, or ``None`` before the first run."""
        with self._read() as conn:
            return conn.execute(
                select(Cursor.value).where(Cursor.name == name)
            ).scalar_one_or_none()

    def set_cursor(self, name: str, value: str) -> None:
        """Store the cursor; call only after the page it points past is committed."""
        with self._write() as conn:
            self._set_cursor(conn, name, value)

    def _set_cursor(self, conn: Connection, name: str, value: str) -> None:
        stmt = self._upsert(
            Cursor,
            ["name"],
            lambda new: {"value": new.value, "updated_at": new.updated_at},
        )
        conn.execute(stmt, {"name": name, "value": value, "updated_at": _now()})

    # -- stock ledger --------------------------------------------------------------------

    def record_pushes(
        self, system: str, quantities: Mapping[str, int], run_id: str | None = None
    ) -> dict[str, str]:
        """Remember the quantities just pushed to *system* (keyed by product key).

        One transaction for all; if the database refuses a value (out of range, say), each
        row is written on its own so one bad row fails alone. Returns the product keys not
        recorded, with the database's reason; a lost connection raises."""
        if not quantities:
            return {}
        now = _now()
        rows = [
            {
                "system": system,
                "product_key": key,
                "quantity": quantities[key],
                "pushed_at": now,
                "run_id": run_id,
            }
            for key in sorted(quantities)
        ]
        stmt = self._upsert(
            StockLedger,
            ["system", "product_key"],
            lambda new: {
                "quantity": new.quantity,
                "pushed_at": new.pushed_at,
                "run_id": new.run_id,
            },
        )
        try:
            with self._write() as conn:
                conn.execute(stmt, rows)
                self._analyze_if_bulk(conn, StockLedger, len(rows))
            return {}
        except _ROW_ERRORS as exc:
            if isinstance(exc, _CONNECTION_ERRORS):
                raise
            if len(rows) == 1:
                return {str(rows[0]["product_key"]): _row_error(exc)}
        refused: dict[str, str] = {}
        for row in rows:
            try:
                with self._write() as conn:
                    conn.execute(stmt, [row])
            except _ROW_ERRORS as exc:
                if isinstance(exc, _CONNECTION_ERRORS):
                    raise
                refused[str(row["product_key"])] = _row_error(exc)
        return refused

    def last_pushed(self, system: str, product_keys: Collection[str]) -> dict[str, int]:
        """What was last pushed to *system* per product key; never-pushed keys are absent."""
        found: dict[str, int] = {}
        with self._read() as conn:
            for chunk in self._chunks(_distinct(product_keys)):
                rows = conn.execute(
                    select(StockLedger.product_key, StockLedger.quantity).where(
                        StockLedger.system == system, self._among(StockLedger.product_key, chunk)
                    )
                )
                found.update((key, quantity) for key, quantity in rows)
        return found

    # -- quarantine ----------------------------------------------------------------------

    def quarantine(self, entries: Iterable[QuarantineEntry]) -> None:
        """Set records aside: new ones open with one attempt; known ones are reopened,
        get the latest reason and payload, and count one more attempt."""
        latest = {(e.flow, e.system, e.record_id): e for e in entries}
        if not latest:
            return
        now = _now()
        rows = [
            {
                "flow": entry.flow,
                "system": entry.system,
                "record_id": entry.record_id,
                "field": entry.field,
                "reason": _text(entry.reason),
                "payload": _json(entry.payload),
                "status": "open",
                "first_seen": now,
                "last_seen": now,
                "attempts": 1,
            }
            for _, entry in sorted(latest.items())
        ]
        stmt = self._upsert(
            Quarantine,
            ["flow", "system", "record_id"],
            lambda new: {
                "field": new.field,
                "reason": new.reason,
                "payload": new.payload,
                "status": new.status,
                "last_seen": new.last_seen,
                "attempts": Quarantine.attempts + 1,
            },
        )
        with self._write() as conn:
            conn.execute(stmt, rows)
            self._analyze_if_bulk(conn, Quarantine, len(rows))

    def open_quarantine(self, flow: str, system: str | None = None) -> list[QuarantinedRecord]:
        """The flow's open records (optionally for one system), oldest first."""
        query = select(*Quarantine.__table__.columns).where(
            Quarantine.flow == flow, Quarantine.status == "open"
        )
        if system is not None:
            query = query.where(Quarantine.system == system)
        with self._read() as conn:
            rows = conn.execute(query.order_by(Quarantine.first_seen, Quarantine.id))
            return [
                QuarantinedRecord(
                    flow=row.flow,
                    system=row.system,
                    record_id=row.record_id,
                    field=row.field,
                    reason=row.reason,
                    payload=cast(dict[str, object], json.loads(row.payload)),
                    attempts=row.attempts,
                    first_seen=row.first_seen,
                    last_seen=row.last_seen,
                )
                for row in rows
            ]

    def resolve_quarantine(self, flow: str, system: str, record_ids: Collection[str]) -> int:
        """Mark the records as gone through; returns how many open ones were resolved."""
        resolved = 0
        with self._write() as conn:
            for chunk in self._chunks(_distinct(record_ids)):
                result = conn.execute(
                    update(Quarantine)
                    .where(
                        Quarantine.flow == flow,
                        Quarantine.system == system,
                        self._among(Quarantine.record_id, chunk),
                        Quarantine.status == "open",
                    )
                    .values(status="resolved")
                )
                resolved += result.rowcount
        return resolved

    # -- run log -------------------------------------------------------------------------

    def start_run(self, flow: str, run_id: str | None) -> int:
        """Log a run as started; returns the id ``finish_run`` needs."""
        with self._write() as conn:
            new_id = conn.execute(
                insert(RunLog)
                .values(flow=flow, run_id=run_id, started_at=_now(), status="running", counts="{}")
                .returning(RunLog.id)
            ).scalar_one()
            return new_id

    def finish_run(self, run_log_id: int, status: str, counts: Mapping[str, int]) -> None:
        """Close a run with its outcome and counts; an unknown id raises ``KeyError``."""
        with self._write() as conn:
            result = conn.execute(
                update(RunLog)
                .where(RunLog.id == run_log_id)
                .values(finished_at=_now(), status=status, counts=_json(counts))
            )
            if result.rowcount == 0:
                raise KeyError(f"no run_log row with id {run_log_id}")

    def recent_runs(self, flow: str, limit: int = 20) -> list[RunRecord]:
        """The flow's latest runs, newest first."""
        with self._read() as conn:
            rows = conn.execute(
                select(*RunLog.__table__.columns)
                .where(RunLog.flow == flow)
                .order_by(RunLog.started_at.desc(), RunLog.id.desc())
                .limit(limit)
            )
            return [
                RunRecord(
                    id=row.id,
                    flow=row.flow,
                    run_id=row.run_id,
                    started_at=row.started_at,
                    finished_at=row.finished_at,
                    status=row.status,
                    counts=cast(dict[str, int], json.loads(row.counts)),
                )
                for row in rows
            ]

    # -- order ledger --------------------------------------------------------------------

    def orders(self, shop: str, order_ids: Collection[str]) -> dict[str, OrderRecord]:
        """The ledger's rows for these webshop orders; unknown orders are absent."""
        found: dict[str, OrderRecord] = {}
        with self._read() as conn:
            for chunk in self._chunks(_distinct(order_ids)):
                rows = conn.execute(
                    select(*OrderLedger.__table__.columns).where(
                        OrderLedger.shop == shop, self._among(OrderLedger.order_id, chunk)
                    )
                )
                found.update((row.order_id, _order_record(row)) for row in rows)
        return found

    def orders_in_states(self, shop: str, states: Collection[str]) -> list[OrderRecord]:
        """The shop's orders in any of *states*, first seen first (e.g. the ones to retry)."""
        wanted = _known("order states", ORDER_STATES, states)
        if not wanted:
            return []
        with self._read() as conn:
            rows = conn.execute(
                select(*OrderLedger.__table__.columns)
                .where(OrderLedger.shop == shop, OrderLedger.state.in_(wanted))
                .order_by(OrderLedger.created_at, OrderLedger.id)
            )
            return [_order_record(row) for row in rows]

    def save_order(
        self,
        shop: str,
        order_id: str,
        *,
        status: str,
        state: str,
        lines: Sequence[OrderLine],
        modified_at: datetime,
        idempotency_key: str,
        expect_states: Collection[str | None] | None = None,
    ) -> bool:
        """Insert the order, or update its status, state, lines and modified time.

        With *expect_states* this is a compare-and-set: it writes only if the row's state
        is one of them, a missing row counting as ``None`` (so ``{None}`` means "insert,
        never update"). Returns whether it wrote. An existing row keeps its idempotency
        key whatever is passed: the POS may already hold a sale under it.
        """
        _known("order state", ORDER_STATES, [state])
        now = _now()
        values = {
            "shop": shop,
            "order_id": order_id,
            "status": status,
            "state": state,
            "lines": _lines_json(lines),
            "idempotency_key": idempotency_key,
            "modified_at": modified_at,
            "created_at": now,
            "updated_at": now,
            "attempts": 0,
        }
        changed = {column: values[column] for column in _ORDER_CHANGES}
        conflict = ["shop", "order_id"]
        stmt: PgInsert | SqliteInsert | Update
        params: Mapping[str, Any] | None = values
        if expect_states is None:
            stmt = self._upsert(OrderLedger, conflict, lambda new: {c: new[c] for c in changed})
        else:
            if isinstance(expect_states, str):
                raise TypeError(f"expect_states: pass a collection, not {expect_states!r}")
            may_insert = None in expect_states
            current = _known(
                "order states", ORDER_STATES, (s for s in expect_states if s is not None)
            )
            guard = OrderLedger.state.in_(current)
            if may_insert and not current:
                stmt = self._insert(OrderLedger).on_conflict_do_nothing(index_elements=conflict)
            elif may_insert:
                stmt = self._upsert(
                    OrderLedger,
                    conflict,
                    lambda new: {c: new[c] for c in changed},
                    lambda _new: guard,
                )
            elif current:
                stmt = (
                    update(OrderLedger)
                    .where(OrderLedger.shop == shop, OrderLedger.order_id == order_id, guard)
                    .values(changed)
                )
                params = None
            else:
                return False
        with self._write() as conn:
            # RETURNING says whether a row was written on both dialects, where rowcount
            # of an upsert whose WHERE failed is not reliable everywhere.
            written = conn.execute(stmt.returning(OrderLedger.id), params).first()
            return written is not None

    def transition_order(
        self,
        shop: str,
        order_id: str,
        *,
        from_states: Collection[str],
        to_state: str,
        pos_document: str | None = None,
        pos_payment: str | None = None,
        last_error: str | None = None,
        count_attempt: bool = False,
        cursor: tuple[str, str] | None = None,
        claimed_by: str | None = None,
    ) -> bool:
        """Move the order to *to_state* if it is in one of *from_states*; one transaction.

        This compare-and-set is the exactly-once gate: of any number of runs trying the
        same move at once, one gets ``True``. ``pos_document``/``pos_payment`` are set when
        given and never erased; ``last_error`` is set when given, and cleared on reaching
        ``transferred``. ``cursor`` (name, value) is stored in the same transaction, and
        only if the move happened, so a cursor never passes an order that did not move.
        ``claimed_by`` moves the order only if that holder's claim is the one it carries
        (the run that claimed it with ``claim_order`` finishing its own transfer).
        """
        allowed = _known("order states", ORDER_STATES, from_states)
        _known("order state", ORDER_STATES, [to_state])
        if not allowed:
            return False
        now = _now()
        values: dict[str, Any] = {"state": to_state, "updated_at": now}
        if to_state == "transferred":
            values["transferred_at"] = now
        if pos_document is not None:
            values["pos_document"] = pos_document
        if pos_payment is not None:
            values["pos_payment"] = pos_payment
        if last_error is not None:
            values["last_error"] = last_error
        elif to_state == "transferred":
            values["last_error"] = None
        if count_attempt:
            values["attempts"] = OrderLedger.attempts + 1
        with self._write() as conn:
            result = conn.execute(
                update(OrderLedger)
                .where(
                    OrderLedger.shop == shop,
                    OrderLedger.order_id == order_id,
                    OrderLedger.state.in_(allowed),
                    *([OrderLedger.claimed_by == claimed_by] if claimed_by else []),
                )
                .values(values)
            )
            if result.rowcount != 1:
                return False
            if cursor is not None:
                self._set_cursor(conn, *cursor)
            return True

    def claim_order(self, shop: str, order_id: str, *, holder: str | None) -> bool:
        """Move the order to ``transferring`` for this run: from ``reserved``, or take over
        a ``transferring`` claim that is this holder's own (a task retry) or stale.

        A claim is stale when the run that made it no longer holds a live run slot: it
        finished, or it died and its lease ran out. A claim by a run that is still alive is
        never taken over, so two runs never both write (and count) the same order. *holder*
        is this run's slot holder (``HeldSlot.holder``); ``None`` makes a claim any other
        run may take over at once (a caller without a run slot). One compare-and-set.
        """
        now = _now()
        live = (
            select(RunSlot.holder)
            .where(RunSlot.holder == OrderLedger.claimed_by, RunSlot.expires_at > now)
            .exists()
        )
        # A NULL claim (made without a slot, or before claims had holders) is never live.
        stale_or_mine = or_(~live, OrderLedger.claimed_by == holder) if holder else ~live
        with self._write() as conn:
            result = conn.execute(
                update(OrderLedger)
                .where(
                    OrderLedger.shop == shop,
                    OrderLedger.order_id == order_id,
                    or_(
                        OrderLedger.state == "reserved",
                        and_(OrderLedger.state == "transferring", stale_or_mine),
                    ),
                )
                .values(state="transferring", claimed_by=holder, updated_at=now)
            )
            return result.rowcount == 1

    def note_order_error(self, shop: str, order_id: str, error: str) -> None:
        """Record why the order failed this time and count the attempt; its state stays.

        An order not in the ledger raises ``KeyError``.
        """
        with self._write() as conn:
            result = conn.execute(
                update(OrderLedger)
                .where(OrderLedger.shop == shop, OrderLedger.order_id == order_id)
                .values(last_error=error, attempts=OrderLedger.attempts + 1, updated_at=_now())
            )
            if result.rowcount == 0:
                raise KeyError(f"no order {order_id!r} of {shop!r} in the ledger")

    def reserved_quantities(self, shop: str) -> dict[str, int]:
        """Quantities per product key sold in the webshop but not yet taken off in the POS.

        Sellable stock = POS on-hand minus these; lines matched to no product are skipped.
        """
        reserved: dict[str, int] = {}
        with self._read() as conn:
            stored = conn.execute(
                select(OrderLedger.lines).where(
                    OrderLedger.shop == shop, OrderLedger.state.in_(RESERVING_STATES)
                )
            ).scalars()
            for lines in stored:
                for line in _lines_from_json(lines):
                    if line.product_key:
                        reserved[line.product_key] = (
                            reserved.get(line.product_key, 0) + line.quantity
                        )
        return reserved

    # -- order events --------------------------------------------------------------------

    def _event_where(self, shop: str, order_id: str, event_key: str) -> list[ColumnElement[bool]]:
        return [
            OrderEventLog.shop == shop,
            OrderEventLog.order_id == order_id,
            OrderEventLog.event_key == event_key,
        ]

    def record_event(
        self,
        shop: str,
        order_id: str,
        event_key: str,
        *,
        kind: str,
        idempotency_key: str,
        lines: Sequence[OrderLine],
        amount: str | None,
    ) -> OrderEvent:
        """Record the event as pending, once: an event seen before comes back unchanged
        (with its original idempotency key), however often the webhook or scan repeats it."""
        _known("event kind", EVENT_KINDS, [kind])
        values = {
            "shop": shop,
            "order_id": order_id,
            "event_key": event_key,
            "kind": kind,
            "state": "pending",
            "idempotency_key": idempotency_key,
            "lines": _lines_json(lines),
            "amount": None if amount is None else _decimal_text(amount, "event amount"),
            "attempts": 0,
            "created_at": _now(),
        }
        stmt = self._insert(OrderEventLog).on_conflict_do_nothing(
            index_elements=["shop", "order_id", "event_key"]
        )
        with self._write() as conn:
            conn.execute(stmt, values)
            row = conn.execute(
                select(*OrderEventLog.__table__.columns).where(
                    *self._event_where(shop, order_id, event_key)
                )
            ).one()
            return _order_event(row)

    def complete_event(
        self, shop: str, order_id: str, event_key: str, pos_document: str | None
    ) -> bool:
        """Mark a pending event done (clearing its error); ``False`` if it already was.

        An event never recorded raises ``KeyError``.
        """
        values: dict[str, Any] = {"state": "done", "done_at": _now(), "last_error": None}
        if pos_document is not None:
            values["pos_document"] = pos_document
        where = self._event_where(shop, order_id, event_key)
        with self._write() as conn:
            result = conn.execute(
                update(OrderEventLog).where(*where, OrderEventLog.state == "pending").values(values)
            )
            if result.rowcount == 1:
                return True
            if conn.execute(select(OrderEventLog.id).where(*where)).first() is None:
                raise KeyError(f"no event {event_key!r} of order {order_id!r} of {shop!r}")
            return False

    def note_event_error(self, shop: str, order_id: str, event_key: str, error: str) -> None:
        """Record why applying the event failed and count the attempt; it stays pending.

        An event never recorded raises ``KeyError``.
        """
        with self._write() as conn:
            result = conn.execute(
                update(OrderEventLog)
                .where(*self._event_where(shop, order_id, event_key))
                .values(last_error=error, attempts=OrderEventLog.attempts + 1)
            )
            if result.rowcount == 0:
                raise KeyError(f"no event {event_key!r} of order {order_id!r} of {shop!r}")

    def events(
        self, shop: str, order_id: str | None = None, states: Collection[str] | None = None
    ) -> list[OrderEvent]:
        """The shop's events (optionally of one order, or in some states), oldest first."""
        query = select(*OrderEventLog.__table__.columns).where(OrderEventLog.shop == shop)
        if order_id is not None:
            query = query.where(OrderEventLog.order_id == order_id)
        if states is not None:
            wanted = _known("event states", EVENT_STATES, states)
            if not wanted:
                return []
            query = query.where(OrderEventLog.state.in_(wanted))
        with self._read() as conn:
            rows = conn.execute(query.order_by(OrderEventLog.created_at, OrderEventLog.id))
            return [_order_event(row) for row in rows]

    # -- webhook deliveries --------------------------------------------------------------

    def first_delivery(self, source: str, delivery_key: str) -> bool:
        """``True`` (and remembered) the first time a delivery is seen, ``False`` after.

        The unique constraint decides, so of concurrent receivers exactly one gets ``True``.
        """
        stmt = (
            self._insert(WebhookDelivery)
            .on_conflict_do_nothing(index_elements=["source", "delivery_key"])
            .returning(WebhookDelivery.id)
        )
        with self._write() as conn:
            inserted = conn.execute(
                stmt, {"source": source, "delivery_key": delivery_key, "received_at": _now()}
            ).first()
            return inserted is not None

    def prune_deliveries(self, older_than: datetime) -> int:
        """Forget deliveries received before *older_than*; returns how many went.

        Keep them longer than the vendor's redelivery window, or a late retry acts twice.
        """
        with self._write() as conn:
            result = conn.execute(
                delete(WebhookDelivery).where(WebhookDelivery.received_at < older_than)
            )
            return result.rowcount
