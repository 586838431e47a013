"""Flow tests run against one temporary Prefect server per test session (and xdist worker)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prefect.testing.utilities import prefect_test_harness

from possync.vendors.registry import names


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


WEBSHOPS = names("webshop")


@pytest.fixture(
    params=[
        pytest.param(("woocommerce", "sqlite"), id="woocommerce-sqlite"),
        pytest.param(
            ("woocommerce", "postgres"), id="woocommerce-postgres", marks=pytest.mark.postgres
        ),
        *(pytest.param((w, "sqlite"), id=f"{w}-sqlite") for w in WEBSHOPS if w != "woocommerce"),
    ]
)
def webshop_and_db(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, str]:
    """Every webshop on SQLite, and WooCommerce on PostgreSQL too: the store's PostgreSQL
    path does not depend on the webshop, so once is enough there."""
    webshop, db = request.param
    url: str = request.getfixturevalue(f"{db}_url")
    monkeypatch.setenv("POSSYNC_DATABASE_URL", url)
    return webshop, url


@pytest.fixture
def webshop(webshop_and_db: tuple[str, str]) -> str:
    """The webshop of a module that runs on every webshop (it overrides `db_url` with
    `webshop_and_db[1]`)."""
    return webshop_and_db[0]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked `woocommerce_only` (about WooCommerce's own API) run on WooCommerce
    only; their other webshop parameters are deselected, not skipped."""
    keep: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        callspec = getattr(item, "callspec", None)
        params = callspec.params if callspec is not None else {}
        pair = params.get("webshop_and_db")
        if item.get_closest_marker("woocommerce_only") and pair and pair[0] != "woocommerce":
            dropped.append(item)
        else:
            keep.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
