"""The WooCommerce emulator holds a 100,000-SKU shop and answers SKU lookups fast.

The sync's bench uses a shop of this size; lookups go through dicts, never full scans.
Time limits are generous so a loaded CI machine does not flake.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from emulators.demo import demo_catalogue
from emulators.woocommerce import PREFIX, WooState, create_woocommerce_app
from possync.serving import RunningServer, serve_in_thread

SKUS = 100_000


@pytest.fixture(scope="module")
def big_shop() -> Iterator[tuple[WooState, RunningServer, float]]:
    catalogue = demo_catalogue(SKUS)
    state = WooState()
    started = time.perf_counter()
    state.seed(catalogue)
    seconds = time.perf_counter() - started
    server = serve_in_thread(create_woocommerce_app(state))
    yield state, server, seconds
    server.stop()
    state.close()


def test_seeding_100k_skus_takes_under_ten_seconds(
    big_shop: tuple[WooState, RunningServer, float],
) -> None:
    state, _, seconds = big_shop
    assert seconds < 10
    assert state.id_for_sku(f"DEMO-{SKUS:06d}") > 0
    assert state.stock(state.id_for_sku("DEMO-000001")) is not None


def test_a_100_sku_lookup_is_fast_and_exact(
    big_shop: tuple[WooState, RunningServer, float],
) -> None:
    _, server, _ = big_shop
    wanted = [f"DEMO-{n:06d}" for n in range(50_001, 100_001, 500)]
    with httpx.Client(base_url=server.url + PREFIX, auth=("ck_demo", "cs_demo")) as client:
        started = time.perf_counter()
        response = client.get("/products", params={"sku": ",".join(wanted), "per_page": 100})
        seconds = time.perf_counter() - started
    assert response.status_code == 200
    assert sorted(p["sku"] for p in response.json()) == sorted(wanted)
    assert response.headers["X-WP-Total"] == "100"
    assert seconds < 1.0


def test_paging_through_the_big_catalogue_stays_cheap(
    big_shop: tuple[WooState, RunningServer, float],
) -> None:
    _, server, _ = big_shop
    with httpx.Client(base_url=server.url + PREFIX, auth=("ck_demo", "cs_demo")) as client:
        first = client.get("/products", params={"per_page": 100})
        started = time.perf_counter()
        pages = [client.get("/products", params={"per_page": 100, "page": p}) for p in range(2, 22)]
        seconds = time.perf_counter() - started
    ids = [p["id"] for r in [first, *pages] for p in r.json()]
    assert len(ids) == len(set(ids)) == 2100
    assert int(first.headers["X-WP-Total"]) > 50_000
    assert seconds < 5.0
