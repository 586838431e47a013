"""The Square emulator's orders, EXTERNAL payments and refunds (phase 2), plus a tour of every
emulated operation checked against Square's spec.

Same conventions as test_square_emulator.py, whose fixtures and helpers are reused: `client`
exchanges are validated against the spec when each test ends, `raw` is for off-spec requests.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.conformance import SpecRecorder
from tests.emulators.test_square_emulator import (
    LOCATION,
    RFC3339_MS,
    SPEC,
    Emulator,
    adjust,
    batch,
    client,
    errors,
    make_client,
    raw,
    spec_problems,
    square,
    the_error,
)
from tests.specs import openapi

__all__ = ["client", "raw", "square"]  # fixtures reused from the phase-1 module

_ids = itertools.count(1)


def line(square: Emulator, n: int, quantity: str = "1") -> dict[str, Any]:
    return {"catalog_object_id": square.vid(n), "quantity": quantity}


def new_order(
    client: httpx.Client, *lines: dict[str, Any], key: str | None = None, **fields: Any
) -> dict[str, Any]:
    body = {
        "idempotency_key": key or f"order-{next(_ids)}",
        "order": {"location_id": LOCATION, "line_items": list(lines), **fields},
    }
    response = client.post("/v2/orders", json=body)
    assert response.status_code == 200, response.text
    return dict(response.json()["order"])


def pay(
    client: httpx.Client, order: dict[str, Any] | None, amount: int | None = None, **fields: Any
) -> httpx.Response:
    """CreatePayment with an EXTERNAL source; a field given as None is left out of the body."""
    if amount is None:
        assert order is not None
        amount = int(order["total_money"]["amount"])
    body: dict[str, Any] = {
        "idempotency_key": f"pay-{next(_ids)}",
        "source_id": "EXTERNAL",
        "external_details": {"type": "OTHER", "source": "Webshop", "source_id": "WEB-1"},
        "amount_money": {"amount": amount, "currency": "DKK"},
    }
    if order is not None:
        body["order_id"] = order["id"]
    body.update(fields)
    return client.post("/v2/payments", json={k: v for k, v in body.items() if v is not None})


def refund(client: httpx.Client, payment_id: str, amount: int, **fields: Any) -> httpx.Response:
    body = {
        "idempotency_key": f"refund-{next(_ids)}",
        "payment_id": payment_id,
        "amount_money": {"amount": amount, "currency": "DKK"},
        **fields,
    }
    return client.post("/v2/refunds", json=body)


def price(square: Emulator, n: int) -> int:
    return next(
        int(v.price * 100) for p in square.products for v in p.variants if v.sku == f"DEMO-{n:06d}"
    )


# --- CreateOrder / RetrieveOrder -----------------------------------------------------------


def test_create_order_prices_catalog_lines(square: Emulator, client: httpx.Client) -> None:
    order = new_order(
        client,
        line(square, 300, "2"),
        line(square, 301),
        {
            "name": "Gift wrap",
            "quantity": "1",
            "base_price_money": {"amount": 2500, "currency": "DKK"},
        },
        reference_id="WEB-1001",
        source={"name": "Webshop"},
        metadata={"web_order": "1001"},
    )
    assert order["state"] == "OPEN"
    assert order["version"] == 1
    assert order["location_id"] == LOCATION
    assert order["reference_id"] == "WEB-1001"
    assert order["source"] == {"name": "Webshop"}
    assert order["metadata"] == {"web_order": "1001"}
    assert RFC3339_MS.match(order["created_at"])
    first, second, wrap = order["line_items"]
    assert first["catalog_object_id"] == square.vid(300)
    assert first["quantity"] == "2"
    assert first["base_price_money"]["amount"] == price(square, 300)
    assert first["total_money"]["amount"] == 2 * price(square, 300)
    assert first["variation_name"] and first["name"]
    assert second["total_money"]["amount"] == price(square, 301)
    assert wrap["name"] == "Gift wrap" and "catalog_object_id" not in wrap
    total = 2 * price(square, 300) + price(square, 301) + 2500
    assert order["total_money"] == {"amount": total, "currency": "DKK"}
    assert order["net_amount_due_money"]["amount"] == total
    assert order["total_tax_money"]["amount"] == 0
    assert client.get(f"/v2/orders/{order['id']}").json()["order"] == order


def test_create_order_idempotency(square: Emulator, client: httpx.Client) -> None:
    first = new_order(client, line(square, 302), key="web-order-7")
    again = new_order(client, line(square, 302), key="web-order-7")
    assert again == first
    reused = client.post(
        "/v2/orders",
        json={
            "idempotency_key": "web-order-7",
            "order": {"location_id": LOCATION, "line_items": [line(square, 303)]},
        },
    )
    assert the_error(reused, 400)["code"] == "IDEMPOTENCY_KEY_REUSED"
    without_key = {"order": {"location_id": LOCATION, "line_items": [line(square, 302)]}}
    one = client.post("/v2/orders", json=without_key).json()["order"]
    two = client.post("/v2/orders", json=without_key).json()["order"]
    assert one["id"] != two["id"]  # no key, no idempotency


@pytest.mark.parametrize(
    ("order", "status", "code", "field"),
    [
        (
            {
                "location_id": LOCATION,
                "line_items": [{"catalog_object_id": "GONE", "quantity": "1"}],
            },
            404,
            "NOT_FOUND",
            "order.line_items[0].catalog_object_id",
        ),
        ({"location_id": "ELSEWHERE"}, 404, "NOT_FOUND", "order.location_id"),
        (
            {"location_id": LOCATION, "line_items": [{"name": "Custom", "quantity": "1"}]},
            400,
            "MISSING_REQUIRED_PARAMETER",
            "order.line_items[0].base_price_money",
        ),
        (
            {
                "location_id": LOCATION,
                "line_items": [
                    {
                        "name": "Custom",
                        "quantity": "1",
                        "base_price_money": {"amount": 5, "currency": "EUR"},
                    }
                ],
            },
            400,
            "INVALID_VALUE",
            "order.line_items[0].base_price_money.currency",
        ),
        ({"location_id": LOCATION, "state": "COMPLETED"}, 400, "INVALID_VALUE", "order.state"),
        (
            {"location_id": LOCATION, "fulfillments": [{"type": "SHIPMENT"}]},
            400,
            "UNKNOWN_BODY_PARAMETER",
            "order.fulfillments",
        ),
        # metadata values "have a maximum length of 255 characters"
        (
            {"location_id": LOCATION, "metadata": {"ref": "x" * 256}},
            400,
            "VALUE_TOO_LONG",
            "order.metadata.ref",
        ),
        # metadata keys: 60 characters or less, in [a-zA-Z0-9_-]
        (
            {"location_id": LOCATION, "metadata": {"k" * 61: "v"}},
            400,
            "VALUE_TOO_LONG",
            f"order.metadata.{'k' * 61}.[key]",
        ),
        (
            {"location_id": LOCATION, "metadata": {"web order": "v"}},
            400,
            "INVALID_VALUE",
            "order.metadata.web order.[key]",
        ),
        # "up to 10 entries per metadata field"
        (
            {"location_id": LOCATION, "metadata": {f"k{i}": "v" for i in range(11)}},
            400,
            "ARRAY_LENGTH_TOO_LONG",
            "order.metadata",
        ),
    ],
)
def test_create_order_errors(
    client: httpx.Client, order: dict[str, Any], status: int, code: str, field: str
) -> None:
    error = the_error(client.post("/v2/orders", json={"order": order}), status)
    assert (error["code"], error["field"]) == (code, field)


def test_create_order_rejects_zero_quantity_and_missing_order(
    square: Emulator, client: httpx.Client
) -> None:
    zero = client.post(
        "/v2/orders",
        json={"order": {"location_id": LOCATION, "line_items": [line(square, 304, "0")]}},
    )
    assert the_error(zero, 400)["field"] == "order.line_items[0].quantity"
    missing = the_error(client.post("/v2/orders", json={"idempotency_key": "x"}), 400)
    assert (missing["code"], missing["field"]) == ("MISSING_REQUIRED_PARAMETER", "order")
    assert the_error(client.get("/v2/orders/NO-SUCH-ORDER"), 404)["code"] == "NOT_FOUND"


def test_order_reference_over_40_characters_is_value_too_long(raw: httpx.Client) -> None:
    """Order.reference_id maxLength 40 (the spec check of `client` would refuse to send it):
    a Shopify order gid in words is 47 characters."""
    order = {
        "location_id": LOCATION,
        "reference_id": "shopify order gid://shopify/Order/5409125040004",
    }
    error = the_error(raw.post("/v2/orders", json={"idempotency_key": "k", "order": order}), 400)
    assert error == {
        "category": "INVALID_REQUEST_ERROR",
        "code": "VALUE_TOO_LONG",
        "detail": error["detail"],
        "field": "order.reference_id",
    }


def test_order_takes_a_reference_of_40_characters_and_full_metadata(
    square: Emulator, client: httpx.Client
) -> None:
    reference = "R" * 40
    kept = {"possync_reference": "x" * 255, **{f"k{i}": "v" for i in range(9)}}
    order = new_order(client, line(square, 305), reference_id=reference, metadata=kept)
    assert (order["reference_id"], order["metadata"]) == (reference, kept)


# --- CreatePayment ---------------------------------------------------------------------------


def test_payment_reference_and_external_source_id_keep_their_spec_limits(
    square: Emulator, client: httpx.Client, raw: httpx.Client
) -> None:
    """CreatePaymentRequest.reference_id maxLength 40, ExternalPaymentDetails.source_id 255:
    longer is refused with Square's VALUE_TOO_LONG naming the field, the limit is taken."""
    order = new_order(client, line(square, 306))
    long_reference = pay(raw, order, reference_id="R" * 41)
    too_long = the_error(long_reference, 400)
    assert (too_long["code"], too_long["field"]) == ("VALUE_TOO_LONG", "reference_id")
    external = {"type": "OTHER", "source": "Webshop", "source_id": "s" * 256}
    long_source = the_error(pay(raw, order, external_details=external), 400)
    assert (long_source["code"], long_source["field"]) == (
        "VALUE_TOO_LONG",
        "external_details.source_id",
    )
    external["source_id"] = "s" * 255
    paid = pay(client, order, reference_id="R" * 40, external_details=external)
    assert paid.status_code == 200, paid.text
    payment = paid.json()["payment"]
    assert payment["reference_id"] == "R" * 40
    assert payment["external_details"]["source_id"] == "s" * 255


