"""The store's session: its engine, and the helpers every part of the store shares (one
transaction per call, chunked look-ups, dialect-aware inserts). Each concern (ids, cursors,
stock ledger, quarantine, run log, orders, deliveries, catalogue, turnover, run slots) is
a module of its own over this."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Self, TypeVar, cast

from sqlalchemy import (
    Connection,
    Engine,
    any_,
    literal,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY as PgArray
from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import InterfaceError, OperationalError, StatementError
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.base import ReadOnlyColumnCollection

from possync.store.engine import WRITE_OPTION, database_url, make_engine, migrate, redact_url
from possync.store.tables import (
    Base,
)

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


T = TypeVar("T")

# What a write of one bad row raises: the database refusing the value (PostgreSQL's
# numeric out of range is a DataError) or the driver unable to bind it (sqlite3 raises a
# plain OverflowError for an integer beyond 64 bits). A lost connection is no row's fault.
ROW_ERRORS = (StatementError, OverflowError, ValueError, TypeError)
CONNECTION_ERRORS = (OperationalError, InterfaceError)


def storable_text(value: str) -> str:
    """Text a record brought along (a vendor's message, a name), storable anywhere:
    PostgreSQL's text refuses NUL, so it is kept visible as the escape it is."""
    return value.replace("\x00", "\\x00")


def json_text(value: Mapping[str, object]) -> str:
    """A mapping as stored JSON text; default=str keeps a Decimal or datetime in a vendor
    payload from losing the record."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def row_error(exc: BaseException) -> str:
    """The database's reason for refusing a row, in one line and without the statement."""
    cause = getattr(exc, "orig", None) or exc
    return f"{type(cause).__name__}: {str(cause).splitlines()[0] if str(cause) else ''}"


def utc_now() -> datetime:
    return datetime.now(UTC)


def chunked(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def distinct(values: Iterable[str | None]) -> list[str]:
    """Sorted unique non-empty values: stable chunks and no pointless ``IN ('')``."""
    return sorted({value for value in values if value})


class StoreSession:
    """The state store: id map, sync cursors, stock ledger, quarantine, run log, order
    ledger with its events, and the webhook delivery log."""

    engine: Engine

    def __init__(self, engine: Engine) -> None:
        if engine.dialect.name not in {"sqlite", "postgresql"}:
            raise ValueError(f"unsupported database dialect {engine.dialect.name!r}")
        self.engine = engine
        self.postgres = engine.dialect.name == "postgresql"
        self._chunk = POSTGRES_CHUNK if self.postgres else SQLITE_CHUNK

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
        return f"{type(self).__name__}({redact_url(self.engine.url)})"

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One transaction that takes SQLite's write lock up front (``BEGIN IMMEDIATE``)."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(**{WRITE_OPTION: True})
            with conn.begin():
                yield conn

    def in_chunks(self, values: Sequence[T]) -> Iterator[Sequence[T]]:
        return chunked(values, self._chunk)

    def among(self, column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
        """``column IN (...)``, as one array parameter on PostgreSQL."""
        if self.postgres:
            array = literal(list(values), PgArray(column.type))
            return cast(ColumnElement[bool], column == any_(array))
        return cast(ColumnElement[bool], column.in_(values))

    def analyze_if_bulk(self, conn: Connection, entity: type[Base], rows: int) -> None:
        if self.postgres and rows >= ANALYZE_AFTER_ROWS:
            conn.execute(text(f"ANALYZE {entity.__tablename__}"))

    def insert_into(self, entity: type[Base]) -> PgInsert | SqliteInsert:
        """``INSERT`` in this engine's dialect, so ``ON CONFLICT`` clauses can follow."""
        return pg_insert(entity) if self.postgres else sqlite_insert(entity)

    def upsert(
        self,
        entity: type[Base],
        conflict: Sequence[str],
        changes: Callable[[ReadOnlyColumnCollection[str, Any]], Mapping[str, Any]],
        only_if: Callable[[ReadOnlyColumnCollection[str, Any]], ColumnElement[bool]] | None = None,
    ) -> PgInsert | SqliteInsert:
        """``INSERT ... ON CONFLICT (conflict) DO UPDATE`` in this engine's dialect.

        *changes* and *only_if* get the ``excluded`` pseudo-row (the values offered).
        """
        stmt = self.insert_into(entity)
        excluded = stmt.excluded
        return stmt.on_conflict_do_update(
            index_elements=list(conflict),
            set_=dict(changes(excluded)),
            where=only_if(excluded) if only_if is not None else None,
        )
