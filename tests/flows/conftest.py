"""Flow tests run against one temporary Prefect server per test session (and xdist worker)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prefect.testing.utilities import prefect_test_harness


@pytest.fixture(scope="session", autouse=True)
def prefect_api() -> Iterator[None]:
    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The flows' state store, on SQLite and on PostgreSQL (flows read POSSYNC_DATABASE_URL)."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    monkeypatch.setenv("POSSYNC_DATABASE_URL", url)
    return url