def test_external_payment_completes_the_order_and_draws_stock(
    square: Emulator, client: httpx.Client
) -> None:
    a, b = square.vid(310), square.vid(311)
    stock_a, stock_b = square.state.count(a), square.state.count(b)
    mark = client.post("/v2/inventory/counts/batch-retrieve", json={"limit": 1}).json()["counts"][
        0
    ]["calculated_at"]
    order = new_order(client, line(square, 310, "2"), line(square, 311), reference_id="WEB-2")
    response = pay(client, order, reference_id="WEB-2", note="paid online")
    assert response.status_code == 200, response.text
    payment = response.json()["payment"]
    assert payment["status"] == "COMPLETED"
    assert payment["source_type"] == "EXTERNAL"
    assert payment["external_details"] == {
        "type": "OTHER",
        "source": "Webshop",
        "source_id": "WEB-1",
    }
    assert payment["order_id"] == order["id"]
    assert payment["location_id"] == LOCATION
    assert payment["total_money"] == order["total_money"]

    done = client.get(f"/v2/orders/{order['id']}").json()["order"]
    assert done["state"] == "COMPLETED"
    assert RFC3339_MS.match(done["closed_at"])
    assert done["version"] == 2
    assert done["net_amount_due_money"]["amount"] == 0
    (tender,) = done["tenders"]
    assert tender["payment_id"] == payment["id"]
    assert tender["amount_money"] == order["total_money"]

    assert square.state.count(a) == stock_a - 2
    assert square.state.count(b) == stock_b - 1
    changed = client.post(
        "/v2/inventory/counts/batch-retrieve", json={"updated_after": mark}
    ).json()["counts"]
    assert {c["catalog_object_id"] for c in changed} == {a, b}  # a sync poll sees the sale


