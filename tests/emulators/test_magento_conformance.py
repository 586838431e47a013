"""The Magento emulator and our Magento connector against Adobe's 2.4.9 admin REST schema
(magento/admin-schema-2.4.9.yaml, Swagger 2.0, so openapi-core cannot read it): every
emulator route is a path and method of the schema (the async bulk route by its synchronous
path), and every request our connector sends, with the emulator's answer, is checked:
path and method, query parameter names (searchCriteria indices read as 0, as the schema
lists them), the JSON body against the body parameter's schema (a bulk body: each element
against the synchronous body) and the 200 answer against the response schema.

Swagger 2.0 cannot mark a field nullable; Magento sends null for unset values (an open
bulk operation's result_message), so null is allowed for every typed property.
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import jsonschema  # type: ignore[import-untyped]
import pytest
import yaml
from fastapi.routing import APIRoute

from emulators.demo import demo_catalogue
from emulators.magento import create_magento_app
from emulators.magento_shop import MagentoWebshop, start_magento
from possync.domain.models import StockUpdate, WebshopRef
from possync.domain.products import ProductData, ProductWrite, VariantData
from possync.vendors.http import RetryPolicy
from possync.vendors.magento.shop import MagentoShop
from tests.specs import spec_path

SPEC = "magento/admin-schema-2.4.9.yaml"
Json = dict[str, Any]
_INDEX = re.compile(r"\[\d+\]")
_STORE = re.compile(r"^/rest/(?:[^/]+/)?(async/bulk/)?(V1/.*)$")


@functools.cache
def _spec() -> Json:
    with spec_path(SPEC).open() as handle:
        loaded: Json = yaml.load(handle, Loader=yaml.CSafeLoader)
    return loaded


@pytest.fixture(scope="module")
def spec() -> Json:
    return _spec()


def _template(spec: Json, path: str, method: str) -> tuple[str, Json]:
    """The schema's path template and operation for a concrete /V1 path."""
    for template, operations in spec["paths"].items():
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path) and method.lower() in operations:
            return template, operations[method.lower()]
    raise AssertionError(f"{method} {path} is not in the 2.4.9 admin schema")


@functools.cache
def _nullable_definitions() -> Json:
    """The schema's definitions with null allowed for every typed property."""
    definitions: Json = copy.deepcopy(_spec()["definitions"])
    for definition in definitions.values():
        for prop in (definition.get("properties") or {}).values():
            if isinstance(prop.get("type"), str):
                prop["type"] = [prop["type"], "null"]
    return definitions


def _validate(spec: Json, schema: Json, value: object, what: str) -> None:
    del spec
    full = {**schema, "definitions": _nullable_definitions()}
    try:
        jsonschema.Draft4Validator(full).validate(value)
    except jsonschema.ValidationError as exc:
        raise AssertionError(f"{what}: {exc.message} at {list(exc.absolute_path)}") from None


def check_exchange(spec: Json, request: httpx.Request, response: httpx.Response) -> None:
    """One request and its answer against the schema (raises AssertionError)."""
    match = _STORE.match(request.url.path)
    assert match, f"{request.url.path} is not under /rest/[store/]"
    bulk, rest = match.groups()
    path = "/" + rest
    template, operation = _template(spec, path, request.method)
    what = f"{request.method} {request.url.path}"
    params = operation.get("parameters") or []
    # `fields` is Magento's response filter on every GET ("Retrieve filtered responses"
    # in Adobe's REST docs), not listed per path in the schema
    names = {p["name"] for p in params if p.get("in") == "query"} | {"fields"}
    for key in httpx.QueryParams(request.url.query):
        assert _INDEX.sub("[0]", key) in names, f"{what}: query {key} not in the schema"
    body_params = [p for p in params if p.get("in") == "body"]
    if request.content:
        assert body_params, f"{what}: a body the schema does not take"
        payload = httpx.Response(200, content=request.content).json()
        for element in payload if bulk else [payload]:
            _validate(spec, body_params[0]["schema"], element, f"{what} body")
    filtered = "fields" in httpx.QueryParams(request.url.query)  # a subset by design
    if response.status_code == 200 and not bulk and not filtered:
        schema = (operation["responses"].get("200") or {}).get("schema")
        if schema:
            _validate(spec, schema, response.json(), f"{what} answer ({template})")


def test_every_emulator_route_is_in_the_schema(spec: Json) -> None:
    app = create_magento_app()
    checked = 0
    try:
        for route in app.routes:
            if not isinstance(route, APIRoute) or not route.path.startswith("/rest/"):
                continue
            match = _STORE.match(route.path.replace("{store_code}", "all"))
            assert match, route.path
            for method in route.methods or ():
                _template(spec, "/" + match.group(2), method)
                checked += 1
    finally:
        app.state.magento.close()
    assert checked >= 20


def test_the_schema_names_what_the_emulator_and_connector_use(spec: Json) -> None:
    for name in (
        "catalog-data-product-interface",
        "catalog-data-product-search-results-interface",
        "inventory-api-data-source-item-interface",
        "asynchronous-operations-data-bulk-operations-status-interface",
        "sales-data-order-interface",
        "sales-data-order-item-interface",
        "sales-data-creditmemo-interface",
        "sales-data-creditmemo-creation-arguments-extension-interface",
        "error-response",
    ):
        assert name in spec["definitions"], name
    extension = spec["definitions"]["sales-data-creditmemo-creation-arguments-extension-interface"]
    assert "return_to_stock_items" in extension["properties"]


