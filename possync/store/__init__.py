"""The state store: id map, sync cursors, stock ledger, quarantine and run log.

``Store.open()`` connects to ``database_url()`` (a SQLite file under ``POSSYNC_HOME`` unless
``POSSYNC_DATABASE_URL`` names a PostgreSQL server), brings the schema up to date with
Alembic, and returns the typed repository the flows use.
"""

from possync.store.engine import DEFAULT_SQLITE_NAME, database_url, make_engine, migrate, redact_url
from possync.store.repository import (
    Link,
    QuarantinedRecord,
    QuarantineEntry,
    RunRecord,
    Store,
)

__all__ = [
    "DEFAULT_SQLITE_NAME",
    "Link",
    "QuarantineEntry",
    "QuarantinedRecord",
    "RunRecord",
    "Store",
    "database_url",
    "make_engine",
    "migrate",
    "redact_url",
]