def test_payment_idempotency_takes_stock_once(square: Emulator, client: httpx.Client) -> None:
    vid = square.vid(312)
    before = square.state.count(vid)
    order = new_order(client, line(square, 312, "3"))
    body = {
        "idempotency_key": "pay-web-3",
        "source_id": "EXTERNAL",
        "external_details": {"type": "BANK_TRANSFER", "source": "Webshop"},
        "order_id": order["id"],
        "amount_money": order["total_money"],
    }
    first = client.post("/v2/payments", json=body)
    second = client.post("/v2/payments", json=body)
    assert first.status_code == second.status_code == 200
    assert second.json() == first.json()
    assert square.state.count(vid) == before - 3
    changed = client.post("/v2/payments", json={**body, "note": "another"})
    assert the_error(changed, 400)["code"] == "IDEMPOTENCY_KEY_REUSED"


def test_payment_must_match_the_amount_due(square: Emulator, client: httpx.Client) -> None:
    vid = square.vid(313)
    before = square.state.count(vid)
    order = new_order(client, line(square, 313))
    short = pay(client, order, amount=order["total_money"]["amount"] - 1)
    error = the_error(short, 400)
    assert (error["category"], error["code"]) == ("PAYMENT_METHOD_ERROR", "PAYMENT_AMOUNT_MISMATCH")
    assert client.get(f"/v2/orders/{order['id']}").json()["order"]["state"] == "OPEN"
    assert square.state.count(vid) == before
    assert pay(client, order).status_code == 200
    twice = the_error(pay(client, order), 400)
    assert (twice["code"], twice["field"]) == ("INVALID_VALUE", "order_id")
    assert square.state.count(vid) == before - 1