class _Recorder:
    def __init__(self) -> None:
        self.exchanges: list[tuple[httpx.Request, httpx.Response]] = []

    def hooks(self) -> dict[str, list[Any]]:
        return {"response": [self._record]}

    def _record(self, response: httpx.Response) -> None:
        response.read()
        self.exchanges.append((response.request, response))


@pytest.fixture
def web() -> Iterator[MagentoWebshop]:
    shop = start_magento(demo_catalogue(24, seed=3))
    try:
        yield shop
    finally:
        shop.stop()


def test_every_connector_request_and_answer_follows_the_schema(
    spec: Json, web: MagentoWebshop
) -> None:
    recorder = _Recorder()
    config = web.config().model_copy(update={"bulk_threshold": 3})
    shop = MagentoShop(
        config, retry=RetryPolicy(attempts=1), event_hooks=recorder.hooks(), page_size=5
    )
    try:
        listings = shop.listings_by_sku([f"DEMO-{i:06d}" for i in range(1, 25)])
        shop.listings([x.ref for x in listings[:4]])
        list(shop.all_listings())
        updates = [
            StockUpdate(ref=x.ref, quantity=3, product_key="k", pos_id="p", sku=x.sku)
            for x in listings
        ]
        shop.set_stock(updates[:2])  # synchronous
        shop.set_stock(updates[:6])  # bulk, polled
        order_id = web.place_order({listings[0].sku or "": 1, listings[1].sku or "": 2})
        web.refund(order_id, {listings[0].sku or "": 1}, Decimal("10.00"))
        list(shop.orders_changed(datetime.now(UTC) - timedelta(hours=1)))
        shop.orders([order_id])
        shop.refunds(order_id)
        list(shop.products_changed(None))
        products = shop.products(["1", "2"])
        shop.write_products(
            [
                ProductWrite(key="new-simple", product=_simple()),
                ProductWrite(key="new-configurable", product=_configurable()),
                ProductWrite(key="update", product=products[0]),
            ]
        )
    finally:
        shop.close()
    assert len(recorder.exchanges) > 20
    methods = {r.method for r, _ in recorder.exchanges}
    assert {"GET", "POST", "PUT"} <= methods
    for request, response in recorder.exchanges:
        check_exchange(spec, request, response)


def _simple() -> ProductData:
    return ProductData(
        name="Spec Mug",
        description="a mug",
        variants=(VariantData(sku="SPEC-MUG", barcode="5700000009990", price="12.50"),),
    )


def _configurable() -> ProductData:
    return ProductData(
        name="Spec Shirt",
        has_variants=True,
        variants=(
            VariantData(name="S", sku="SPEC-SHIRT-S", price="20.00"),
            VariantData(name="XL", sku="SPEC-SHIRT-XL", price="22.00"),
        ),
    )


def test_the_admin_adapter_requests_follow_the_schema(spec: Json, web: MagentoWebshop) -> None:
    """The adapter's own admin calls (invoice, cancel, refund, price, stock) too."""
    recorder = _Recorder()

    def client() -> httpx.Client:
        return httpx.Client(
            base_url=f"{web.server.url}/rest/all/V1",
            headers={"Authorization": "Bearer magento-emulated-token"},
            event_hooks=recorder.hooks(),
        )

    web.http = client  # type: ignore[method-assign]
    web.set_stock("DEMO-000001", 9)
    web.set_price("DEMO-000001", Decimal("3.50"))
    web.price("DEMO-000001")
    paid = web.place_order({"DEMO-000001": 1})
    web.refund(paid, {"DEMO-000001": 1}, Decimal("3.50"), restock=False)
    web.cancel_order(web.place_order({"DEMO-000001": 1}, paid=False))
    web.cancel_order(web.place_order({"DEMO-000002": 1}))
    parent = next(p for p in web.state.catalog.products.values() if p.type_id == "configurable")
    item = {"sku": "DEMO-000001", "source_code": "default", "quantity": 2, "status": 1}
    with client() as http:  # the answers our connector does not read
        accepted = http.post(
            f"{web.server.url}/rest/all/async/bulk/V1/inventory/source-items",
            json=[{"sourceItems": [item]}],
        ).json()
        http.get(f"/bulk/{accepted['bulk_uuid']}/detailed-status")
        http.get("/creditmemo/1")
        http.get(f"/orders/{paid}")
        http.get(f"/configurable-products/{parent.sku}/children")
        http.get("/products/attributes/size")
        http.delete("/products/DEMO-000003")
    assert recorder.exchanges
    for request, response in recorder.exchanges:
        assert response.status_code == 200, (request.url, response.text)
        check_exchange(spec, request, response)


def test_unknown_paths_would_fail_the_check(spec: Json) -> None:
    request = httpx.Request("GET", "http://x/rest/all/V1/no-such-thing")
    with pytest.raises(AssertionError, match=r"not in the 2\.4\.9"):
        check_exchange(spec, request, httpx.Response(200, json={}))
    bad = httpx.Request(
        "POST", "http://x/rest/all/V1/inventory/source-items", json={"sourceItems": "x"}
    )
    with pytest.raises(AssertionError, match="body"):
        check_exchange(spec, bad, httpx.Response(400, json={}))
    ref = WebshopRef(product_id="1")
    assert ref.key == "1"
