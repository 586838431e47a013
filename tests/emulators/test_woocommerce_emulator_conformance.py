"""Every WooCommerce emulator endpoint, checked against the vendor specs with openapi-core.

The traffic of one scenario over real sockets is recorded with SpecRecorder and validated
against woocommerce-openapi-3.0.x.yml; batch request bodies are also validated against the
wtx-labs file, whose batch shape ({create, update, delete}) is the right one.

The 3.0.x file was generated in 2021 from WooCommerce's route schemas, and a few of its
statements are wrong about what WooCommerce really sends. `woocommerce_openapi()`
corrects exactly those, each with its reason, and nothing else; everything the spec says
correctly stays checked.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from emulators.demo import demo_catalogue
from emulators.woocommerce import PREFIX, WooState, create_woocommerce_app
from possync.serving import serve_in_thread
from tests.conformance import SpecRecorder
from tests.specs import openapi
from tests.woo_spec import HOST, WTX_HOST, WTX_SPEC, woocommerce_openapi


@pytest.fixture(scope="module")
def recorded() -> Iterator[tuple[SpecRecorder, set[str]]]:
    """Run the scenario once; hand back the recording and the route templates it hit."""
    state = WooState()
    state.seed(demo_catalogue(40))
    app = create_woocommerce_app(state)
    server = serve_in_thread(app)
    recorder = SpecRecorder()
    client = httpx.Client(
        base_url=server.url + PREFIX, auth=("ck_demo", "cs_demo"), event_hooks=recorder.hooks()
    )
    try:
        _scenario(client)
        yield recorder, set(app.state.control.counts)
    finally:
        client.close()
        server.stop()
        state.close()


def _ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json()) if isinstance(response.json(), dict) else {"list": response.json()}


def _scenario(c: httpx.Client) -> None:
    """Touch every route with documented outcomes (2xx, 400, 404)."""
    products = c.get("/products", params={"per_page": 100, "orderby": "id", "order": "asc"}).json()
    simple = next(p for p in products if p["type"] == "simple")
    parent = next(p for p in products if p["type"] == "variable")
    variation_id = parent["variations"][0]
    variation = c.get(f"/products/{parent['id']}/variations/{variation_id}").json()
    c.get("/products", params={"sku": f"{simple['sku']},{variation['sku']}"})
    c.get("/products", params={"modified_after": "2000-01-01T00:00:00", "page": 2, "per_page": 5})
    c.get("/products", params={"include": simple["id"], "type": "simple", "status": "publish"})
    c.get("/products", params={"include": f"{simple['id']},{parent['id']}", "orderby": "include"})
    c.get(
        f"/products/{parent['id']}/variations",
        params={"include": ",".join(map(str, parent["variations"]))},
    )
    c.get("/products", params={"per_page": 101})  # 400 rest_invalid_param
    c.get("/products/99999999")  # 404
    c.put("/products/99999999", json={})  # 400
    _ok(c.get(f"/products/{simple['id']}"))
    body = {"name": "Spec", "sku": "SPEC-1", "regular_price": "9.99", "manage_stock": True,
            "stock_quantity": 2}  # fmt: skip
    made = _ok(c.post("/products", json=body), 201)
    _ok(c.put(f"/products/{made['id']}", json={"stock_quantity": 0}))
    _ok(c.patch(f"/products/{made['id']}", json={"regular_price": "8.99"}))
    _ok(c.post(f"/products/{made['id']}", json={"description": "updated"}))
    batch = {
        "create": [{"name": "Spec batch", "sku": "SPEC-2", "regular_price": "1.00"}],
        "update": [
            {"id": simple["id"], "stock_quantity": 11},
            {"id": variation_id, "stock_quantity": 1},
        ],
        "delete": [made["id"]],
    }
    _ok(c.post("/products/batch", json=batch))
    _ok(c.put("/products/batch", json={"update": [{"id": simple["id"], "stock_quantity": 12}]}))
    _ok(c.patch("/products/batch", json={"update": [{"id": simple["id"], "stock_quantity": 13}]}))
    created = c.post("/products/batch", json={"create": [{"name": "Gone", "sku": "SPEC-3"}]}).json()
    _ok(c.delete(f"/products/{created['create'][0]['id']}", params={"force": "true"}))
    _variation_scenario(c, parent["id"], variation_id)
    _order_scenario(c, simple["id"], variation_id)
    _tax_scenario(c, simple["id"])
    _webhook_scenario(c)


def _variation_scenario(c: httpx.Client, parent_id: int, variation_id: int) -> None:
    base = f"/products/{parent_id}/variations"
    _ok(c.get(base, params={"per_page": 2}))
    c.get(f"{base}/99999999")  # 404
    body = {"sku": "SPEC-V", "regular_price": "3.00", "manage_stock": True, "stock_quantity": 1,
            "attributes": [{"name": "Size", "option": "XXL"}]}  # fmt: skip
    made = _ok(c.post(base, json=body), 201)
    _ok(c.put(f"{base}/{made['id']}", json={"stock_quantity": 4}))
    _ok(c.patch(f"{base}/{made['id']}", json={"stock_quantity": 5}))
    _ok(c.post(f"{base}/{made['id']}", json={"stock_quantity": 6}))
    batch = {"update": [{"id": variation_id, "stock_quantity": 3}],
             "create": [{"sku": "SPEC-V2", "regular_price": "3.00"}]}  # fmt: skip
    result = _ok(c.post(f"{base}/batch", json=batch))
    _ok(c.put(f"{base}/batch", json={"delete": [result["create"][0]["id"]]}))
    _ok(c.patch(f"{base}/batch", json={"update": [{"id": variation_id, "stock_quantity": 2}]}))
    _ok(c.delete(f"{base}/{made['id']}", params={"force": "true"}))


def _tax_scenario(c: httpx.Client, product_id: int) -> None:
    """Tax rates, and a taxed, discounted order with shipping (line taxes, tax_lines)."""
    standard = {"rate": "25.0000", "name": "VAT", "class": "standard", "shipping": True}
    made = _ok(c.post("/taxes", json=standard), 201)
    _ok(c.post("/taxes", json={"rate": "12.0000", "name": "VAT", "class": "reduced-rate"}), 201)
    _ok(c.get("/taxes"))
    _ok(c.get(f"/taxes/{made['id']}"))
    c.get("/taxes/99999999")  # 404
    lines = [{"product_id": product_id, "quantity": 2, "subtotal": "20.00", "total": "18.00"}]
    shipping = [{"method_id": "flat_rate", "method_title": "Flat rate", "total": "5.00"}]
    body = {"status": "processing", "billing": {"first_name": "Ada", "email": "ada@example.com"},
            "line_items": lines, "shipping_lines": shipping}  # fmt: skip
    _ok(c.post("/orders", json=body), 201)


def _order_scenario(c: httpx.Client, product_id: int, variation_id: int) -> None:
    billing = {"first_name": "Ada", "email": "ada@example.com"}
    lines = [
        {"product_id": product_id, "quantity": 2},
        {"variation_id": variation_id, "quantity": 1},
    ]
    body = {"status": "processing", "billing": billing, "payment_method": "bacs",
            "line_items": lines}  # fmt: skip
    made = _ok(c.post("/orders", json=body), 201)
    _ok(c.get("/orders", params={"status": "processing", "per_page": 5}))
    _ok(c.get("/orders", params={"status": "processing,completed", "exclude": "1,2"}))
    _ok(c.get(f"/orders/{made['id']}"))
    c.get("/orders/99999999")  # 404
    _ok(c.put(f"/orders/{made['id']}", json={"status": "completed"}))
    _ok(c.patch(f"/orders/{made['id']}", json={"customer_note": "thanks"}))
    line_id = made["line_items"][0]["id"]
    refund = _ok(c.post(f"/orders/{made['id']}/refunds", json={
        "reason": "damaged", "api_refund": False,
        "line_items": [{"id": line_id, "quantity": 1, "refund_total": "5.00"}]}), 201)  # fmt: skip
    _ok(c.get(f"/orders/{made['id']}/refunds"))
    _ok(c.get(f"/orders/{made['id']}/refunds/{refund['id']}"))
    _ok(c.get(f"/orders/{made['id']}"))
    other = _ok(c.post("/orders", json={"billing": billing}), 201)
    _ok(c.delete(f"/orders/{other['id']}", params={"force": "true"}))


def _webhook_scenario(c: httpx.Client) -> None:
    made = _ok(c.post("/webhooks", json={"name": "Spec", "topic": "order.updated",
                                         "delivery_url": "http://127.0.0.1:9/spec",
                                         "status": "paused"}), 201)  # fmt: skip
    _ok(c.get("/webhooks"))
    _ok(c.get(f"/webhooks/{made['id']}"))
    _ok(c.put(f"/webhooks/{made['id']}", json={"name": "Spec 2"}))
    c.get("/webhooks/99999999")  # 404
    _ok(c.delete(f"/webhooks/{made['id']}", params={"force": "true"}))


EXPECTED_ROUTES = {
    f"{method} {PREFIX}{path}"
    for method, path in [
        ("GET", "/products"), ("POST", "/products"), ("GET", "/products/{id}"),
        ("PUT", "/products/{id}"), ("PATCH", "/products/{id}"), ("POST", "/products/{id}"),
        ("DELETE", "/products/{id}"), ("POST", "/products/batch"), ("PUT", "/products/batch"),
        ("PATCH", "/products/batch"),
        ("GET", "/products/{product_id}/variations"), ("POST", "/products/{product_id}/variations"),
        ("GET", "/products/{product_id}/variations/{id}"),
        ("PUT", "/products/{product_id}/variations/{id}"),
        ("PATCH", "/products/{product_id}/variations/{id}"),
        ("POST", "/products/{product_id}/variations/{id}"),
        ("DELETE", "/products/{product_id}/variations/{id}"),
        ("POST", "/products/{product_id}/variations/batch"),
        ("PUT", "/products/{product_id}/variations/batch"),
        ("PATCH", "/products/{product_id}/variations/batch"),
        ("GET", "/orders"), ("POST", "/orders"), ("GET", "/orders/{id}"), ("PUT", "/orders/{id}"),
        ("PATCH", "/orders/{id}"), ("DELETE", "/orders/{id}"),
        ("GET", "/orders/{order_id}/refunds"), ("POST", "/orders/{order_id}/refunds"),
        ("GET", "/orders/{order_id}/refunds/{id}"),
        ("GET", "/webhooks"), ("POST", "/webhooks"), ("GET", "/webhooks/{id}"),
        ("PUT", "/webhooks/{id}"), ("DELETE", "/webhooks/{id}"),
        ("GET", "/taxes"), ("POST", "/taxes"), ("GET", "/taxes/{id}"),
    ]
}  # fmt: skip


def test_the_scenario_reaches_every_route(recorded: tuple[SpecRecorder, set[str]]) -> None:
    _, routes = recorded
    assert EXPECTED_ROUTES - routes == set()


def test_exchanges_conform_to_the_woocommerce_spec(recorded: tuple[SpecRecorder, set[str]]) -> None:
    recorder, _ = recorded
    assert len(recorder.exchanges) > 40
    assert recorder.problems(woocommerce_openapi(), HOST) == []


def test_batch_request_bodies_conform_to_the_wtx_labs_spec(
    recorded: tuple[SpecRecorder, set[str]],
) -> None:
    recorder, _ = recorded
    batches = SpecRecorder(
        [
            (q, r)
            for q, r in recorder.exchanges
            if q.method == "POST" and q.url.path.endswith("/batch")
        ]
    )
    assert len(batches.exchanges) == 3
    # The wtx-labs file describes only POST batches, and has no nullable fields for the
    # answers (see the module docstring), so only the request bodies are checked against it.
    assert batches.problems(openapi(WTX_SPEC), WTX_HOST, responses=False) == []


def test_the_corrected_spec_still_catches_a_wrong_answer(
    recorded: tuple[SpecRecorder, set[str]],
) -> None:
    """The corrections are narrow: a product answer with a wrong type still fails."""
    recorder, _ = recorded
    request, response = next(
        (q, r)
        for q, r in recorder.exchanges
        if q.method == "GET" and q.url.path.endswith("/products") and r.status_code == 200
    )
    items = response.json()
    items[0]["manage_stock"] = "yes"
    broken = httpx.Response(200, json=items, request=request)
    problems = SpecRecorder([(request, broken)]).problems(woocommerce_openapi(), HOST)
    assert len(problems) == 1 and "'yes' is not of type 'boolean'" in problems[0]