@pytest.mark.parametrize(
    ("fields", "status", "code", "field"),
    [
        ({"order_id": "NO-SUCH-ORDER"}, 404, "NOT_FOUND", "order_id"),
        ({"source_id": "cnon:card-nonce-declined"}, 400, "BAD_REQUEST", "source_id"),
        ({"external_details": None}, 400, "MISSING_REQUIRED_PARAMETER", "external_details"),
        (
            {"external_details": {"type": "BARTER", "source": "Webshop"}},
            400,
            "INVALID_VALUE",
            "external_details.type",
        ),
        (
            {"amount_money": {"amount": 100, "currency": "EUR"}},
            400,
            "INVALID_VALUE",
            "amount_money.currency",
        ),
        (
            {"amount_money": {"amount": 0, "currency": "DKK"}},
            400,
            "VALUE_TOO_LOW",
            "amount_money.amount",
        ),
        ({"autocomplete": False}, 400, "BAD_REQUEST", "autocomplete"),
        ({"location_id": "ELSEWHERE"}, 404, "NOT_FOUND", "location_id"),
        (
            {"tip_money": {"amount": 5, "currency": "DKK"}},
            400,
            "UNKNOWN_BODY_PARAMETER",
            "tip_money",
        ),
    ],
)
def test_payment_errors(
    client: httpx.Client, fields: dict[str, Any], status: int, code: str, field: str
) -> None:
    error = the_error(pay(client, None, amount=100, **fields), status)
    assert (error["code"], error["field"]) == (code, field)


def test_a_payment_without_an_order_is_recorded(client: httpx.Client) -> None:
    payment = pay(client, None, amount=4200).json()["payment"]
    assert payment["status"] == "COMPLETED"
    assert "order_id" not in payment
    assert client.get(f"/v2/payments/{payment['id']}").json()["payment"] == payment
    assert the_error(client.get("/v2/payments/NO-SUCH-PAYMENT"), 404)["code"] == "NOT_FOUND"


# --- RefundPayment / GetPaymentRefund -----------------------------------------------------------


