"""Alembic environment for the store.

``possync.store.migrate`` hands in a connection that already holds the migration lock
(``config.attributes["connection"]``). Run from the ``alembic`` command line instead
(``alembic -c possync/store/alembic.ini upgrade head``), it opens one itself from
``sqlalchemy.url`` or, when that is unset, from ``POSSYNC_DATABASE_URL``/``POSSYNC_HOME``.
"""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection

from possync.store.engine import database_url, make_engine, migration_connection
from possync.store.tables import Base

config = context.config
target_metadata = Base.metadata


def _configure_and_run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_offline() -> None:
    """Emit the SQL to stdout (``alembic upgrade head --sql``)."""
    context.configure(
        url=config.get_main_option("sqlalchemy.url") or database_url(),
        target_metadata=target_metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    """Run against the handed-in connection, or open a locked one ourselves."""
    handed_in = config.attributes.get("connection")
    if isinstance(handed_in, Connection):
        _configure_and_run(handed_in)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or database_url())
    try:
        with migration_connection(engine) as connection:
            _configure_and_run(connection)
    finally:
        engine.dispose()


# Only the command line configures logging; an application keeps its own set-up.
if config.config_file_name is not None and "connection" not in config.attributes:
    fileConfig(config.config_file_name, disable_existing_loggers=False)

if context.is_offline_mode():
    run_offline()
else:
    run_online()
