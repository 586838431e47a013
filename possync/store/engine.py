"""Where the store lives, how its engine is built, and how its schema is brought up to date.

SQLite (a file under ``POSSYNC_HOME``) is the zero-set-up default; a PostgreSQL URL in
``POSSYNC_DATABASE_URL`` moves the store to a server. Migrations run through Alembic's
Python API, serialised across processes (an advisory lock on PostgreSQL, ``BEGIN
IMMEDIATE`` on SQLite), so two flow runs starting on a fresh database do not race.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool

__all__ = [
    "DEFAULT_SQLITE_NAME",
    "database_url",
    "make_engine",
    "migrate",
    "migration_connection",
    "redact_url",
]

DEFAULT_SQLITE_NAME = "possync.db"
DEFAULT_HOME = ".possync"
SQLITE_BUSY_TIMEOUT_S = 30

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# Any fixed 64-bit number; every possync process takes the same one before migrating.
_MIGRATION_LOCK_KEY = 0x706F7373796E6301

# Execution option asking the SQLite "begin" hook for ``BEGIN IMMEDIATE``, so a writing
# transaction takes the write lock up front instead of failing to upgrade a read lock.
WRITE_OPTION = "possync_write"

# Alembic's ``context``/``op`` are process-global proxies: two threads must not run
# migrations at the same time even against different databases.
_alembic_lock = threading.Lock()


def database_url(explicit: str | None = None) -> str:
    """The store's URL: *explicit*, else ``POSSYNC_DATABASE_URL``, else a SQLite file.

    The SQLite file is ``$POSSYNC_HOME/possync.db`` (``POSSYNC_HOME`` defaults to
    ``.possync``); its folder is created so the first run needs no set-up.
    """
    if explicit:
        return explicit
    from_env = os.environ.get("POSSYNC_DATABASE_URL", "").strip()
    if from_env:
        return from_env
    home = Path(os.environ.get("POSSYNC_HOME", "").strip() or DEFAULT_HOME)
    home.mkdir(parents=True, exist_ok=True)
    return URL.create(
        "sqlite", database=str(home.resolve() / DEFAULT_SQLITE_NAME)
    ).render_as_string()


def redact_url(url: str | URL) -> str:
    """The URL with its password masked, safe for logs and error messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable database URL>"


def _normalise(url: str | URL) -> URL:
    """Pick psycopg 3 for bare PostgreSQL URLs and refuse back-ends the store does not speak."""
    parsed = make_url(url)
    if parsed.drivername in {"postgres", "postgresql"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    backend = parsed.get_backend_name()
    if backend not in {"sqlite", "postgresql"}:
        raise ValueError(
            f"unsupported database {redact_url(parsed)}: possync's store runs on SQLite or "
            "PostgreSQL (postgresql+psycopg://...)"
        )
    return parsed


def make_engine(url: str | URL | None = None) -> Engine:
    """An engine tuned for the store: SQLite in WAL mode with a 30 s busy timeout."""
    parsed = _normalise(url if url is not None else database_url())
    if parsed.get_backend_name() == "postgresql":
        return create_engine(parsed, pool_pre_ping=True)
    return _sqlite_engine(parsed)


def _sqlite_engine(url: URL) -> Engine:
    in_memory = url.database in (None, "", ":memory:")
    kwargs: dict[str, Any] = {
        "connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False}
    }
    if in_memory:
        # One shared connection, or every checkout would see a new empty database.
        kwargs["poolclass"] = StaticPool
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Take BEGIN away from the sqlite3 module (it skips it for SELECT and DDL) and
        # emit it ourselves in _on_begin, so every transaction really is one.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_S * 1000}")
            cursor.execute("PRAGMA foreign_keys = ON")
            if not in_memory:
                cursor.execute("PRAGMA journal_mode = WAL")
                cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        writing = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")

    return engine


@contextmanager
def migration_connection(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that holds the store-wide migration lock.

    Commits on a clean exit. A second process blocks here until the first has committed,
    then finds the schema at head and has nothing to do.
    """
    with engine.connect() as conn:
        conn = conn.execution_options(**{WRITE_OPTION: True})
        with conn.begin():
            if conn.dialect.name == "postgresql":
                conn.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY}
                )
            yield conn


def alembic_config() -> Config:
    """Alembic's configuration, pointing at the packaged migrations (no ini file needed)."""
    config = Config()
    # ConfigParser interpolation treats '%' specially.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to *revision*; a no-op when it is there already."""
    config = alembic_config()
    with _alembic_lock, migration_connection(engine) as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