def test_refunds_up_to_the_amount_paid_and_no_stock_back(
    square: Emulator, client: httpx.Client
) -> None:
    vid = square.vid(320)
    order = new_order(client, line(square, 320, "2"))
    payment = pay(client, order).json()["payment"]
    after_sale = square.state.count(vid)
    total = payment["total_money"]["amount"]

    partial = refund(client, payment["id"], 1000, reason="Damaged")
    assert partial.status_code == 200, partial.text
    first = partial.json()["refund"]
    assert first["status"] == "COMPLETED"
    assert first["payment_id"] == payment["id"]
    assert first["order_id"] != order["id"]  # Square makes a return order for the refund
    assert first["destination_type"] == "EXTERNAL"
    assert first["amount_money"] == {"amount": 1000, "currency": "DKK"}
    assert first["reason"] == "Damaged"
    assert client.get(f"/v2/refunds/{first['id']}").json()["refund"] == first

    too_much = the_error(refund(client, payment["id"], total - 999), 400)
    assert (too_much["category"], too_much["code"]) == ("REFUND_ERROR", "REFUND_AMOUNT_INVALID")
    rest = refund(client, payment["id"], total - 1000).json()["refund"]

    paid = client.get(f"/v2/payments/{payment['id']}").json()["payment"]
    assert paid["refund_ids"] == [first["id"], rest["id"]]
    assert paid["refunded_money"] == {"amount": total, "currency": "DKK"}
    sale = client.get(f"/v2/orders/{order['id']}").json()["order"]
    assert "refunds" not in sale and sale["state"] == "COMPLETED"
    returned = client.get(f"/v2/orders/{first['order_id']}").json()["order"]
    assert [r["id"] for r in returned["refunds"]] == [first["id"]]
    assert returned["refunds"][0]["tender_id"] == payment["id"]
    (back,) = returned["returns"]
    assert back["source_order_id"] == order["id"]
    assert [x["item_type"] for x in back["return_line_items"]] == ["CUSTOM_AMOUNT"]
    assert returned["return_amounts"]["total_money"] == first["amount_money"]
    assert square.state.count(vid) == after_sale  # a payment refund returns no stock


def test_refund_idempotency_and_errors(square: Emulator, client: httpx.Client) -> None:
    payment = pay(client, None, amount=5000).json()["payment"]
    body = {
        "idempotency_key": "refund-once",
        "payment_id": payment["id"],
        "amount_money": {"amount": 2000, "currency": "DKK"},
    }
    first = client.post("/v2/refunds", json=body)
    again = client.post("/v2/refunds", json=body)
    assert again.json() == first.json()
    paid = client.get(f"/v2/payments/{payment['id']}").json()["payment"]
    assert paid["refunded_money"]["amount"] == 2000  # refunded once
    other = client.post("/v2/refunds", json={**body, "reason": "changed mind"})
    assert the_error(other, 400)["code"] == "IDEMPOTENCY_KEY_REUSED"
    unknown = the_error(refund(client, "NO-SUCH-PAYMENT", 100), 404)
    assert (unknown["code"], unknown["field"]) == ("NOT_FOUND", "payment_id")
    no_payment = client.post(
        "/v2/refunds",
        json={"idempotency_key": "r-x", "amount_money": {"amount": 1, "currency": "DKK"}},
    )
    assert the_error(no_payment, 400)["field"] == "payment_id"
    unlinked = refund(client, payment["id"], 100, unlinked=True)
    assert the_error(unlinked, 400)["code"] == "BAD_REQUEST"
    assert the_error(client.get("/v2/refunds/NO-SUCH-REFUND"), 404)["code"] == "NOT_FOUND"


def test_refund_request_reports_every_missing_required_field(raw: httpx.Client) -> None:
    response = raw.post("/v2/refunds", json={"payment_id": "X"})
    assert response.status_code == 400
    assert {(e["code"], e["field"]) for e in errors(response)} == {
        ("MISSING_REQUIRED_PARAMETER", "idempotency_key"),
        ("MISSING_REQUIRED_PARAMETER", "amount_money"),
    }


# --- SearchOrders -------------------------------------------------------------------------


