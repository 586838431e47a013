"""Prices cross between POS and webshop exactly, in the shop's currency's own minor units
(ISO 4217: JPY 0, DKK 2, KWD 3), or not at all: a price the other side cannot hold exactly
is quarantined with its field and reason, never rounded (issue 12, defect 3).

Real Prefect runs, real HTTP to the Square and WooCommerce emulators (WooCommerce keeps a
price as the text the admin typed, so it can hold every bad price below)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from prefect.client.schemas.objects import State

from blocks import SyncSettings
from emulators.demo import DemoProduct, demo_catalogue
from flows.products import sync_products
from possync.store import Store
from tests import catalog_admin as admin
from tests.shop import EmulatedShop, running_shop

# Demo prices have two decimals; scaled to whole units they are exact in any currency.
BASE = demo_catalogue(12, seed=21, variable_share=0.0)


def catalogue_in(currency: str) -> list[DemoProduct]:
    scale = Decimal(100) if currency == "JPY" else Decimal(1)
    return [
        dataclasses.replace(
            p, variants=[dataclasses.replace(v, price=v.price * scale) for v in p.variants]
        )
        for p in BASE
    ]


@pytest.fixture
def shop_in(
    request: pytest.FixtureRequest, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[EmulatedShop]:
    currency: str = request.param
    monkeypatch.setenv("POSSYNC_DATABASE_URL", sqlite_url)
    yield from running_shop(catalogue_in(currency), currency=currency)


def use(setup: str) -> None:
    SyncSettings(setup=setup).save("possync-settings", overwrite=True)


def run() -> dict[str, int]:
    state: State[Any] = sync_products(return_state=True)
    summary: dict[str, int] = state.result()
    return summary


def square_amount(shop: EmulatedShop, sku: str) -> int:
    item = admin.square_item(shop, sku)
    [data] = [
        v["item_variation_data"]
        for v in item["item_data"]["variations"]
        if v["item_variation_data"]["sku"] == sku
    ]
    amount: int = data["price_money"]["amount"]
    return amount


def quarantined(url: str) -> dict[object, Any]:
    """Open product-sync records by the SKU they were quarantined with."""
    store = Store.open(url)
    try:
        return {q.payload.get("sku"): q for q in store.open_quarantine("product-sync")}
    finally:
        store.close()


SKUS = [p.variants[0].sku for p in BASE]


@pytest.mark.parametrize("shop_in", ["DKK"], indirect=True)
def test_a_price_the_pos_cannot_hold_exactly_is_quarantined_never_rounded(
    shop_in: EmulatedShop, sqlite_url: str
) -> None:
    """12.345 became 12.34 and 0.001 became 0.00 (banker's rounding), a 29-digit price
    raised an uncaught InvalidOperation that failed the run, and 10^17 reached Square as
    10^19 minor units, beyond its int64 Money.amount."""
    shop = shop_in
    use("webshop_products")
    first = run()
    assert first["linked"] == len(BASE) and first["quarantined"] == 0
    bad = {
        SKUS[0]: "12.345",
        SKUS[1]: "0.001",
        SKUS[2]: "1234567890123456789012345678.9",
        SKUS[3]: "100000000000000000",
    }
    before = {sku: square_amount(shop, sku) for sku in bad}
    for sku, price in bad.items():
        admin.woo_update(shop, admin.woo_by_sku(shop, sku), {"regular_price": price})
    fine = SKUS[4]
    admin.woo_update(shop, admin.woo_by_sku(shop, fine), {"regular_price": "12.5"})
    for attempt in (1, 2):
        summary = run()
        assert summary["quarantined"] == len(bad), (attempt, summary)
        records = quarantined(sqlite_url)
        assert set(records) == set(bad), attempt
        for sku in bad:
            assert records[sku].field == "price", (sku, records[sku].reason)
            assert square_amount(shop, sku) == before[sku], f"{sku} was changed at the POS"
        assert "more decimals than DKK has (2)" in records[SKUS[0]].reason
        assert "12.345" in records[SKUS[0]].reason
        assert "more decimals than DKK has (2)" in records[SKUS[1]].reason
        assert "too long" in records[SKUS[2]].reason or "range" in records[SKUS[2]].reason
        assert (
            "square" in records[SKUS[3]].reason and "100000000000000000" in records[SKUS[3]].reason
        )
        assert square_amount(shop, fine) == 1250


@pytest.mark.parametrize("shop_in", ["JPY"], indirect=True)
def test_a_yen_price_of_1250_stays_1250_both_ways(shop_in: EmulatedShop) -> None:
    """JPY has no minor unit: 1250 yen is Money.amount 1250, not 125000 (web → POS) and
    Square's 980 is 980 yen in the webshop, not 9.80 (POS → web)."""
    shop = shop_in
    use("webshop_products")
    assert run()["quarantined"] == 0
    sku = SKUS[0]
    admin.woo_update(shop, admin.woo_by_sku(shop, sku), {"regular_price": "1250"})
    summary = run()
    assert summary["updated"] == 1 and summary["quarantined"] == 0, summary
    assert square_amount(shop, sku) == 1250

    use("pos_master")
    item = admin.square_item(shop, SKUS[1])
    item["item_data"]["variations"][0]["item_variation_data"]["price_money"]["amount"] = 980
    admin.square_save(shop, item)
    summary = run()
    assert summary["quarantined"] == 0, summary
    assert shop.web.price(SKUS[1]) == Decimal("980")


@pytest.mark.parametrize("shop_in", ["KWD"], indirect=True)
def test_a_kuwaiti_dinar_price_keeps_its_three_decimals_both_ways(shop_in: EmulatedShop) -> None:
    """KWD has three decimals: 1.005 is Money.amount 1005 (it was refused as 'not an
    amount in cents'), and Square's 2750 is 2.750 in the webshop (it was 27.50)."""
    shop = shop_in
    use("webshop_products")
    assert run()["quarantined"] == 0
    sku = SKUS[0]
    admin.woo_update(shop, admin.woo_by_sku(shop, sku), {"regular_price": "1.005"})
    summary = run()
    assert summary["updated"] == 1 and summary["quarantined"] == 0, summary
    assert square_amount(shop, sku) == 1005

    use("pos_master")
    item = admin.square_item(shop, SKUS[1])
    item["item_data"]["variations"][0]["item_variation_data"]["price_money"]["amount"] = 2750
    admin.square_save(shop, item)
    summary = run()
    assert summary["quarantined"] == 0, summary
    assert shop.web.price(SKUS[1]) == Decimal("2.750")
