"""The state store: id map, sync cursors, stock ledger, quarantine, run log, the order
ledger with its refund/cancellation events, and the webhook delivery log.

``Store.open()`` connects to ``database_url()`` (a SQLite file under ``POSSYNC_HOME`` unless
``POSSYNC_DATABASE_URL`` names a PostgreSQL server), brings the schema up to date with
Alembic, and returns the typed repository the flows use.
"""

from possync.store.catalog_state import CatalogState, CodeRow, Pair
from possync.store.engine import DEFAULT_SQLITE_NAME, database_url, make_engine, migrate, redact_url
from possync.store.repository import (
    EVENT_KINDS,
    EVENT_STATES,
    ORDER_STATES,
    Link,
    OrderEvent,
    OrderLine,
    OrderRecord,
    QuarantinedRecord,
    QuarantineEntry,
    RunRecord,
    Store,
)

__all__ = [
    "DEFAULT_SQLITE_NAME",
    "EVENT_KINDS",
    "EVENT_STATES",
    "ORDER_STATES",
    "CatalogState",
    "CodeRow",
    "Link",
    "OrderEvent",
    "OrderLine",
    "OrderRecord",
    "Pair",
    "QuarantineEntry",
    "QuarantinedRecord",
    "RunRecord",
    "Store",
    "database_url",
    "make_engine",
    "migrate",
    "redact_url",
]