def search_orders(client: httpx.Client, body: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        response = client.post(
            "/v2/orders/search", json={**body, **({"cursor": cursor} if cursor else {})}
        )
        assert response.status_code == 200, response.text
        page = response.json()
        found.extend(page.get("orders", page.get("order_entries", [])))
        cursor = page.get("cursor")
        if not cursor:
            return found


def test_search_orders_filters_sorts_and_pages(square: Emulator, client: httpx.Client) -> None:
    source = {"name": f"Shop-{next(_ids)}"}
    made = [new_order(client, line(square, 330 + i), source=source) for i in range(5)]
    for order in made[:2]:
        assert pay(client, order).status_code == 200
    mine = {"source_filter": {"source_names": [source["name"]]}}
    newest_first = search_orders(
        client, {"location_ids": [LOCATION], "query": {"filter": mine}, "limit": 2}
    )
    assert [o["id"] for o in newest_first] == [o["id"] for o in reversed(made)]

    completed = search_orders(
        client,
        {
            "location_ids": [LOCATION],
            "query": {"filter": {**mine, "state_filter": {"states": ["COMPLETED"]}}},
        },
    )
    assert {o["id"] for o in completed} == {o["id"] for o in made[:2]}
    assert all(o["state"] == "COMPLETED" for o in completed)

    window = {
        "start_at": made[1]["created_at"],
        "end_at": made[3]["created_at"],
    }
    ranged = search_orders(
        client,
        {
            "location_ids": [LOCATION],
            "query": {
                "filter": {**mine, "date_time_filter": {"created_at": window}},
                "sort": {"sort_field": "CREATED_AT", "sort_order": "ASC"},
            },
        },
    )
    assert [o["id"] for o in ranged] == [o["id"] for o in made[1:4]]  # inclusive, oldest first

    closed = search_orders(
        client,
        {
            "location_ids": [LOCATION],
            "query": {
                "filter": {**mine, "state_filter": {"states": ["COMPLETED", "CANCELED"]}},
                "sort": {"sort_field": "CLOSED_AT"},
            },
            "return_entries": True,
        },
    )
    assert {e["order_id"] for e in closed} == {o["id"] for o in made[:2]}
    assert all(set(e) == {"order_id", "version", "location_id"} for e in closed)
    assert search_orders(client, {"location_ids": ["ELSEWHERE"]}) == []


def test_search_orders_errors(client: httpx.Client) -> None:
    mismatch = client.post(
        "/v2/orders/search",
        json={
            "location_ids": [LOCATION],
            "query": {
                "filter": {"date_time_filter": {"closed_at": {"start_at": "2020-01-01T00:00:00Z"}}}
            },
        },
    )
    assert the_error(mismatch, 400)["field"] == "query.sort.sort_field"
    no_locations = the_error(client.post("/v2/orders/search", json={}), 400)
    assert (no_locations["code"], no_locations["field"]) == (
        "MISSING_REQUIRED_PARAMETER",
        "location_ids",
    )
    eleven = client.post("/v2/orders/search", json={"location_ids": [f"L{i}" for i in range(11)]})
    assert the_error(eleven, 400)["code"] == "ARRAY_LENGTH_TOO_LONG"
    too_many = client.post("/v2/orders/search", json={"location_ids": [LOCATION], "limit": 1001})
    assert the_error(too_many, 400)["code"] == "VALUE_TOO_HIGH"
    bad_cursor = client.post(
        "/v2/orders/search", json={"location_ids": [LOCATION], "cursor": "nope"}
    )
    assert the_error(bad_cursor, 400)["code"] == "INVALID_CURSOR"
    bad_time = client.post(
        "/v2/orders/search",
        json={
            "location_ids": [LOCATION],
            "query": {
                "filter": {"date_time_filter": {"created_at": {"start_at": "last week"}}},
                "sort": {"sort_field": "CREATED_AT"},
            },
        },
    )
    assert the_error(bad_time, 400)["code"] == "INVALID_TIME"


# --- every operation against the spec ----------------------------------------------------------


def test_every_emulated_operation_conforms_to_squares_spec(square: Emulator) -> None:
    """One pass over all 15 operations, happy paths and error paths, validated by openapi-core
    against Square's spec (skipped when the spec file is absent)."""
    api = openapi(SPEC, strict=False)
    assert api is not None
    recorder = SpecRecorder()
    vid = square.vid(340)
    now = datetime.now(UTC).isoformat(timespec="milliseconds")
    with make_client(square.url, recorder) as http:
        http.get("/v2/locations")
        cursor = http.get("/v2/catalog/list", params={"types": "ITEM,ITEM_VARIATION"}).json()[
            "cursor"
        ]
        http.get("/v2/catalog/list", params={"cursor": cursor, "types": "ITEM,ITEM_VARIATION"})
        http.get("/v2/catalog/list", params={"types": "NOPE"})
        http.post(
            "/v2/catalog/batch-retrieve",
            json={"object_ids": [vid], "include_related_objects": True},
        )
        http.post(
            "/v2/catalog/search",
            json={
                "object_types": ["ITEM_VARIATION"],
                "query": {
                    "prefix_query": {"attribute_name": "sku", "attribute_prefix": "DEMO-0003"}
                },
                "limit": 10,
                "include_related_objects": True,
            },
        )
        http.get(f"/v2/catalog/object/{vid}", params={"include_related_objects": "true"})
        http.get("/v2/catalog/object/NOPE")
        http.post(
            "/v2/inventory/counts/batch-retrieve",
            json={"catalog_object_ids": [vid], "states": ["IN_STOCK"]},
        )
        http.post("/v2/inventory/counts/batch-retrieve", json={"updated_after": now, "limit": 1000})
        http.post(
            "/v2/inventory/changes/batch-create", json=batch(adjust("NONE", "IN_STOCK", vid, "2"))
        )
        too_many = batch(*(adjust("NONE", "IN_STOCK", vid, "1") for _ in range(101)))
        http.post("/v2/inventory/changes/batch-create", json=too_many)
        http.get(f"/v2/inventory/{vid}", params={"location_ids": LOCATION})
        http.get("/v2/inventory/NOPE")
        order = new_order(http, line(square, 340), reference_id="TOUR")
        http.post("/v2/orders", json={"order": {"location_id": "NOWHERE"}})
        http.get(f"/v2/orders/{order['id']}")
        http.post("/v2/orders/search", json={"location_ids": [LOCATION], "limit": 1})
        payment = pay(http, order).json()["payment"]
        pay(http, order)  # the order is paid already: an error
        http.get(f"/v2/payments/{payment['id']}")
        done = refund(http, payment["id"], 100, reason="tour").json()["refund"]
        refund(http, payment["id"], 10**9)
        http.get(f"/v2/refunds/{done['id']}")
    operations = {
        (request.method, _template(request.url.path)) for request, _ in recorder.exchanges
    }
    assert operations == {
        ("GET", "/v2/locations"),
        ("GET", "/v2/catalog/list"),
        ("POST", "/v2/catalog/batch-retrieve"),
        ("POST", "/v2/catalog/search"),
        ("GET", "/v2/catalog/object/{object_id}"),
        ("POST", "/v2/inventory/counts/batch-retrieve"),
        ("POST", "/v2/inventory/changes/batch-create"),
        ("GET", "/v2/inventory/{catalog_object_id}"),
        ("POST", "/v2/orders"),
        ("GET", "/v2/orders/{order_id}"),
        ("POST", "/v2/orders/search"),
        ("POST", "/v2/payments"),
        ("GET", "/v2/payments/{payment_id}"),
        ("POST", "/v2/refunds"),
        ("GET", "/v2/refunds/{refund_id}"),
    }
    statuses = {response.status_code for _, response in recorder.exchanges}
    assert statuses == {200, 400, 404}
    assert spec_problems(recorder) == []


def _template(path: str) -> str:
    for prefix, name in (
        ("/v2/catalog/object/", "object_id"),
        ("/v2/orders/", "order_id"),
        ("/v2/payments/", "payment_id"),
        ("/v2/refunds/", "refund_id"),
    ):
        if path.startswith(prefix) and path != "/v2/orders/search":
            return prefix + "{" + name + "}"
    if path.startswith("/v2/inventory/") and path.count("/") == 3:
        return "/v2/inventory/{catalog_object_id}"
    return path
