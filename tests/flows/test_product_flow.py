"""The product-sync flow end to end, in each setup: real Prefect runs, real HTTP to the
emulators, the shop admin's edits made through each vendor's own API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prefect.client.schemas.objects import State
from prefect.settings import PREFECT_API_URL

from blocks import SyncSettings
from emulators.control import FaultConfig
from emulators.demo import demo_catalogue
from flows.products import sync_products
from flows.stock import sync_stock
from possync.store import Store
from tests import catalog_admin as admin
from tests.shop import CK, CS, EmulatedShop, running_shop

ROOT = Path(__file__).resolve().parent.parent.parent
CATALOGUE = demo_catalogue(40, seed=11, variable_share=0.3)
SIMPLE = next(p for p in CATALOGUE if p.simple)
VARIABLE = next(p for p in CATALOGUE if not p.simple)


@pytest.fixture
def shop(db_url: str) -> Iterator[EmulatedShop]:
    yield from running_shop(CATALOGUE)


@pytest.fixture
def sqlite_shop(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatedShop]:
    monkeypatch.setenv("POSSYNC_DATABASE_URL", sqlite_url)
    yield from running_shop(CATALOGUE)


def use(setup: str, **settings: Any) -> None:
    SyncSettings(setup=setup, **settings).save("possync-settings", overwrite=True)


def run(**params: Any) -> tuple[dict[str, int], list[dict[str, Any]]]:
    state: State[Any] = sync_products(return_state=True, **params)
    summary: dict[str, int] = state.result()
    response = httpx.post(
        f"{PREFECT_API_URL.value()}/artifacts/filter",
        json={"artifacts": {"flow_run_id": {"any_": [str(state.state_details.flow_run_id)]}}},
    )
    response.raise_for_status()
    artifacts = response.json()
    assert {a["type"] for a in artifacts} >= {"table", "markdown", "progress"}
    progress = next(a for a in artifacts if a["type"] == "progress")
    assert float(progress["data"]) == 100.0
    table = next(a for a in artifacts if a["type"] == "table")["data"]
    rows = json.loads(table) if isinstance(table, str) else table
    return summary, rows


def quarantined(url: str) -> dict[str, Any]:
    store = Store.open(url)
    try:
        return {q.record_id: q for q in store.open_quarantine("product-sync")}
    finally:
        store.close()


# -- linking -----------------------------------------------------------------------------


def test_first_run_links_both_catalogues_and_a_second_run_writes_nothing(
    shop: EmulatedShop, db_url: str
) -> None:
    summary, _ = run()
    assert summary["created"] == 0
    assert summary["linked"] == len(CATALOGUE)
    assert summary["quarantined"] == 0
    writes = shop.web_writes()
    again, _ = run()
    assert again["created"] == again["updated"] == again["linked"] == 0
    assert again["write_calls"] == 0 and shop.web_writes() == writes
    store = Store.open(db_url)
    try:
        square_ids = [shop.square.variation_id_for_sku(v.sku) for v in VARIABLE.variants]
        links = store.links_by_variant("square", square_ids)
        assert len(links) == len(VARIABLE.variants)
        shop_links = store.links_by_key("woocommerce", [x.product_key for x in links.values()])
        assert {x.sku for x in shop_links.values()} == {v.sku for v in VARIABLE.variants}
    finally:
        store.close()


def test_a_new_pos_product_is_created_once_with_variants_prices_and_barcodes(
    shop: EmulatedShop,
) -> None:
    run()
    admin.square_create(
        shop,
        "Linen Apron",
        [("S", "APRON-S", "5701234567892", 1999), ("M", "APRON-M", None, 2250)],
    )
    summary, rows = run()
    assert summary["created"] == 1 and summary["quarantined"] == 0
    [product] = admin.woo_products_named(shop, "Linen Apron")
    assert product["type"] == "variable"
    variations = {v["sku"]: v for v in admin.woo_variations(shop, product["id"])}
    assert set(variations) == {"APRON-S", "APRON-M"}
    assert variations["APRON-S"]["regular_price"] == "19.99"
    assert variations["APRON-S"]["global_unique_id"] == "5701234567892"
    assert variations["APRON-M"]["regular_price"] == "22.50"
    assert {"status": "created"}.items() <= next(
        r for r in rows if r["status"] == "created"
    ).items()
    again, _ = run()
    assert again["created"] == 0 and len(admin.woo_products_named(shop, "Linen Apron")) == 1
    # Stock follows: the stock sync finds the new product through the links just made.
    shop.square_restock("APRON-S", 7)
    sync_stock()
    assert shop.web_stock("APRON-S") == 7


def test_rename_and_price_change_in_the_pos_reach_the_webshop_and_are_not_sent_back(
    sqlite_shop: EmulatedShop,
) -> None:
    shop = sqlite_shop
    run()
    item = admin.square_item(shop, SIMPLE.variants[0].sku)
    item["item_data"]["name"] = "Renamed at the register"
    item["item_data"]["variations"][0]["item_variation_data"]["price_money"]["amount"] = 4321
    admin.square_save(shop, item)
    summary, _ = run()
    assert summary["updated"] == 1
    web = admin.woo_by_sku(shop, SIMPLE.variants[0].sku)
    assert web["name"] == "Renamed at the register" and web["regular_price"] == "43.21"
    # Our own write now shows as a change in the webshop: recognised, not sent back.
    writes = shop.web_writes()
    again, _ = run()
    assert again["own_writes_seen_back"] >= 1
    assert again["updated"] == 0 and shop.web_writes() == writes


def test_a_variant_added_in_the_pos_is_added_to_the_webshop_product(
    sqlite_shop: EmulatedShop,
) -> None:
    shop = sqlite_shop
    run()
    item = admin.square_item(shop, VARIABLE.variants[0].sku)
    item["item_data"]["variations"].append(
        {
            "type": "ITEM_VARIATION",
            "id": "#new",
            "item_variation_data": {
                "item_id": item["id"],
                "name": "XXXL",
                "sku": "ADDED-XXXL",
                "upc": "5709876543213",
                "pricing_type": "FIXED_PRICING",
                "price_money": {"amount": 9900, "currency": shop.square.currency},
            },
        }
    )
    admin.square_save(shop, item)
    summary, _ = run()
    assert summary["updated"] == 1 and summary["created"] == 0
    parent = admin.woo_by_sku(shop, VARIABLE.variants[0].sku)["parent_id"]
    variations = {v["sku"]: v for v in admin.woo_variations(shop, parent)}
    assert set(variations) == {v.sku for v in VARIABLE.variants} | {"ADDED-XXXL"}
    assert variations["ADDED-XXXL"]["regular_price"] == "99.00"
    assert variations["ADDED-XXXL"]["global_unique_id"] == "5709876543213"


def test_a_webshop_edit_of_an_owned_field_is_overwritten_and_reported(
    sqlite_shop: EmulatedShop,
) -> None:
    shop = sqlite_shop
    use("pos_master", product_fields=["name", "price", "sku", "barcode", "state"])
    run()
    web = admin.woo_by_sku(shop, SIMPLE.variants[0].sku)
    admin.woo_update(shop, web, {"regular_price": "1.00", "description": "Our own web text"})
    summary, rows = run()
    assert summary["overwritten_on_other_side"] == 1
    [row] = [r for r in rows if r["status"] == "overwritten"]
    assert row["field"] == "price"
    after = admin.woo_by_sku(shop, SIMPLE.variants[0].sku)
    assert after["regular_price"] == f"{SIMPLE.variants[0].price:.2f}"
    assert after["description"] == "Our own web text"  # not owned: the webshop keeps it


def test_a_product_deleted_in_the_pos_is_archived_in_the_webshop(
    sqlite_shop: EmulatedShop,
) -> None:
    shop = sqlite_shop
    run()
    item = admin.square_item(shop, SIMPLE.variants[0].sku)
    web = admin.woo_by_sku(shop, SIMPLE.variants[0].sku)
    admin.square_delete(shop, item["id"])
    summary, _ = run()
    assert summary["archived"] == 1
    assert admin.woo_product(shop, web["id"])["status"] == "draft"


# -- the webshop as master ---------------------------------------------------------------


def test_webshop_products_setup_carries_rename_price_and_new_products_to_the_pos(
    shop: EmulatedShop,
) -> None:
    use("webshop_products")
    first, _ = run()
    assert first["created"] == 0 and first["linked"] == len(CATALOGUE)
    web = admin.woo_by_sku(shop, SIMPLE.variants[0].sku)
    admin.woo_update(shop, web, {"name": "Renamed online", "regular_price": "12.34"})
    admin.woo_create(
        shop,
        {
            "name": "Web-only Poster",
            "type": "simple",
            "sku": "WEB-POSTER",
            "regular_price": "30",
            "global_unique_id": "5705555555557",
        },
    )
    summary, _ = run()
    assert summary["updated"] == 1 and summary["created"] == 1
    item = admin.square_item(shop, SIMPLE.variants[0].sku)
    assert item["item_data"]["name"] == "Renamed online"
    variation = item["item_data"]["variations"][0]["item_variation_data"]
    assert variation["price_money"]["amount"] == 1234
    poster = admin.square_item(shop, "WEB-POSTER")
    poster_variation = poster["item_data"]["variations"][0]["item_variation_data"]
    assert poster["item_data"]["name"] == "Web-only Poster"
    assert poster_variation["upc"] == "5705555555557"
    assert poster_variation["price_money"]["amount"] == 3000
    again, _ = run()
    assert again["created"] == again["updated"] == 0
    assert again["own_writes_seen_back"] >= 1


def test_bad_webshop_records_are_quarantined_with_reasons_and_the_rest_synced(
    shop: EmulatedShop, db_url: str
) -> None:
    use("webshop_products")
    run()
    base = {"type": "simple", "regular_price": "10"}
    no_sku = admin.woo_create(shop, {**base, "name": "No SKU at all"})
    long_name = admin.woo_create(shop, {**base, "name": "L" * 600, "sku": "LONG-NAME"})
    junk = admin.woo_create(shop, {**base, "name": "Junk price", "sku": "JUNK-PRICE"})
    with shop.woo.transaction():  # a plugin wrote junk into the price meta
        shop.woo.catalog.get(junk["id"]).regular_price = "abc"  # type: ignore[union-attr]
    admin.woo_create(shop, {**base, "name": "Café ☕ קפה", "sku": "CAFE-RTL"})
    admin.woo_create(shop, {**base, "name": "Plain good", "sku": "GOOD-1"})
    summary, rows = run()
    assert summary["created"] == 2
    problems = quarantined(db_url)
    assert problems[str(no_sku["id"])].field == "sku"
    assert "no SKU" in problems[str(no_sku["id"])].reason
    assert problems[str(junk["id"])].field == "price"
    assert "'abc' is not a number" in problems[str(junk["id"])].reason
    assert problems[str(long_name["id"])].field == "name"
    assert "item_data.name" in problems[str(long_name["id"])].reason
    assert {r["product"] for r in rows if r["status"] == "quarantined"} == set(problems)
    cafe = admin.square_item(shop, "CAFE-RTL")
    assert cafe["item_data"]["name"] == "Café ☕ קפה"
    assert admin.square_item(shop, "GOOD-1")["item_data"]["name"] == "Plain good"
    # Fixed in the webshop, the record goes through on the next run.
    admin.woo_update(shop, junk, {"regular_price": "11.50"})
    fixed, _ = run()
    assert fixed["created"] == 1 and str(junk["id"]) not in quarantined(db_url)


def test_ambiguous_matches_are_quarantined_with_both_ids_and_nothing_created(
    sqlite_shop: EmulatedShop, sqlite_url: str
) -> None:
    shop = sqlite_shop
    run()
    # One barcode on two new register items: neither is created.
    first = admin.square_create(shop, "Twin A", [("Regular", "TWIN-A", "5700000000024", 500)])
    second = admin.square_create(shop, "Twin B", [("Regular", "TWIN-B", "5700000000024", 500)])
    summary, _ = run()
    assert summary["created"] == 0 and summary["quarantined"] == 2
    problems = quarantined(sqlite_url)
    for item in (first, second):
        reason = problems[item["id"]].reason
        assert first["id"] in reason and second["id"] in reason
        assert problems[item["id"]].field == "barcode"
    assert admin.woo_products_named(shop, "Twin A") == []
    # One SKU on two register items, the webshop master: its product is not created.
    use("webshop_products")
    admin.square_create(shop, "Dup 1", [("Regular", "DUP-SKU", None, 100)])
    admin.square_create(shop, "Dup 2", [("Regular", "DUP-SKU", None, 100)])
    web = admin.woo_create(
        shop, {"type": "simple", "name": "Dup", "sku": "DUP-SKU", "regular_price": "1"}
    )
    run()
    problem = quarantined(sqlite_url)[str(web["id"])]
    assert problem.field == "link" and "DUP-SKU" in problem.reason
    assert len(admin.square_items_named(shop, "Dup")) == 0


def test_webshop_master_sets_pos_stock_from_the_webshop(sqlite_shop: EmulatedShop) -> None:
    shop = sqlite_shop
    use("webshop_master")
    run()
    sku = VARIABLE.variants[0].sku
    shop.woo.set_stock(shop.woo.id_for_sku(sku), 17)
    summary = sync_stock()
    assert summary["changed"] >= 1
    assert shop.pos_count(sku) == 17
    again = sync_stock()
    assert again["changed"] == 0 and again["write_calls"] == 0


# -- a large import, killed part-way -------------------------------------------------------


@pytest.fixture
def pos_only_shop(db_url: str) -> Iterator[EmulatedShop]:
    """Everything in the register, an empty webshop."""
    from tests.shop import save_blocks, start_shop

    shop = start_shop([], pos_only=demo_catalogue(1500, seed=2, variable_share=0.2))
    try:
        save_blocks(shop)
        yield shop
    finally:
        shop.stop()


def test_an_import_killed_part_way_resumes_without_doubles(
    pos_only_shop: EmulatedShop, db_url: str
) -> None:
    shop = pos_only_shop
    expected = demo_catalogue(1500, seed=2, variable_share=0.2)
    shop.woo_control.set_faults(FaultConfig(latency_seconds=0.05))
    env = {
        **os.environ,
        "PREFECT_API_URL": str(PREFECT_API_URL.value()),
        "POSSYNC_DATABASE_URL": db_url,
        # The killed run's slot lapses this long after its last heartbeat; the rerun
        # waits for that, then takes the slot (and the killed run's claims) over.
        "POSSYNC_RUN_SLOT_LEASE_SECONDS": "4",
    }
    child = subprocess.Popen(
        [sys.executable, "-m", "possync.cli", "products", "import"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while shop.woo_control.count("POST /wp-json/wc/v3/products/batch") < 3:
            assert child.poll() is None, "the import finished before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        child.kill()  # SIGKILL: no cleanup
        child.wait(10)
    shop.woo_control.set_faults(FaultConfig())
    summary, _ = run(full=True)
    assert summary["quarantined"] == 0
    skus = [v.sku for p in expected for v in p.variants]
    for sku in skus[:: max(1, len(skus) // 50)]:
        admin.woo_by_sku(shop, sku)  # exactly one product or variation carries it
    with httpx.Client(base_url=f"{shop.woo_server.url}/wp-json/wc/v3", auth=(CK, CS)) as http:
        total = http.get("/products", params={"status": "any", "per_page": 1})
        assert int(total.headers["X-WP-Total"]) == len(expected)
    writes = shop.web_writes()
    again, _ = run()
    assert again["created"] == again["updated"] == 0 and shop.web_writes() == writes
