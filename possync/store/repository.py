"""The typed repository over the store's tables: what flows and tasks call.

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
from typing import Any, Self, TypeVar, cast

from sqlalchemy import (
    Connection,
    Engine,
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
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.base import ReadOnlyColumnCollection

from possync.store.engine import WRITE_OPTION, database_url, make_engine, migrate, redact_url
from possync.store.tables import Base, Cursor, IdMap, Quarantine, RunLog, StockLedger

__all__ = [
    "Link",
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

_T = TypeVar("_T")


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


class Store:
    """The state store: id map, sync cursors, stock ledger, quarantine and run log."""

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
        stmt: PgInsert | SqliteInsert = (
            pg_insert(entity) if self._postgres else sqlite_insert(entity)
        )
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
        stmt = self._upsert(
            Cursor,
            ["name"],
            lambda new: {"value": new.value, "updated_at": new.updated_at},
        )
        with self._write() as conn:
            conn.execute(stmt, {"name": name, "value": value, "updated_at": _now()})

    # -- stock ledger --------------------------------------------------------------------

    def record_pushes(
        self, system: str, quantities: Mapping[str, int], run_id: str | None = None
    ) -> None:
        """Remember the quantities just pushed to *system* (keyed by product key)."""
        if not quantities:
            return
        now = _now()
        rows = [
            {
                "system": system,
                "product_key": key,
                "quantity": int(quantities[key]),
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
        with self._write() as conn:
            conn.execute(stmt, rows)
            self._analyze_if_bulk(conn, StockLedger, len(rows))

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
                "reason": entry.reason,
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
