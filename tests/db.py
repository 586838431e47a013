"""Database fixtures for any test module: a SQLite file, a throw-away PostgreSQL database,
and ``store``, an opened Store on each of the two.

PostgreSQL comes from ``POSSYNC_TEST_POSTGRES_URL`` (default: the local server, trust
auth). Each test gets a fresh, uniquely named database, dropped afterwards, so tests
run in parallel under xdist without seeing each other's rows. Without a reachable server
the PostgreSQL tests skip, saying why, unless ``POSSYNC_REQUIRE_POSTGRES=1`` (CI), where
they fail instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from possync.store import Store, redact_url

__all__ = [
    "DEFAULT_POSTGRES_URL",
    "postgres_admin",
    "postgres_server_url",
    "postgres_url",
    "sqlite_url",
    "store",
]

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def postgres_server_url() -> URL:
    """The server the PostgreSQL tests use (its database is only for CREATE/DROP)."""
    url = make_url(os.environ.get("POSSYNC_TEST_POSTGRES_URL") or DEFAULT_POSTGRES_URL)
    if url.drivername in {"postgres", "postgresql"}:
        url = url.set(drivername="postgresql+psycopg")
    return url


def _postgres_unavailable(reason: str) -> NoReturn:
    if os.environ.get("POSSYNC_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"{reason} (POSSYNC_REQUIRE_POSTGRES=1, so this fails)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[Engine]:
    """An autocommit engine on the test server, checked once per session (and worker)."""
    url = postgres_server_url()
    engine = create_engine(
        url,
        isolation_level="AUTOCOMMIT",
        poolclass=NullPool,
        connect_args={"connect_timeout": 5},
    )
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        engine.dispose()
        first_line = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        _postgres_unavailable(
            f"PostgreSQL not reachable at {redact_url(url)}: {first_line}; "
            "set POSSYNC_TEST_POSTGRES_URL to a server the tests may create databases on"
        )
    yield engine
    engine.dispose()


@pytest.fixture
def postgres_url(postgres_admin: Engine) -> Iterator[str]:
    """A URL to a fresh, empty PostgreSQL database, dropped after the test."""
    name = f"possync_test_{uuid.uuid4().hex[:16]}"
    with postgres_admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield postgres_server_url().set(database=name).render_as_string(hide_password=False)
    finally:
        with postgres_admin.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A URL to a SQLite file in the test's temporary folder (not created yet)."""
    return URL.create("sqlite", database=str(tmp_path / "possync.db")).render_as_string()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    """An opened, migrated Store on SQLite and on PostgreSQL."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    opened = Store.open(url)
    try:
        yield opened
    finally:
        opened.close()
