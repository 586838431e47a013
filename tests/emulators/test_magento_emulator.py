"""The Magento emulator over real HTTP, driven with raw requests as a Magento client would."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from emulators.control import FaultConfig
from emulators.demo import demo_catalogue
from emulators.magento import DEFAULT_TOKEN, MagentoState, create_magento_app
from possync.serving import RunningServer, serve_in_thread

Json = dict[str, Any]
AUTH = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}


class Shop:
    def __init__(self) -> None:
        self.state = MagentoState(currency="DKK", bulk_delay=0.05)
        self.state.seed(demo_catalogue(12, seed=5))
        self.app = create_magento_app(self.state)
        self.server: RunningServer = serve_in_thread(self.app)
        self.http = httpx.Client(base_url=f"{self.server.url}/rest/all/V1", headers=AUTH)

    def close(self) -> None:
        self.http.close()
        self.server.stop()
        self.state.close()


@pytest.fixture
def shop() -> Iterator[Shop]:
    running = Shop()
    try:
        yield running
    finally:
        running.close()


def criteria(*filters: tuple[str, str, str], **extra: int) -> dict[str, str]:
    params: dict[str, str] = {}
    for g, (name, value, condition) in enumerate(filters):
        key = f"searchCriteria[filterGroups][{g}][filters][0]"
        params |= {
            f"{key}[field]": name,
            f"{key}[value]": value,
            f"{key}[conditionType]": condition,
        }
    for option, number in extra.items():
        params[f"searchCriteria[{option}]"] = str(number)
    return params


def test_a_missing_or_wrong_token_is_refused_as_magento_does(shop: Shop) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        answer = httpx.get(f"{shop.server.url}/rest/all/V1/products", headers=headers)
        assert answer.status_code == 401
        body = answer.json()
        assert body["message"] == "The consumer isn't authorized to access %resources."
        assert body["parameters"] == {"resources": "Magento_Catalog::products"}


@pytest.mark.parametrize("base", ["/rest/all/V1", "/rest/default/V1", "/rest/V1"])
def test_every_store_code_reaches_the_same_store(shop: Shop, base: str) -> None:
    answer = httpx.get(f"{shop.server.url}{base}/products/DEMO-000001", headers=AUTH)
    assert answer.status_code == 200
    assert answer.json()["sku"] == "DEMO-000001"


def test_unknown_product_and_route_answer_magento_errors(shop: Shop) -> None:
    missing = shop.http.get("/products/NOPE")
    assert missing.status_code == 404
    assert "doesn't exist" in missing.json()["message"]
    assert shop.http.get("/nothing-here").json()["message"] == "Request does not match any route."


def test_paging_repeats_the_last_page_past_the_end(shop: Shop) -> None:
    params = criteria(("type_id", "simple", "eq"), pageSize=5, currentPage=1)
    first = shop.http.get("/products", params=params).json()
    total = first["total_count"]
    assert total == 12 and len(first["items"]) == 5
    last = shop.http.get("/products", params={**params, "searchCriteria[currentPage]": "3"})
    beyond = shop.http.get("/products", params={**params, "searchCriteria[currentPage]": "9"})
    assert [p["sku"] for p in beyond.json()["items"]] == [p["sku"] for p in last.json()["items"]]
    assert len(last.json()["items"]) == 2
    assert beyond.json()["search_criteria"]["current_page"] == 9


def test_filters_sorting_and_snake_case_keys(shop: Shop) -> None:
    listed = shop.http.get(
        "/products", params=criteria(("sku", "DEMO-000003,DEMO-000001", "in"))
    ).json()
    assert sorted(p["sku"] for p in listed["items"]) == ["DEMO-000001", "DEMO-000003"]
    like = shop.http.get("/products", params=criteria(("sku", "DEMO-00001%", "like"))).json()
    assert {p["sku"] for p in like["items"]} == {"DEMO-000010", "DEMO-000011", "DEMO-000012"}
    snake = {
        "searchCriteria[filter_groups][0][filters][0][field]": "entity_id",
        "searchCriteria[filter_groups][0][filters][0][value]": "3",
        "searchCriteria[filter_groups][0][filters][0][condition_type]": "gt",
        "searchCriteria[sort_orders][0][field]": "entity_id",
        "searchCriteria[sort_orders][0][direction]": "DESC",
    }
    ids = [p["id"] for p in shop.http.get("/products", params=snake).json()["items"]]
    assert ids == sorted(ids, reverse=True) and min(ids) == 4


def test_updated_at_filters_compare_magento_timestamps(shop: Shop) -> None:
    later = datetime.now(UTC) + timedelta(hours=1)
    shop.state.clock = lambda: later
    shop.http.put("/products/DEMO-000002", json={"product": {"price": 1.5}}).raise_for_status()
    since = (later - timedelta(seconds=1)).strftime("%Y-%m-%d %H:%M:%S")
    changed = shop.http.get("/products", params=criteria(("updated_at", since, "gt"))).json()
    assert [p["sku"] for p in changed["items"]] == ["DEMO-000002"]
    assert changed["items"][0]["updated_at"] == later.strftime("%Y-%m-%d %H:%M:%S")


def test_products_are_created_updated_linked_and_deleted(shop: Shop) -> None:
    ean = [{"attribute_code": "ean", "value": "123"}]
    body = {"product": {"sku": "NEW-1", "name": "New", "price": 9.5, "type_id": "simple",
                        "attribute_set_id": 4, "status": 1, "visibility": 1,
                        "custom_attributes": ean}}  # fmt: skip
    created = shop.http.post("/products", json=body).json()
    assert created["id"] and created["price"] == 9.5
    parent = {"product": {"sku": "CONF-1", "name": "Conf", "type_id": "configurable"}}
    shop.http.post("/products", json=parent).raise_for_status()
    assert shop.http.post("/configurable-products/CONF-1/child", json={"childSku": "NEW-1"}).json()
    children = shop.http.get("/configurable-products/CONF-1/children").json()
    assert [c["sku"] for c in children] == ["NEW-1"]
    updated = shop.http.put("/products/NEW-1", json={"product": {"status": 2}}).json()
    assert updated["status"] == 2 and updated["custom_attributes"][0]["value"] == "123"
    refused = shop.http.post("/products", json={"product": {"sku": "X"}})
    assert refused.status_code == 400 and refused.json()["parameters"] == ["name"]
    assert shop.http.delete("/products/NEW-1").json() is True
    assert shop.http.get("/configurable-products/CONF-1/children").json() == []


def test_source_items_are_read_and_saved_all_or_nothing(shop: Shop) -> None:
    item = {"sku": "DEMO-000001", "source_code": "default", "quantity": 7, "status": 1}
    assert shop.http.post("/inventory/source-items", json={"sourceItems": [item]}).json() == []
    bad = {**item, "sku": "NOPE"}
    refused = shop.http.post("/inventory/source-items", json={"sourceItems": [
        {**item, "quantity": 1}, bad]})  # fmt: skip
    assert refused.status_code == 400
    assert refused.json() == {"message": 'Product with SKU "%1" does not exist.',
                              "parameters": ["NOPE"]}  # fmt: skip
    found = shop.http.get(
        "/inventory/source-items",
        params=criteria(("sku", "DEMO-000001", "eq"), ("source_code", "default", "eq")),
    ).json()
    assert found["items"] == [item | {"quantity": 7.0}]


def test_bulk_source_items_run_in_the_background(shop: Shop) -> None:
    item = {"source_code": "default", "quantity": 4, "status": 1}
    body = [
        {"sourceItems": [{**item, "sku": "DEMO-000001"}]},
        {"sourceItems": [{**item, "sku": "NOPE"}]},
    ]
    url = f"{shop.server.url}/rest/all/async/bulk/V1/inventory/source-items"
    accepted = httpx.post(url, json=body, headers=AUTH).json()
    assert accepted["errors"] is False
    assert [i["status"] for i in accepted["request_items"]] == ["accepted", "accepted"]
    path = f"/bulk/{accepted['bulk_uuid']}/status"
    assert {op["status"] for op in shop.http.get(path).json()["operations_list"]} == {4}
    deadline = time.monotonic() + 5
    while True:
        status = shop.http.get(path).json()
        if (
            all(op["status"] != 4 for op in status["operations_list"])
            or time.monotonic() > deadline
        ):
            break
        time.sleep(0.02)
    ops = status["operations_list"]
    assert [op["status"] for op in ops] == [1, 3]
    assert ops[1]["result_message"] == 'Product with SKU "NOPE" does not exist.'
    assert shop.state.stock("DEMO-000001") == 4
    detailed = shop.http.get(f"/bulk/{accepted['bulk_uuid']}/detailed-status").json()
    assert detailed["operation_count"] == 2 and "serialized_data" in detailed["operations_list"][0]
    assert shop.http.get("/bulk/unknown/status").status_code == 400


def _order(shop: Shop, lines: dict[str, int]) -> int:
    with shop.state.lock:
        return shop.state.sales.place(lines).entity_id


def test_an_order_takes_stock_and_an_unpaid_cancel_gives_it_back(shop: Shop) -> None:
    before = shop.state.stock("DEMO-000001")
    order_id = _order(shop, {"DEMO-000001": 2})
    assert shop.state.stock("DEMO-000001") == (before or 0) - 2
    order = shop.http.get(f"/orders/{order_id}").json()
    assert (order["state"], order["status"]) == ("new", "pending")
    assert shop.http.post(f"/orders/{order_id}/cancel").json() is True
    assert shop.http.get(f"/orders/{order_id}").json()["status"] == "canceled"
    assert shop.state.stock("DEMO-000001") == before


def test_invoice_refund_and_credit_memos(shop: Shop) -> None:
    configurable = next(
        p for p in shop.state.catalog.products.values() if p.type_id == "configurable"
    )
    child_sku = shop.state.catalog.products[configurable.children[0]].sku
    lone = next(
        p.sku
        for p in shop.state.catalog.products.values()
        if p.type_id == "simple" and shop.state.catalog.parent_of(p.id) is None
    )
    before = shop.state.stock(child_sku)
    order_id = _order(shop, {child_sku: 2, lone: 1})
    shop.http.post(f"/order/{order_id}/invoice", json={"capture": True}).raise_for_status()
    order = shop.http.get(f"/orders/{order_id}").json()
    assert order["status"] == "processing"
    assert shop.http.post(f"/orders/{order_id}/cancel").json() is False  # invoiced
    top = next(i for i in order["items"] if i["product_type"] == "configurable")
    child = next(i for i in order["items"] if i.get("parent_item_id") == top["item_id"])
    assert child["product_id"] == configurable.children[0] and top["sku"] == child_sku
    back = {"return_to_stock_items": [top["item_id"]]}
    refund = {"items": [{"order_item_id": top["item_id"], "qty": 1}],
              "arguments": {"extension_attributes": back}}  # fmt: skip
    memo_id = shop.http.post(f"/order/{order_id}/refund", json=refund).json()
    assert shop.state.stock(child_sku) == (before or 0) - 1
    memos = shop.http.get("/creditmemos", params=criteria(("order_id", str(order_id), "eq")))
    assert [m["entity_id"] for m in memos.json()["items"]] == [memo_id]
    assert shop.http.get(f"/creditmemo/{memo_id}").json()["grand_total"] == top["price"]
    rest = {"items": [{"order_item_id": top["item_id"], "qty": 1},
                      {"order_item_id": order["items"][-1]["item_id"], "qty": 1}]}  # fmt: skip
    shop.http.post(f"/order/{order_id}/refund", json=rest).raise_for_status()
    assert shop.http.get(f"/orders/{order_id}").json()["status"] == "closed"
    too_much = shop.http.post(f"/order/{order_id}/refund", json=rest)
    assert too_much.status_code == 400


def test_orders_search_by_updated_at_and_status(shop: Shop) -> None:
    first = _order(shop, {"DEMO-000001": 1})
    later = datetime.now(UTC) + timedelta(minutes=5)
    shop.state.clock = lambda: later
    second = _order(shop, {"DEMO-000001": 1})
    since = later.strftime("%Y-%m-%d %H:%M:%S")
    params = criteria(("updated_at", since, "gteq"), ("status", "pending,processing", "in"))
    params |= {"searchCriteria[sortOrders][0][field]": "updated_at",
               "searchCriteria[sortOrders][0][direction]": "ASC"}  # fmt: skip
    found = shop.http.get("/orders", params=params).json()
    assert [o["entity_id"] for o in found["items"]] == [second] and first != second


def test_faults_answer_in_magentos_shape(shop: Shop) -> None:
    shop.app.state.control.set_faults(FaultConfig(rate_500=1.0))
    answer = shop.http.get("/products/DEMO-000001")
    assert answer.status_code == 500 and "message" in answer.json()
    shop.app.state.control.set_faults(FaultConfig(rate_429=1.0))
    limited = shop.http.get("/products/DEMO-000001")
    assert limited.status_code == 429 and limited.headers["Retry-After"]


def test_input_limits_when_the_store_enables_them(shop: Shop) -> None:
    shop.state.input_limits = True
    big = shop.http.get("/products", params=criteria(pageSize=301))
    assert big.status_code == 400
    assert big.json() == {"message": "Maximum SearchCriteria pageSize is %max",
                          "parameters": {"max": 300}}  # fmt: skip
    items = [{"sku": "DEMO-000001", "source_code": "default", "quantity": 1, "status": 1}] * 21
    refused = shop.http.post("/inventory/source-items", json={"sourceItems": items})
    assert refused.status_code == 400
    assert refused.json()["message"] == 'Maximum items of type "%type" is %max'
    url = f"{shop.server.url}/rest/all/async/bulk/V1/inventory/source-items"
    accepted = httpx.post(url, json=[{"sourceItems": [i]} for i in items], headers=AUTH)
    assert accepted.status_code == 200


def test_values_beyond_magentos_columns_are_refused_as_magento_does(shop: Shop) -> None:
    """catalog_product_entity.sku is varchar(64) (the SKU backend says so), the name a
    varchar(255) value, the price decimal(20,6), a source item's quantity decimal(12,4):
    Magento refuses beyond them instead of keeping something else."""
    good = {"sku": "LIMIT-1", "name": "Limits", "type_id": "simple", "price": 9.95,
            "attribute_set_id": 4}  # fmt: skip
    assert shop.http.post("/products", json={"product": good}).status_code == 200
    for change in ({"sku": "S" * 65}, {"name": "N" * 256}, {"price": 1e14}):
        answer = shop.http.post("/products", json={"product": {**good, **change}})
        assert answer.status_code == 400, change
    assert shop.http.get("/products/LIMIT-1").json()["price"] == 9.95
    item = {"sku": "LIMIT-1", "source_code": "default", "status": 1}
    fits = shop.http.post("/inventory/source-items", json={"sourceItems": [
        {**item, "quantity": 99999999}]})  # fmt: skip
    assert fits.status_code == 200
    beyond = shop.http.post("/inventory/source-items", json={"sourceItems": [
        {**item, "quantity": 100000000}]})  # fmt: skip
    assert beyond.status_code == 400 and beyond.json()["message"] == "Could not save Source Item"
    assert shop.state.stock("LIMIT-1") == 99999999
